"""GZI: the block index of a BGZF file, as written by `bgzip -i` or `bgzip -r`.

The file is a little-endian uint64 entry count followed by one
(compressed offset, uncompressed offset) uint64 pair per BGZF block after
the first, which always starts at (0, 0) and is left out.
"""

from __future__ import annotations

from adapters.indexes._binary import ByteReader

_ENTRY_SIZE = 16


def parse_gzi(data: bytes) -> tuple[tuple[int, int], ...]:
    """Return the (compressed, uncompressed) offsets of all block starts, beginning with (0, 0)."""
    reader = ByteReader(data, "GZI")
    count = reader.uint64("entry count")
    if count * _ENTRY_SIZE != reader.remaining:
        raise reader.error(
            f"entry count {count} needs {count * _ENTRY_SIZE} bytes of entries "
            f"but {reader.remaining} follow",
            0,
        )
    flat = reader.uint64_array(2 * count, "entries")
    blocks = [(0, 0)]
    for i in range(0, len(flat), 2):
        compressed, uncompressed = flat[i], flat[i + 1]
        previous = blocks[-1]
        if compressed <= previous[0] or uncompressed < previous[1]:
            raise reader.error(
                f"entry {i // 2} ({compressed}, {uncompressed}) does not come after "
                f"{previous}, so the offsets are not ascending",
                8 + i * 8,
            )
        blocks.append((compressed, uncompressed))
    return tuple(blocks)
