"""Tests for the sample data generator, checked with samtools, tabix and bcftools."""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from adapters.formats.bam import read_bam_header
from adapters.formats.bgzf import BGZF_EOF, MAX_PAYLOAD, iter_blocks
from adapters.formats.binning_index import reg2bin
from adapters.formats.synthetic import write_sample_bam, write_sample_vcf
from adapters.formats.vcf import read_vcf_header
from adapters.indexes.bai import parse_bai
from adapters.indexes.tbi import parse_tbi
from tests.adapters.formats.tools import MemoryReader, file_reader, run
from tests.support import require_tool

REFERENCES = [("chr1", 400_000), ("chr2", 1_200_000), ("chrS", 5_000)]
READS = 2500
UNMAPPED = 300
RECORDS = 1500
SAMPLES = ["NA1", "NA2", "NA3"]


def _regions(seed: int) -> list[str]:
    """Return region strings: whole references, 16 kb window edges and random spans."""
    rng = random.Random(seed)
    regions = [name for name, _ in REFERENCES]
    for name, length in REFERENCES:
        regions += [f"{name}:16384-16385", f"{name}:1-1", f"{name}:{length}-{length}"]
        for _ in range(12):
            start = rng.randrange(1, length)
            regions.append(f"{name}:{start}-{start + rng.choice((1, 150, 20_000, 300_000))}")
    return regions


@pytest.fixture(scope="module")
def sample_bam(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated BAM with unplaced unmapped reads at the end."""
    path = tmp_path_factory.mktemp("bam") / "sample.bam"
    write_sample_bam(path, references=REFERENCES, reads_per_reference=READS,
                     unmapped_reads=UNMAPPED, seed=11)
    return path


@pytest.fixture(scope="module")
def samtools_indexed_bam(sample_bam: Path) -> Path:
    """A copy of the generated BAM with an index made by `samtools index`."""
    copy = sample_bam.with_name("copy.bam")
    shutil.copyfile(sample_bam, copy)
    run("samtools", "index", str(copy))
    return copy


@pytest.fixture(scope="module")
def sample_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated bgzipped VCF with three samples."""
    path = tmp_path_factory.mktemp("vcf") / "sample.vcf.gz"
    write_sample_vcf(path, references=REFERENCES, records_per_reference=RECORDS,
                     samples=SAMPLES, seed=5)
    return path


@pytest.fixture(scope="module")
def tabix_indexed_vcf(sample_vcf: Path) -> Path:
    """A copy of the generated VCF with an index made by `tabix -p vcf`."""
    copy = sample_vcf.with_name("copy.vcf.gz")
    shutil.copyfile(sample_vcf, copy)
    run("tabix", "-p", "vcf", str(copy))
    return copy


def test_bam_passes_quickcheck(sample_bam: Path) -> None:
    run("samtools", "quickcheck", "-u", str(sample_bam))


def test_bam_ends_with_eof_block(sample_bam: Path) -> None:
    assert sample_bam.read_bytes().endswith(BGZF_EOF)


def test_bam_total_count(sample_bam: Path) -> None:
    total = int(run("samtools", "view", "-c", str(sample_bam)))
    assert total == len(REFERENCES) * READS + UNMAPPED


def test_bam_unmapped_count(sample_bam: Path) -> None:
    assert int(run("samtools", "view", "-c", "-f", "4", str(sample_bam))) == UNMAPPED


def test_bam_view_prints_no_warnings(sample_bam: Path) -> None:
    result = subprocess.run(
        [require_tool("samtools"), "view", "-h", "-o", "/dev/null", str(sample_bam)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert result.stderr == ""


def test_bam_header_lines(sample_bam: Path) -> None:
    header = run("samtools", "view", "-H", "--no-PG", str(sample_bam)).splitlines()
    assert header[0] == "@HD\tVN:1.6\tSO:coordinate"
    assert sum(line.startswith("@RG\t") for line in header) == 1
    assert [line for line in header if line.startswith("@SQ")] == [
        f"@SQ\tSN:{name}\tLN:{length}" for name, length in REFERENCES
    ]


def test_bam_reads_carry_tags(sample_bam: Path) -> None:
    for line in run("samtools", "view", str(sample_bam), "chr1:1-50000").splitlines():
        tags = line.split("\t")[11:]
        assert "RG:Z:sample" in tags
        assert any(tag.startswith("NM:i:") for tag in tags)


def test_bam_idxstats_match_samtools_index(sample_bam: Path, samtools_indexed_bam: Path) -> None:
    ours = run("samtools", "idxstats", str(sample_bam))
    theirs = run("samtools", "idxstats", str(samtools_indexed_bam))
    assert ours == theirs


def test_bam_idxstats_counts(sample_bam: Path) -> None:
    rows = [line.split("\t") for line in run("samtools", "idxstats", str(sample_bam)).splitlines()]
    assert [int(row[2]) for row in rows] == [READS] * len(REFERENCES) + [0]
    assert int(rows[-1][3]) == UNMAPPED


@pytest.mark.parametrize("region", _regions(1))
def test_bam_region_counts_match_samtools_index(
    sample_bam: Path, samtools_indexed_bam: Path, region: str
) -> None:
    ours = run("samtools", "view", "-c", str(sample_bam), region)
    theirs = run("samtools", "view", "-c", str(samtools_indexed_bam), region)
    assert ours == theirs


def test_bam_unplaced_reads_via_index(sample_bam: Path) -> None:
    assert int(run("samtools", "view", "-c", str(sample_bam), "*")) == UNMAPPED


def test_bai_metadata(sample_bam: Path) -> None:
    index = parse_bai(Path(f"{sample_bam}.bai").read_bytes())
    assert index.unmapped_count() == UNMAPPED
    assert index.first_begin() == read_bam_header(*_reader_and_size(sample_bam)).header_end


def _reader_and_size(path: Path) -> tuple[MemoryReader, int]:
    reader = file_reader(path)
    return reader, reader.size


def test_bam_records_never_span_blocks(sample_bam: Path) -> None:
    blocks = iter_blocks(sample_bam.read_bytes())
    assert max(len(block.payload) for block in blocks) <= MAX_PAYLOAD
    for block in blocks[1:]:
        pos = 0
        while pos < len(block.payload):
            (size,) = struct.unpack_from("<i", block.payload, pos)
            pos += 4 + size
        assert pos == len(block.payload)


def test_bam_is_deterministic(sample_bam: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.bam"
    write_sample_bam(again, references=REFERENCES, reads_per_reference=READS,
                     unmapped_reads=UNMAPPED, seed=11)
    assert again.read_bytes() == sample_bam.read_bytes()
    assert Path(f"{again}.bai").read_bytes() == Path(f"{sample_bam}.bai").read_bytes()


def test_bam_seed_changes_reads(sample_bam: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.bam"
    write_sample_bam(other, references=REFERENCES, reads_per_reference=READS,
                     unmapped_reads=UNMAPPED, seed=12)
    assert other.read_bytes() != sample_bam.read_bytes()


def test_bam_with_reference_without_reads(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bam"
    write_sample_bam(path, references=[("a", 1000), ("b", 2000)], reads_per_reference=0,
                     unmapped_reads=5, seed=1)
    run("samtools", "quickcheck", str(path))
    assert int(run("samtools", "view", "-c", str(path), "*")) == 5


@pytest.mark.parametrize(
    ("references", "reads", "read_length"),
    [
        ([("bad name", 1000)], 1, 100),
        ([("a", 1000), ("a", 1000)], 1, 100),
        ([("a", 1 << 29)], 1, 100),
        ([("a", 150)], 1, 100),
        ([("a", 1000)], -1, 100),
        ([("a", 1000)], 1, 5),
    ],
)
def test_bam_invalid_arguments_raise(
    tmp_path: Path, references: list[tuple[str, int]], reads: int, read_length: int
) -> None:
    with pytest.raises(ValueError):
        write_sample_bam(tmp_path / "x.bam", references=references, reads_per_reference=reads,
                         unmapped_reads=0, read_length=read_length)


@pytest.mark.parametrize(
    ("begin", "end", "expected"),
    [(0, 1, 4681), (16383, 16385, 585), (0, 1 << 29, 0), (131071, 131073, 73), (-1, 0, 4680)],
)
def test_reg2bin_values(begin: int, end: int, expected: int) -> None:
    assert reg2bin(begin, end) == expected


def test_vcf_is_valid_for_bcftools(sample_vcf: Path) -> None:
    count = len(run("bcftools", "view", "-H", str(sample_vcf)).splitlines())
    assert count == len(REFERENCES) * RECORDS


def test_vcf_header_lines(sample_vcf: Path) -> None:
    header = run("bcftools", "view", "-h", "--no-version", str(sample_vcf)).splitlines()
    assert header[0] == "##fileformat=VCFv4.3"
    assert header[-1].split("\t")[9:] == SAMPLES
    assert "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">" in header


def test_vcf_contigs_have_lengths(sample_vcf: Path) -> None:
    header = read_vcf_header(*_reader_and_size(sample_vcf))
    assert [(ref.name, ref.length) for ref in header.references] == REFERENCES


def test_tbi_lists_references(sample_vcf: Path) -> None:
    assert run("tabix", "-l", str(sample_vcf)).split() == [name for name, _ in REFERENCES]


def test_tbi_first_chunk_is_header_end(sample_vcf: Path) -> None:
    index = parse_tbi(Path(f"{sample_vcf}.tbi").read_bytes())
    assert index.first_begin() == read_vcf_header(*_reader_and_size(sample_vcf)).header_end


@pytest.mark.parametrize("region", _regions(2))
def test_vcf_regions_match_tabix_index(
    sample_vcf: Path, tabix_indexed_vcf: Path, region: str
) -> None:
    ours = run("tabix", str(sample_vcf), region)
    theirs = run("tabix", str(tabix_indexed_vcf), region)
    assert ours == theirs


@pytest.mark.parametrize("region", _regions(3)[::4])
def test_vcf_bcftools_regions_match(
    sample_vcf: Path, tabix_indexed_vcf: Path, region: str
) -> None:
    ours = run("bcftools", "view", "-H", "-r", region, str(sample_vcf))
    theirs = run("bcftools", "view", "-H", "-r", region, str(tabix_indexed_vcf))
    assert ours == theirs


def test_vcf_is_deterministic(sample_vcf: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.vcf.gz"
    write_sample_vcf(again, references=REFERENCES, records_per_reference=RECORDS,
                     samples=SAMPLES, seed=5)
    assert again.read_bytes() == sample_vcf.read_bytes()
    assert Path(f"{again}.tbi").read_bytes() == Path(f"{sample_vcf}.tbi").read_bytes()


def test_vcf_without_samples(tmp_path: Path) -> None:
    path = tmp_path / "sites.vcf.gz"
    write_sample_vcf(path, references=[("1", 50_000)], records_per_reference=40, samples=[])
    header_line = run("bcftools", "view", "-h", str(path)).splitlines()[-1]
    assert header_line.split("\t")[-1] == "INFO"
    assert len(run("tabix", str(path), "1").splitlines()) == 40


def test_vcf_without_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.vcf.gz"
    write_sample_vcf(path, references=[("1", 50_000)], records_per_reference=0, samples=["s"])
    assert run("bcftools", "view", "-H", str(path)) == ""
    assert run("tabix", "-l", str(path)) == ""


@pytest.mark.parametrize(
    ("references", "records", "samples"),
    [
        ([("a", 10)], 20, ["s"]),
        ([("a", 1000)], -1, ["s"]),
        ([("a", 1000)], 1, ["s", "s"]),
        ([("a", 1000)], 1, ["with space"]),
    ],
)
def test_vcf_invalid_arguments_raise(
    tmp_path: Path, references: list[tuple[str, int]], records: int, samples: list[str]
) -> None:
    with pytest.raises(ValueError):
        write_sample_vcf(tmp_path / "x.vcf.gz", references=references,
                         records_per_reference=records, samples=samples)
