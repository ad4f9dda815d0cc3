"""Find or build the index of a genomic file that ingest uploads beside it."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# Suffix of the data file, htsget format name, index suffixes in order of preference.
FORMATS = (
    (".bam", "BAM", (".bai", ".csi")),
    (".cram", "CRAM", (".crai",)),
    (".vcf.gz", "VCF", (".tbi", ".csi")),
    (".bcf", "BCF", (".csi",)),
)
MEDIA_TYPES = {
    "BAM": "application/vnd.ga4gh.bam",
    "CRAM": "application/vnd.ga4gh.cram",
    "VCF": "application/gzip",
    "BCF": "application/vnd.ga4gh.bcf",
}
INDEX_TIMEOUT_SECONDS = 3600


class IndexBuildError(Exception):
    """The index is missing and could not be built."""


@dataclass(frozen=True)
class FoundIndex:
    """An index file and the suffix it is stored under (`.bai`, `.tbi`, ...)."""

    path: Path
    suffix: str


def detect_format(path: Path) -> str | None:
    """Return BAM, CRAM, VCF or BCF from the file name, or None for other files."""
    for suffix, fmt, _ in FORMATS:
        if path.name.endswith(suffix):
            return fmt
    return None


def find_index(path: Path, fmt: str) -> FoundIndex | None:
    """Return the index stored beside `path` (`<file>.bai` and so on), if there is one."""
    for suffix in _index_suffixes(fmt):
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            if candidate.stat().st_mtime < path.stat().st_mtime:
                logger.warning("index %s is older than %s; rebuild it if the file changed",
                               candidate, path)
            return FoundIndex(candidate, suffix)
    return None


def build_index(path: Path, fmt: str, work_dir: Path) -> FoundIndex:
    """Build the index of `path` in `work_dir` with samtools or bcftools."""
    suffix = _index_suffixes(fmt)[0]
    target = work_dir / (path.name + suffix)
    if fmt in ("BAM", "CRAM"):
        command = ["samtools", "index", "-o", str(target), str(path)]
    else:
        kind = "-t" if suffix == ".tbi" else "-c"
        command = ["bcftools", "index", kind, "-o", str(target), str(path)]
    tool = command[0]
    if shutil.which(tool) is None:
        raise IndexBuildError(
            f"{path} has no index beside it and {tool} is not installed to build one; "
            f"install {tool} (Debian: apt-get install {tool}) or put {path.name}{suffix} "
            "beside the file"
        )
    logger.info("building %s with %s", target.name, tool)
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=INDEX_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0 or not target.is_file():
        detail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise IndexBuildError(
            f"{tool} could not index {path} (exit code {result.returncode}: {detail[0]}); "
            "check that the file is a valid, sorted and BGZF-compressed " + fmt
        )
    return FoundIndex(target, suffix)


def _index_suffixes(fmt: str) -> tuple[str, ...]:
    return next(suffixes for _, name, suffixes in FORMATS if name == fmt)
