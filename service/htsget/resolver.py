"""Map htsget ids to storage keys of the data file and its candidate indexes."""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import InvalidInput, NotFound

MAX_ID_LENGTH = 1024

DATA_SUFFIX = {"BAM": ".bam", "CRAM": ".cram", "VCF": ".vcf.gz", "BCF": ".bcf"}
INDEX_SUFFIXES = {
    "BAM": (".bai", ".csi"),
    "CRAM": (".crai",),
    "VCF": (".tbi", ".csi"),
    "BCF": (".csi",),
}
INDEX_PROBE_SUFFIXES = (".bai", ".csi", ".tbi", ".crai", ".gzi")


@dataclass(frozen=True)
class ObjectKeys:
    """Storage keys for one object in one format; indexes in order of preference."""

    id: str
    format: str
    data: str
    indexes: tuple[str, ...]

    @property
    def gzi(self) -> str:
        return self.data + ".gzi"


def check_id(object_id: str) -> None:
    """Reject ids that are empty, too long, absolute or that climb out of the store."""
    if not object_id:
        raise InvalidInput("the object id is empty")
    if len(object_id) > MAX_ID_LENGTH:
        raise InvalidInput(f"the object id is {len(object_id)} characters; at most {MAX_ID_LENGTH}")
    if object_id.startswith("/") or "\\" in object_id:
        raise InvalidInput(f"object id {object_id!r} must be a relative path without backslashes")
    if any(ord(char) < 32 or ord(char) == 127 for char in object_id):
        raise InvalidInput("the object id contains control characters")
    segments = object_id.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidInput(
            f"object id {object_id!r} contains an empty, '.' or '..' path segment"
        )


def resolve(object_id: str, fmt: str) -> ObjectKeys:
    """Return the storage keys for `object_id` in format `fmt`.

    htslib and bcftools probe `<url>.csi` and `<url>.tbi` before reading a
    ticket; those ids end in an index suffix and get a NotFound at once,
    without touching storage.
    """
    check_id(object_id)
    if object_id.endswith(INDEX_PROBE_SUFFIXES):
        raise NotFound(f"{object_id!r} names an index; htsget serves indexed data, not index files")
    data = object_id + DATA_SUFFIX[fmt]
    return ObjectKeys(object_id, fmt, data, tuple(data + suffix for suffix in INDEX_SUFFIXES[fmt]))
