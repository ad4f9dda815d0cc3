"""The sample dataset `consentry serve` creates when the local store is empty."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.formats.synthetic import write_sample_bam, write_sample_vcf
from service.auth.node import write_demo_passport
from service.config import Settings

if TYPE_CHECKING:
    from service.consent_services import ConsentServices

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


def write_sample_passport(settings: Settings, consent: ConsentServices | None) -> Path | None:
    """Write the demo passport for the sample dataset; return its path, or None if none applies.

    The consent chain decides on objects of the datasets registered on it. So when
    its catalog lists the sample, the passport grants the catalog's dataset URL.
    Otherwise it grants the URL of the sample's `auth.datasets` entry.
    """
    if not has_sample_data(settings.storage.local_root):
        return None
    dataset = None
    if consent is not None:
        entry = consent.catalog.dataset_for_object(SAMPLE_ID)
        dataset = entry.url if entry is not None and entry.url else None
    return write_demo_passport(settings, SAMPLE_ID, dataset)


def quickstart_commands(
    settings: Settings, created: bool, passport: Path | None = None,
    config: Path | None = None,
) -> str:
    """Return the ready-to-run client commands printed when the service starts.

    With a `passport` file, the commands make htslib send it as a bearer token.
    In passport mode without one, only commands that need no passport are printed.
    `config` is the settings file the node was started with.
    """
    base = settings.base_url
    lines = [f"Consentry htsget is serving {settings.storage.local_root.resolve()} at {base}"]
    if not has_sample_data(settings.storage.local_root):
        return "\n".join(lines + _own_data_steps(settings, config))
    if created:
        lines.append(f"It holds a generated sample dataset, {SAMPLE_ID} (BAM and VCF).")
    if settings.auth.mode == "passport" and passport is None:
        lines += _missing_passport_note(settings)
        lines += ["Try:", f"  curl -s '{base}/reads/service-info'"]
        return "\n".join(lines)
    auth = ""
    if passport is not None:
        lines.append(f"A demo passport for the sample dataset, valid 12 h, is in {passport}.")
        auth = f"HTS_AUTH_LOCATION={shlex.quote(str(passport.resolve()))} "
        if base.startswith("http://"):
            # htslib sends a bearer token over plain HTTP only with this exact override.
            auth += 'HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER="I understand the risks" '
    name, start, end = SAMPLE_REGION
    lines += [
        "Try:",
        f"  {auth}samtools view "
        f"'{base}/reads/{SAMPLE_ID}?referenceName={name}&start={start}&end={end}' | head",
        f"  {auth}bcftools view -H '{base}/variants/{SAMPLE_ID}?referenceName={name}' | head",
        f"  curl -s '{base}/reads/service-info'",
        "Tickets cover whole compressed blocks around the region, so samtools also prints "
        "reads just outside it, as the htsget specification allows.",
    ]
    return "\n".join(lines)


def _own_data_steps(settings: Settings, config: Path | None) -> list[str]:
    """Explain how to read the node's own files in its `auth.mode`."""
    if settings.auth.mode == "open":
        return ["auth.mode is 'open', so every object is served without a passport."]
    first = "Map object-id prefixes to dataset URLs in auth.datasets (README: Passport access),"
    if not settings.auth.embedded_broker:
        return [first, "then get a passport with a grant for a dataset URL from a broker "
                "in auth.trust.brokers."]
    options = f" --config {shlex.quote(str(config))}" if config is not None else ""
    if settings.port != 8080:
        options += f" --port {settings.port}"
    return [
        first,
        "then issue a passport with a grant for a dataset URL, for example:",
        f"  consentry passport issue --sub you --grant {settings.base_url}/datasets/NAME"
        f"{options} -o you.jwt",
    ]


def _missing_passport_note(settings: Settings) -> list[str]:
    """Say why no demo passport was written, so the sample needs one from elsewhere."""
    if not settings.auth.embedded_broker:
        return [
            "Tickets need a passport from a broker in auth.trust.brokers; save it to a file",
            "and pass the file to samtools or bcftools in HTS_AUTH_LOCATION.",
        ]
    return [
        f"No demo passport was written: no auth.datasets entry or consent chain dataset "
        f"contains {SAMPLE_ID}.",
        'To read it with a passport, add {id_prefix: "sample/", url: '
        '"{base_url}/datasets/sample"} to auth.datasets.',
    ]
