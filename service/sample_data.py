"""The sample dataset `consentry serve` creates when the local store is empty."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

from adapters.formats.synthetic import write_sample_bam, write_sample_vcf
from service.config import Settings

logger = logging.getLogger(__name__)

SAMPLE_ID = "sample/NA00001"
SAMPLE_REFERENCES = (("chr1", 2_000_000), ("chr2", 1_500_000), ("chrM", 16_569))
SAMPLE_REGION = ("chr1", 100_000, 200_000)


def ensure_sample_data(root: Path) -> bool:
    """Write the sample BAM and VCF (with indexes) if `root` has no files; return True if so."""
    if root.exists() and any(path.is_file() for path in root.rglob("*")):
        return False
    target = root / SAMPLE_ID
    target.parent.mkdir(parents=True, exist_ok=True)
    write_sample_bam(
        target.with_name(target.name + ".bam"),
        references=SAMPLE_REFERENCES, reads_per_reference=4000, unmapped_reads=500, seed=1,
    )
    write_sample_vcf(
        target.with_name(target.name + ".vcf.gz"),
        references=SAMPLE_REFERENCES, records_per_reference=300,
        samples=("NA00001",), seed=1,
    )
    logger.info("created the sample dataset %s under %s", SAMPLE_ID, root)
    return True


def has_sample_data(root: Path) -> bool:
    """Return True if `root` holds the generated sample BAM."""
    return (root / (SAMPLE_ID + ".bam")).is_file()


def quickstart_commands(settings: Settings, created: bool, passport: Path | None = None) -> str:
    """Return the ready-to-run client commands printed when the service starts.

    With a `passport` file, the commands make htslib send it as a bearer token.
    """
    name, start, end = SAMPLE_REGION
    base = settings.base_url
    lines = [f"Consentry htsget is serving {settings.storage.local_root.resolve()} at {base}"]
    if not has_sample_data(settings.storage.local_root):
        port = "" if settings.port == 8080 else f" --port {settings.port}"
        lines += [
            "Map object-id prefixes to dataset URLs in auth.datasets (README: Passport access),",
            "then issue a passport with a grant for a dataset URL, for example:",
            f"  consentry passport issue --sub you --grant {base}/datasets/NAME{port} -o you.jwt",
        ]
        return "\n".join(lines)
    if created:
        lines.append(f"It holds a generated sample dataset, {SAMPLE_ID} (BAM and VCF).")
    auth = ""
    if passport is not None:
        lines.append(f"A demo passport for the sample dataset, valid 12 h, is in {passport}.")
        auth = f"HTS_AUTH_LOCATION={shlex.quote(str(passport.resolve()))} "
        if base.startswith("http://"):
            # htslib sends a bearer token over plain HTTP only with this exact override.
            auth += 'HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER="I understand the risks" '
    lines += [
        "Try:",
        f"  {auth}samtools view "
        f"'{base}/reads/{SAMPLE_ID}?referenceName={name}&start={start}&end={end}' | head",
        f"  {auth}bcftools view -H '{base}/variants/{SAMPLE_ID}?referenceName={name}' | head",
        f"  curl -s '{base}/reads/service-info'",
    ]
    return "\n".join(lines)
