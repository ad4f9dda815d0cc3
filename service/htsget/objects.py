"""Open stored objects for htsget: header facts, indexes and BGZF blocks, parsed once and cached.

Every cache entry is keyed by the storage key and the object's version (S3
ETag, or size and mtime of a local file). A replaced file or index is
therefore parsed again on the next request, and a stale parse is never served.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from adapters.errors import FormatError, ObjectNotFound, StorageUnavailable
from adapters.formats import bam, bcf, cram, vcf
from adapters.formats.bgzf import (
    BGZF_EOF,
    MAX_BLOCK_SIZE,
    Block,
    VirtualOffset,
    compress,
    decode_block,
)
from adapters.formats.header import FileHeader
from adapters.indexes.bai import parse_bai
from adapters.indexes.binning import BinningIndex
from adapters.indexes.crai import CraiIndex, parse_crai
from adapters.indexes.csi import parse_csi
from adapters.indexes.gzi import parse_gzi
from adapters.indexes.tbi import parse_tbi
from adapters.storage.base import ObjectInfo, Storage
from service.cache import LruCache
from service.errors import NotFound, ServiceUnavailable
from service.htsget.record_walk import ends_with_record, starts_with_record
from service.htsget.resolver import DATA_SUFFIX, ObjectKeys

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Headers up to this size go inline in tickets, which saves clients one request each.
INLINE_HEADER_MAX = 256 * 1024

_HEADER_READERS = {
    "BAM": bam.read_bam_header,
    "VCF": vcf.read_vcf_header,
    "BCF": bcf.read_bcf_header,
}
_INDEX_PARSERS: dict[str, Callable[[bytes], BinningIndex]] = {
    ".bai": parse_bai,
    ".csi": parse_csi,
    ".tbi": parse_tbi,
}


@dataclass(frozen=True)
class OpenedObject:
    """A data object with its parsed header.

    `eof_marker` is the end-of-file marker the format requires. `has_eof`
    is true when the stored file already ends with it, and tickets then point
    at the file's own last bytes. `block_starts` lists the BGZF block offsets
    from a `.gzi` file stored beside the data, if there is one, so edge
    blocks are read with exact ranges. `header_bytes` are the stored bytes
    before the first whole block of records, kept when they are small enough
    to send inline.
    """

    keys: ObjectKeys
    info: ObjectInfo
    header: FileHeader
    eof_marker: bytes
    has_eof: bool
    block_starts: tuple[int, ...] | None = None
    header_bytes: bytes | None = None

    def block_end(self, coffset: int) -> int:
        """Return the end of the block at `coffset`: exact with a GZI, else an upper bound."""
        bound = min(coffset + MAX_BLOCK_SIZE, self.info.size)
        if self.block_starts is None:
            return bound
        position = bisect.bisect_right(self.block_starts, coffset)
        return self.block_starts[position] if position < len(self.block_starts) else bound

    @property
    def body_end(self) -> int:
        """File offset where the records end and the EOF marker (if any) begins."""
        return self.info.size - len(self.eof_marker) if self.has_eof else self.info.size


class ObjectCatalog:
    """Look up objects in storage and keep their parsed headers, indexes and edge blocks."""

    def __init__(self, storage: Storage, cache_entries: int) -> None:
        self.storage = storage
        self._headers: LruCache[OpenedObject] = LruCache(cache_entries)
        self._indexes: LruCache[BinningIndex | CraiIndex] = LruCache(cache_entries)
        self._blocks: LruCache[Block] = LruCache(cache_entries * 4)
        self._slices: LruCache[bytes] = LruCache(cache_entries * 16)
        self._edges: LruCache[bool] = LruCache(cache_entries * 16)

    def open(self, keys: ObjectKeys) -> OpenedObject:
        """Return the object's header facts; NotFound if the data file is missing."""
        info = self._head(keys.data, keys)
        if info is None:
            raise NotFound(self._missing_message(keys))
        return self._headers.get_or_load(
            ("header", info.key, info.version), lambda: self._load_header(keys, info)
        )

    def index(self, opened: OpenedObject) -> BinningIndex | CraiIndex:
        """Return the object's parsed index, trying each candidate key in order."""
        for key in opened.keys.indexes:
            info = self._head(key, opened.keys)
            if info is not None:
                return self._indexes.get_or_load(
                    ("index", key, info.version), partial(self._load_index, key, info.size)
                )
        expected = " or ".join(opened.keys.indexes)
        raise NotFound(
            f"{opened.keys.data!r} has no index, so it cannot be queried by region; "
            f"expected {expected} (samtools index, bcftools index or tabix creates one)"
        )

    def block(self, opened: OpenedObject, coffset: int) -> Block:
        """Return the decoded BGZF block that starts at byte `coffset` of the data file."""
        key = opened.info.key

        def load() -> Block:
            data = self._read(key, coffset, opened.block_end(coffset))
            return self._parse(key, lambda: decode_block(data, 0, coffset))

        return self._blocks.get_or_load(("block", key, opened.info.version, coffset), load)

    def block_slice(self, opened: OpenedObject, coffset: int, start: int, end: int | None) -> bytes:
        """Return payload bytes `[start, end)` of the block at `coffset`, re-encoded as BGZF.

        Results are cached, because compressing is the largest cost of a
        warm ticket; level 1 is about three times faster than zlib's default
        and makes blocks about an eighth larger.
        """
        key = ("slice", opened.info.key, opened.info.version, coffset, start, end)

        def load() -> bytes:
            block = self.block(opened, coffset)
            stop = len(block.payload) if end is None else end
            if max(start, stop) > len(block.payload):
                raise NotFound(
                    f"the index of {opened.keys.data!r} points past the end of the block at "
                    f"byte {coffset}; rebuild the index"
                )
            return compress(block.payload[start:stop], level=1)

        return self._slices.get_or_load(key, load)

    def is_record_edge(self, opened: OpenedObject, offset: VirtualOffset, side: str) -> bool:
        """Return True if the block at `offset` starts (or ends) on a record boundary.

        `offset` is a record boundary the index gave; `side` is "start" to
        check the block's start and "end" to check the block's end.
        """
        fmt = opened.keys.format
        key = ("edge", opened.info.key, opened.info.version, int(offset), side)

        def load() -> bool:
            payload = self.block(opened, offset.coffset).payload
            if side == "start":
                return starts_with_record(fmt, payload, offset.uoffset)
            return ends_with_record(fmt, payload, offset.uoffset)

        return self._edges.get_or_load(key, load)

    def _head(self, key: str, keys: ObjectKeys) -> ObjectInfo | None:
        try:
            return self.storage.head(key)
        except ObjectNotFound:
            return None
        except StorageUnavailable as exc:
            logger.warning("storage head failed for key %s: %s", key, exc)
            message = f"storage is unavailable for {keys.id!r}; retry later"
            raise ServiceUnavailable(message) from exc

    def _read(self, key: str, start: int, end: int) -> bytes:
        try:
            return self.storage.read_range(key, start, end)
        except ObjectNotFound as exc:
            raise NotFound(f"{key!r} disappeared from storage while it was read") from exc
        except StorageUnavailable as exc:
            logger.warning("storage read failed for key %s: %s", key, exc)
            raise ServiceUnavailable(f"storage is unavailable for {key!r}; retry later") from exc

    def _parse(self, key: str, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except FormatError as exc:
            logger.warning("cannot parse %s: %s", key, exc)
            raise NotFound(f"{key!r} is corrupt or not in the expected format: {exc}") from exc

    def _load_header(self, keys: ObjectKeys, info: ObjectInfo) -> OpenedObject:
        def read(start: int, end: int) -> bytes:
            return self._read(info.key, start, end)

        if keys.format == "CRAM":
            cram_info = self._parse(info.key, lambda: cram.read_cram_header(read, info.size))
            header, marker = cram_info.header, cram_info.eof_marker
        else:
            reader = _HEADER_READERS[keys.format]
            header, marker = self._parse(info.key, lambda: reader(read, info.size)), BGZF_EOF
        tail = read(max(0, info.size - len(marker)), info.size)
        has_eof = tail == marker
        if not has_eof:
            logger.warning("%s does not end with the %s EOF marker", info.key, keys.format)
        block_starts = None if keys.format == "CRAM" else self._block_starts(keys, info)
        header_end = header.header_end.coffset
        header_bytes = read(0, header_end) if header_end <= INLINE_HEADER_MAX else None
        logger.debug("parsed header of %s (version %s)", info.key, info.version)
        return OpenedObject(keys, info, header, marker, has_eof, block_starts, header_bytes)

    def _block_starts(self, keys: ObjectKeys, info: ObjectInfo) -> tuple[int, ...] | None:
        # NOTE: the GZI is looked up once per version of the data file, so a GZI
        # added later is used only after the data file changes or leaves the cache.
        gzi = self._head(keys.gzi, keys)
        if gzi is None:
            return None
        try:
            entries = parse_gzi(self._read(keys.gzi, 0, gzi.size))
        except FormatError as exc:
            logger.warning("ignoring corrupt %s: %s", keys.gzi, exc)
            return None
        return tuple(compressed for compressed, _ in entries)

    def _load_index(self, key: str, size: int) -> BinningIndex | CraiIndex:
        data = self._read(key, 0, size)
        if key.endswith(".crai"):
            return self._parse(key, lambda: parse_crai(data))
        parser = _INDEX_PARSERS[key[key.rfind(".") :]]
        index = self._parse(key, lambda: parser(data))
        logger.info("parsed index %s (%d bytes)", key, len(data))
        return index

    def _missing_message(self, keys: ObjectKeys) -> str:
        for fmt, suffix in DATA_SUFFIX.items():
            if fmt == keys.format or (fmt in ("BAM", "CRAM")) != (keys.format in ("BAM", "CRAM")):
                continue
            if self._head(keys.id + suffix, keys) is not None:
                return f"no {keys.format} object with id {keys.id!r}; it is available as {fmt}"
        return f"no {keys.format} object with id {keys.id!r}"
