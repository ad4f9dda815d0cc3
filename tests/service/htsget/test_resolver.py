"""Id checks and the mapping from ids to storage keys."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput, NotFound
from service.htsget.resolver import resolve


def test_keys_by_format() -> None:
    assert resolve("a/b", "BAM").data == "a/b.bam"
    assert resolve("a/b", "BAM").indexes == ("a/b.bam.bai", "a/b.bam.csi")
    assert resolve("a/b", "CRAM").indexes == ("a/b.cram.crai",)
    assert resolve("a/b", "VCF").data == "a/b.vcf.gz"
    assert resolve("a/b", "BCF").indexes == ("a/b.bcf.csi",)


@pytest.mark.parametrize("object_id", ["", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b",
                                       "a\x00b", "x" * 1025])
def test_unsafe_ids_are_invalid_input(object_id: str) -> None:
    with pytest.raises(InvalidInput):
        resolve(object_id, "BAM")


@pytest.mark.parametrize("object_id", ["s.bam.bai", "s.csi", "s.vcf.gz.tbi", "s.crai", "s.gzi"])
def test_index_probes_are_not_found(object_id: str) -> None:
    with pytest.raises(NotFound, match="index"):
        resolve(object_id, "BAM")
