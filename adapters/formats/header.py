"""What the htsget core needs to know about a file's header."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.formats.bgzf import VirtualOffset


@dataclass(frozen=True)
class Reference:
    """A reference sequence (contig) declared in a header; `length` may be unknown."""

    name: str
    length: int | None


@dataclass(frozen=True)
class FileHeader:
    """Header facts of one file.

    `references` are in the order the format numbers them, so position `i`
    is reference id `i` in the file's index (BAM and CRAM: the `@SQ` order;
    BCF: the contig dictionary order; VCF: the `##contig` order, which may
    be empty, since TBI and CSI indexes name their own references).

    `header_end` is where the first record starts: a BGZF virtual offset for
    BAM, BCF and VCF, and `VirtualOffset(byte_offset, 0)` for CRAM.
    """

    format: str
    references: tuple[Reference, ...]
    header_end: VirtualOffset

    def reference_id(self, name: str) -> int | None:
        for index, reference in enumerate(self.references):
            if reference.name == name:
                return index
        return None
