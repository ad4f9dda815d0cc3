"""Binary framing of a StoredBlock as one etcd value, and of the chain head.

The framing keeps the sealed header and every transaction envelope as the
exact bytes the SQLite store keeps; only the positions and hashes around
them are packed. Layout (big-endian):

    b"CCB1" | height u64 | first leaf index u64 | block_hash, prev_hash (u16 length + bytes)
    | header (u32 length + bytes) | tx count u32
    | per transaction: tx_hash, leaf_hash (u16 length + bytes), envelope (u32 length + bytes)

Transaction heights and indexes are not stored because a block's
transactions sit at consecutive positions, which the store checks on append.
"""

from __future__ import annotations

import json
import struct

from consent_chain.store import ChainHead, StoredBlock, StoredTransaction

MAGIC = b"CCB1"
_HEAD = struct.Struct(">QQ")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class BlockFormatError(ValueError):
    """Bytes under a block key are not a framed block."""


def encode_block(block: StoredBlock) -> bytes:
    """Frame `block` as one value; its transactions must sit at consecutive positions."""
    first_leaf = block.transactions[0].leaf_index if block.transactions else 0
    parts = [MAGIC, _HEAD.pack(block.height, first_leaf),
             _short(block.block_hash), _short(block.prev_hash), _long(block.header),
             _U32.pack(len(block.transactions))]
    for tx in block.transactions:
        parts += [_short(tx.tx_hash), _short(tx.leaf_hash), _long(tx.envelope)]
    return b"".join(parts)


def decode_block(data: bytes) -> StoredBlock:
    """Parse a framed block; raise BlockFormatError if the bytes are not one."""
    if not data.startswith(MAGIC):
        raise BlockFormatError("value does not start with the block marker CCB1")
    reader = _Reader(data, len(MAGIC))
    height, first_leaf = reader.unpack(_HEAD)
    block_hash, prev_hash = reader.short(), reader.short()
    header = reader.long()
    (count,) = reader.unpack(_U32)
    transactions = []
    for index in range(count):
        tx_hash, leaf_hash, envelope = reader.short(), reader.short(), reader.long()
        transactions.append(StoredTransaction(first_leaf + index, height, index, tx_hash,
                                              leaf_hash, envelope))
    if reader.offset != len(data):
        raise BlockFormatError(f"{len(data) - reader.offset} bytes follow the last transaction")
    return StoredBlock(height, block_hash, prev_hash, header, tuple(transactions))


def encode_head(head: ChainHead) -> bytes:
    """Encode the head record stored beside the blocks."""
    return json.dumps({"height": head.height, "block_hash": head.block_hash.hex(),
                       "log_size": head.log_size}, sort_keys=True).encode()


def decode_head(data: bytes) -> ChainHead:
    """Parse a head record; raise BlockFormatError if it is malformed."""
    try:
        value = json.loads(data)
        return ChainHead(int(value["height"]), bytes.fromhex(value["block_hash"]),
                         int(value["log_size"]))
    except (ValueError, KeyError, TypeError) as error:
        raise BlockFormatError(f"head record {data[:100]!r} is malformed: {error}") from error


def _short(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"a hash field has {len(value)} bytes; at most 65535 fit")
    return _U16.pack(len(value)) + value


def _long(value: bytes) -> bytes:
    return _U32.pack(len(value)) + value


class _Reader:
    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def unpack(self, layout: struct.Struct) -> tuple[int, ...]:
        end = self.offset + layout.size
        if end > len(self.data):
            raise BlockFormatError(f"block value is truncated at byte {self.offset}")
        values: tuple[int, ...] = layout.unpack_from(self.data, self.offset)
        self.offset = end
        return values

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise BlockFormatError(f"block value is truncated at byte {self.offset}")
        value = self.data[self.offset:end]
        self.offset = end
        return value

    def short(self) -> bytes:
        return self.take(self.unpack(_U16)[0])

    def long(self) -> bytes:
        return self.take(self.unpack(_U32)[0])
