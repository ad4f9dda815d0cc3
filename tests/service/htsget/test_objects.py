"""Headers and indexes are parsed once per object version and re-parsed when the file changes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from adapters.storage.local import LocalStorage
from adapters.storage.signing import DataUrlSigner
from service.errors import NotFound
from service.htsget.objects import ObjectCatalog
from service.htsget.resolver import resolve
from tests.support import require_tool, shared_file

BAM = "htsnexus_test_NA12878"


class CountingStorage(LocalStorage):
    """Local storage that counts reads per key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, DataUrlSigner("http://127.0.0.1:1", b"k" * 32))
        self.reads: dict[str, int] = {}

    def read_range(self, key: str, start: int, end: int) -> bytes:
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().read_range(key, start, end)


@pytest.fixture
def store(tmp_path: Path) -> CountingStorage:
    for suffix in (".bam", ".bam.bai"):
        shutil.copy(shared_file(BAM + suffix), tmp_path / (BAM + suffix))
    return CountingStorage(tmp_path)


def test_index_is_parsed_once_across_requests(store: CountingStorage) -> None:
    catalog = ObjectCatalog(store, cache_entries=4)
    keys = resolve(BAM, "BAM")

    first = catalog.index(catalog.open(keys))
    reads_after_first = dict(store.reads)
    for _ in range(50):
        again = catalog.index(catalog.open(keys))

    assert again is first
    assert store.reads == reads_after_first


def test_replaced_index_is_parsed_again(store: CountingStorage) -> None:
    catalog = ObjectCatalog(store, cache_entries=4)
    keys = resolve(BAM, "BAM")
    first = catalog.index(catalog.open(keys))
    index_path = store.root / (BAM + ".bam.bai")
    stat = index_path.stat()
    os.utime(index_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    second = catalog.index(catalog.open(keys))

    assert second is not first
    assert store.reads[BAM + ".bam.bai"] == 2


def test_cache_is_bounded(tmp_path: Path) -> None:
    for number in range(5):
        shutil.copy(shared_file(BAM + ".bam"), tmp_path / f"s{number}.bam")
    catalog = ObjectCatalog(CountingStorage(tmp_path), cache_entries=2)

    for number in range(5):
        catalog.open(resolve(f"s{number}", "BAM"))

    assert len(catalog._headers) == 2


def test_missing_index_names_expected_keys(store: CountingStorage) -> None:
    (store.root / (BAM + ".bam.bai")).unlink()
    catalog = ObjectCatalog(store, cache_entries=4)

    with pytest.raises(NotFound, match=r"\.bam\.bai or .*\.bam\.csi"):
        catalog.index(catalog.open(resolve(BAM, "BAM")))


def test_gzi_makes_edge_block_reads_exact(store: CountingStorage) -> None:
    bgzip = require_tool("bgzip")
    subprocess.run([bgzip, "-r", str(store.root / (BAM + ".bam"))], check=True, timeout=60)
    catalog = ObjectCatalog(store, cache_entries=4)
    opened = catalog.open(resolve(BAM, "BAM"))
    assert opened.block_starts is not None
    middle = opened.block_starts[len(opened.block_starts) // 2]

    block = catalog.block(opened, middle)

    assert opened.block_end(middle) == block.end
    assert len(opened.block_starts) > 10


def test_corrupt_gzi_is_ignored(store: CountingStorage) -> None:
    (store.root / (BAM + ".bam.gzi")).write_bytes(b"\x05" + b"\x00" * 10)
    catalog = ObjectCatalog(store, cache_entries=4)

    opened = catalog.open(resolve(BAM, "BAM"))

    assert opened.block_starts is None
