"""Fixtures for the format tests: copies of the shared files and files made with tools."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adapters.formats.tools import run
from tests.support import shared_file

BAM_NAME = "htsnexus_test_NA12878.bam"
CRAM_NAME = "htsnexus_test_NA12878.cram"


@pytest.fixture(scope="session")
def shared_bam() -> Path:
    """The shared BAM of NA12878 reads (read-only)."""
    return shared_file(BAM_NAME)


@pytest.fixture(scope="session")
def shared_cram() -> Path:
    """The shared CRAM 3.0 of the same reads (read-only)."""
    return shared_file(CRAM_NAME)


@pytest.fixture(scope="session")
def unmapped_sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SAM file of unmapped reads, which tools can turn into CRAM without a reference."""
    lines = ["@HD\tVN:1.6\tSO:unsorted", "@SQ\tSN:chr1\tLN:1000", "@SQ\tSN:chrX\tLN:2500"]
    lines += [
        f"read{number}\t4\t*\t0\t0\t*\t*\t0\t0\tACGTACGTAA\tIIIIIIIIII" for number in range(50)
    ]
    path = tmp_path_factory.mktemp("sam") / "unmapped.sam"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def many_contigs_sam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SAM file with 8000 random @SQ names, so its BAM header takes over 64 KiB compressed."""
    rng = random.Random(3)
    names = [f"contig_{number}_{rng.randbytes(16).hex()}" for number in range(8000)]
    lines = ["@HD\tVN:1.6\tSO:coordinate"]
    lines += [f"@SQ\tSN:{name}\tLN:{rng.randint(1000, 10**8)}" for name in names]
    lines += [
        f"read{number}\t0\t{names[2]}\t{number + 1}\t60\t4M\t*\t0\t0\tACGT\tIIII"
        for number in range(20)
    ]
    path = tmp_path_factory.mktemp("sam") / "many.sam"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def bam_from_sam(tmp_path: Path) -> Callable[..., Path]:
    """Return a function that converts a SAM file into a BAM in a temporary directory."""

    def convert(sam: Path, *options: str) -> Path:
        bam = tmp_path / (sam.stem + ".bam")
        run("samtools", "view", "-b", *options, "-o", str(bam), str(sam))
        return bam

    return convert


@pytest.fixture
def private_copy(tmp_path: Path) -> Callable[[Path], Path]:
    """Return a function that copies a file into a temporary directory."""

    def copy(path: Path) -> Path:
        target = tmp_path / path.name
        shutil.copyfile(path, target)
        return target

    return copy
