"""Render registry records as DRS 1.5 `DrsObject` and `Authorizations` JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from consent_chain.duo import KNOWN_CODES
from service.drs.registry import DrsRecord
from service.htsget.resolver import DATA_SUFFIX

HTTPS_ACCESS_ID = "https"
ACCESS_IDS = (HTTPS_ACCESS_ID,)
SUPPORTED_AUTH_TYPES = ("PassportAuth", "BearerAuth")
READS_FORMATS = ("BAM", "CRAM")
# The htsget endpoints default to BAM and VCF, so other formats name themselves.
DEFAULT_HTSGET_FORMATS = ("BAM", "VCF")


@dataclass(frozen=True)
class NodeAddress:
    """The addresses of this node's objects: DRS hostname, base URL and S3 location."""

    hostname: str
    base_url: str
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_region: str | None = None


def drs_hostname(configured: str | None, base_url: str) -> str:
    """Return the host of `drs://` URIs: the configured name, else the host of `base_url`."""
    if configured:
        return configured
    return urlsplit(base_url).hostname or "localhost"


def consent_names(codes: Sequence[str]) -> str:
    """Return DUO codes as names with ids, such as `GRU (DUO:0000042), PUB (DUO:0000019)`."""
    return ", ".join(f"{KNOWN_CODES[code]} ({code})" if code in KNOWN_CODES else code
                     for code in codes)


def drs_object(record: DrsRecord, address: NodeAddress) -> dict[str, Any]:
    """Return the DrsObject for `record`; checksums list md5 first, then sha-256.

    DRS 1.5 has no consent field, so the DUO codes recorded at ingest go
    into the free-text `description`, as `Data use: GRU (DUO:0000042)`.
    """
    body: dict[str, Any] = {
        "id": record.id,
        "self_uri": f"drs://{address.hostname}/{record.id}",
        "size": record.size,
        "created_time": record.created_time,
        "name": record.name,
        "mime_type": record.mime_type,
        "checksums": [
            {"type": "md5", "checksum": record.md5},
            {"type": "sha-256", "checksum": record.sha256},
        ],
        "access_methods": access_methods(record, address),
    }
    if record.consent:
        body["description"] = f"Data use: {consent_names(record.consent)}"
    return body


def access_methods(record: DrsRecord, address: NodeAddress) -> list[dict[str, Any]]:
    """Return the ways to read `record`: a signed https URL, S3 directly, and htsget."""
    methods: list[dict[str, Any]] = [{"type": "https", "access_id": HTTPS_ACCESS_ID}]
    if address.s3_bucket is not None:
        key = record.storage_key
        if address.s3_prefix:
            key = f"{address.s3_prefix}/{key}"
        method: dict[str, Any] = {
            "type": "s3",
            "access_url": {"url": f"s3://{address.s3_bucket}/{quote(key)}"},
        }
        if address.s3_region:
            method["region"] = address.s3_region
        methods.append(method)
    url = htsget_url(record, address.base_url)
    if url is not None:
        methods.append({"type": "htsget", "access_url": {"url": url}})
    return methods


def htsget_id(record: DrsRecord) -> str | None:
    """Return the id htsget serves `record` under, or None when htsget cannot serve it."""
    if record.format is None or record.format not in DATA_SUFFIX:
        return None
    suffix = DATA_SUFFIX[record.format]
    if not record.storage_key.endswith(suffix):
        return None
    return record.storage_key[: -len(suffix)]


def policy_object_id(record: DrsRecord) -> str:
    """Return the id access decisions use for `record`: its htsget id, else its storage key.

    htsget and DRS requests for one file then reach the access policy, the
    dataset prefixes and the consent-chain log under the same id.
    """
    return htsget_id(record) or record.storage_key


def htsget_url(record: DrsRecord, base_url: str) -> str | None:
    """Return the htsget URL of `record`, or None when htsget cannot serve its format."""
    object_id = htsget_id(record)
    if object_id is None or record.format is None:
        return None
    endpoint = "reads" if record.format in READS_FORMATS else "variants"
    url = f"{base_url}/{endpoint}/{quote(object_id)}"
    if record.format not in DEFAULT_HTSGET_FORMATS:
        url += f"?format={record.format}"
    return url


def authorizations(object_id: str, passport_issuers: tuple[str, ...]) -> dict[str, Any]:
    """Return the DRS `Authorizations` of one object."""
    return {
        "drs_object_id": object_id,
        "supported_types": list(SUPPORTED_AUTH_TYPES),
        "passport_auth_issuers": list(passport_issuers),
    }
