"""Fixtures for the index reader tests: shared files and variants made with htslib tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.adapters.indexes.tools import VariantFiles, run, write_variants
from tests.adapters.indexes.walkers import BgzfFile
from tests.support import shared_file

BAM_NAME = "htsnexus_test_NA12878.bam"


@pytest.fixture(scope="session")
def bam_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the shared BAM and BAI, next to which tools may write indexes."""
    path = tmp_path_factory.mktemp("bam") / BAM_NAME
    shutil.copyfile(shared_file(BAM_NAME), path)
    shutil.copyfile(shared_file(BAM_NAME + ".bai"), f"{path}.bai")
    return path


@pytest.fixture(scope="session")
def bam_file(bam_copy: Path) -> BgzfFile:
    """The shared BAM, decompressed once for record walking."""
    return BgzfFile(bam_copy)


@pytest.fixture(scope="session")
def bam_csi(bam_copy: Path) -> bytes:
    """A CSI index of the BAM made by `samtools index -c` (min_shift 14)."""
    out = bam_copy.with_name("default.csi")
    run("samtools", "index", "-c", str(bam_copy), str(out))
    return out.read_bytes()


@pytest.fixture(scope="session")
def bam_csi_shift12(bam_copy: Path) -> bytes:
    """A CSI index of the BAM with min_shift 12, which needs a deeper tree than BAI."""
    out = bam_copy.with_name("shift12.csi")
    run("samtools", "index", "-c", "-m", "12", str(bam_copy), str(out))
    return out.read_bytes()


@pytest.fixture(scope="session")
def small_variants(tmp_path_factory: pytest.TempPathFactory) -> VariantFiles:
    """Synthetic variants on contigs below 2^29, with a TBI, a tabix CSI and a BCF CSI."""
    contigs = {"chr1": 2_000_000, "chr2": 500_000, "chr3": 100_000}
    files = write_variants(tmp_path_factory.mktemp("small"), contigs, seed=7)
    run("tabix", "-p", "vcf", str(files.vcf_gz))
    run("tabix", "-C", "-p", "vcf", str(files.vcf_gz))
    return files


@pytest.fixture(scope="session")
def big_variants(tmp_path_factory: pytest.TempPathFactory) -> VariantFiles:
    """Synthetic variants on a 1.5 Gbp contig, which only CSI can index (min_shift 12)."""
    files = write_variants(tmp_path_factory.mktemp("big"), {"big": 1_500_000_000}, seed=11)
    run("tabix", "-C", "-m", "12", "-p", "vcf", str(files.vcf_gz))
    return files
