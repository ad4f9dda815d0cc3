"""Record-boundary checks on BAM and BCF block payloads."""

from __future__ import annotations

import struct

from service.htsget.record_walk import ends_with_record, starts_with_record


def _bam_record(size: int) -> bytes:
    return struct.pack("<I", size) + b"\x00" * size


def _bcf_record(shared: int, individual: int) -> bytes:
    return struct.pack("<II", shared, individual) + b"\x00" * (shared + individual)


def test_bam_block_of_whole_records() -> None:
    payload = _bam_record(40) + _bam_record(60) + _bam_record(33)

    assert starts_with_record("BAM", payload, 44)
    assert starts_with_record("BAM", payload, 108)
    assert ends_with_record("BAM", payload, 44)
    assert ends_with_record("BAM", payload, len(payload))


def test_bam_block_starting_inside_record() -> None:
    payload = b"\x07" * 10 + _bam_record(40)

    assert not starts_with_record("BAM", payload, 10)


def test_bam_block_ending_inside_record() -> None:
    payload = _bam_record(40) + _bam_record(60)[:30]

    assert not ends_with_record("BAM", payload, 44)


def test_walk_missing_offset_is_not_a_boundary() -> None:
    payload = _bam_record(40) + _bam_record(40)

    assert not starts_with_record("BAM", payload, 20)


def test_bcf_lengths_are_walked() -> None:
    payload = _bcf_record(30, 10) + _bcf_record(24, 0)

    assert starts_with_record("BCF", payload, 48)
    assert ends_with_record("BCF", payload, 48)
    assert not starts_with_record("BCF", payload, 47)


def test_vcf_edges_are_never_trusted() -> None:
    payload = b"20\t1\t.\tA\tC\t.\t.\t.\n" * 3

    assert not starts_with_record("VCF", payload, 17)
    assert not ends_with_record("VCF", payload, 17)
