"""Damaged copies of index files, for checking that parsers fail only with FormatError."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from adapters.errors import FormatError
from adapters.formats.bgzf import BGZF_EOF, compress


def truncations(data: bytes, limit: int = 400) -> Iterator[bytes]:
    """Yield prefixes of `data` cut at up to `limit` positions spread over its length."""
    step = max(1, len(data) // limit)
    for cut in range(0, len(data), step):
        yield data[:cut]


def flips(data: bytes, seed: int, count: int = 300) -> Iterator[bytes]:
    """Yield copies of `data` with one to three random bytes replaced."""
    rng = random.Random(seed)
    for _ in range(count):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        yield bytes(damaged)


def bgzf_wrap(payload: bytes) -> bytes:
    """Compress a payload as a complete BGZF file, so damage reaches the index parser itself."""
    return compress(payload) + BGZF_EOF


def unexpected_errors(parse: Callable[[bytes], Any], variants: Iterator[bytes]) -> list[str]:
    """Parse every variant and describe each exception other than FormatError.

    A variant that still parses is queried too, because damaged counts or
    offsets may only surface there.
    """
    problems = []
    for number, data in enumerate(variants):
        try:
            index = parse(data)
            _exercise(index)
        except FormatError:
            continue
        except Exception as exc:
            problems.append(f"variant {number}: {type(exc).__name__}: {exc}")
    return problems


def _exercise(index: Any) -> None:
    if hasattr(index, "max_end"):
        index.max_end()
        index.first_begin()
        for ref_id in range(min(index.n_references, 3)):
            index.query(ref_id, 0, 1 << 40)
    elif hasattr(index, "container_offsets"):
        index.container_offsets()
        index.query(0, 0, 1 << 40)
