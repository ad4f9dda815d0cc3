"""`EtcdChainStore`: the ChainStore contract over a 3-member (or larger) etcd cluster.

etcd orders and replicates appends; it does not make blocks trustworthy
(followers verify every block themselves). An append is one etcd txn that
requires the block key to be new and the head key to be unchanged since the
head this store last saw, and then writes both. The loser of a race between
two proposers gets AppendConflict and rebases. When no quorum responds within
the gateway deadline, calls raise StoreUnavailable and nothing is written.

Lookups by leaf index or transaction hash use an in-memory index that the
store fills from etcd on demand.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Sequence

from adapters.chain.block_codec import (
    BlockFormatError,
    decode_block,
    decode_head,
    encode_block,
    encode_head,
)
from adapters.chain.etcd_feed import EtcdChainFeed, call_etcd
from adapters.chain.etcd_gateway import (
    DEFAULT_DEADLINE,
    DEFAULT_REQUEST_TIMEOUT,
    EtcdGateway,
    Json,
    decode_bytes,
    encode_bytes,
    int_field,
)
from adapters.chain.etcd_keys import ChainKeys
from adapters.chain.etcd_tls import EtcdTls
from consent_chain.errors import BlockNotFound, ChainCorrupted, StoreConflict
from consent_chain.replication_core import AppendConflict
from consent_chain.store import ChainHead, StoredBlock, StoredTransaction

logger = logging.getLogger(__name__)

# etcd 3.4 rejects requests above 1.5 MiB by default (--max-request-bytes).
# A block txn carries the framed block plus the head record and key names, so
# blocks stay below 1 MiB.
MAX_BLOCK_BYTES = 1024 * 1024
INDEX_PAGE_BLOCKS = 64


class EtcdChainStore:
    """A `ChainStore` kept in etcd under `prefix`; safe to share between threads."""

    max_block_bytes = MAX_BLOCK_BYTES

    def __init__(self, endpoints: Sequence[str], prefix: str, chain_id: str, *,
                 tls: EtcdTls | None = None,
                 request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 deadline: float = DEFAULT_DEADLINE) -> None:
        self.chain_id = chain_id
        self.keys = ChainKeys(prefix)
        self._gateway = EtcdGateway(endpoints, tls=tls, request_timeout=request_timeout,
                                    deadline=deadline)
        self._head_lock = threading.Lock()
        self._known_head: tuple[ChainHead | None, int] | None = None
        self._index_lock = threading.Lock()
        self._first_leaves: list[int] = []
        self._leaf_hashes: list[bytes] = []
        self._leaf_by_tx_hash: dict[bytes, int] = {}
        self._claim_chain_id()
        logger.info("opened etcd chain store prefix=%s chain_id=%s endpoints=%s",
                    prefix, chain_id, self._gateway.endpoints)

    def feed(self) -> EtcdChainFeed:
        """Return the block and cosignature feed of this chain, sharing this store's client."""
        return EtcdChainFeed(self._gateway, self.keys, self.chain_id)

    def _call(self, path: str, body: Json) -> Json:
        return call_etcd(self._gateway, self.keys, path, body)

    def _claim_chain_id(self) -> None:
        key = encode_bytes(self.keys.chain_id)
        response = self._call("/v3/kv/txn", {
            "compare": [{"key": key, "target": "CREATE", "result": "EQUAL",
                         "create_revision": "0"}],
            "success": [{"request_put": {"key": key,
                                         "value": encode_bytes(self.chain_id.encode())}}],
            "failure": [{"request_range": {"key": key}}],
        })
        if response.get("succeeded"):
            return
        stored = _range_value(response["responses"][0]).decode()
        if stored != self.chain_id:
            raise StoreConflict(f"etcd prefix {self.keys.prefix!r} stores chain {stored}, not "
                                f"{self.chain_id}; set chain.etcd_prefix to this genesis's prefix")

    def _range(self, key: bytes) -> tuple[bytes, int] | None:
        response = self._call("/v3/kv/range", {"key": encode_bytes(key)})
        kvs = response.get("kvs", [])
        if not kvs:
            return None
        return decode_bytes(kvs[0].get("value")), int_field(kvs[0], "mod_revision")

    def _read_head(self) -> tuple[ChainHead | None, int]:
        found = self._range(self.keys.head)
        if found is None:
            return None, 0
        value, revision = found
        try:
            return decode_head(value), revision
        except BlockFormatError as error:
            raise ChainCorrupted(f"etcd key {self.keys.head!r} is corrupt: {error}") from error

    def head(self) -> ChainHead | None:
        """Return the newest block's position, read from the cluster."""
        head, revision = self._read_head()
        with self._head_lock:
            self._known_head = (head, revision)
        return head

    def append_block(self, block: StoredBlock) -> None:
        """Append `block` in one etcd txn; raise AppendConflict if another writer won.

        NOTE: StoreUnavailable here means the outcome is unknown, unlike in the
        SQLite store. A txn that timed out while quorum was lost can stay in
        the surviving leader's Raft log and commit once quorum returns; the
        ledger then finds the block on its next rebase.
        """
        encoded = encode_block(block)
        if len(encoded) > self.max_block_bytes:
            raise StoreConflict(f"block {block.height} is {len(encoded)} bytes framed; etcd "
                                f"blocks hold at most {self.max_block_bytes}, so seal fewer "
                                "transactions per block")
        _, head_revision = self._head_for(block)
        new_head = ChainHead(block.height, block.block_hash,
                             block.transactions[-1].leaf_index + 1)
        block_key, head_key = encode_bytes(self.keys.block(block.height)), encode_bytes(
            self.keys.head)
        response = self._call("/v3/kv/txn", {
            "compare": [
                {"key": block_key, "target": "CREATE", "result": "EQUAL",
                 "create_revision": "0"},
                {"key": head_key, "target": "MOD", "result": "EQUAL",
                 "mod_revision": str(head_revision)},
            ],
            "success": [
                {"request_put": {"key": block_key, "value": encode_bytes(encoded)}},
                {"request_put": {"key": head_key, "value": encode_bytes(encode_head(new_head))}},
            ],
            "failure": [{"request_range": {"key": head_key}},
                        {"request_range": {"key": block_key}}],
        })
        if response.get("succeeded"):
            self._remember_head(new_head, int_field(response.get("header", {}), "revision"))
            logger.debug("appended block height=%d txs=%d bytes=%d", block.height,
                         len(block.transactions), len(encoded))
            return
        self._resolve_failed_append(block, encoded, response)

    def _head_for(self, block: StoredBlock) -> tuple[ChainHead | None, int]:
        with self._head_lock:
            known = self._known_head
        if known is not None:
            try:
                _check_link(self.chain_id, known[0], block)
                return known
            except StoreConflict:
                pass
        head, revision = self._read_head()
        self._remember_head(head, revision)
        _check_link(self.chain_id, head, block)
        return head, revision

    def _remember_head(self, head: ChainHead | None, revision: int) -> None:
        with self._head_lock:
            self._known_head = (head, revision)

    def _resolve_failed_append(self, block: StoredBlock, encoded: bytes, response: Json) -> None:
        head_range, block_range = response["responses"]
        head_kvs = head_range.get("response_range", {}).get("kvs", [])
        head = decode_head(decode_bytes(head_kvs[0].get("value"))) if head_kvs else None
        revision = int_field(head_kvs[0], "mod_revision") if head_kvs else 0
        self._remember_head(head, revision)
        if _range_value(block_range) == encoded:
            # An earlier attempt of this call timed out after etcd had committed it.
            logger.info("block height=%d was already committed by a retried call", block.height)
            return
        height = 0 if head is None else head.height
        raise AppendConflict(f"block {block.height} lost the append race: the etcd head is "
                             f"now at height {height}; rebase and seal again", head)

    def block_at(self, height: int) -> StoredBlock:
        """Return the block at `height`, read from the cluster."""
        found = self._range(self.keys.block(height))
        if found is None:
            raise BlockNotFound(f"no block at height {height} under etcd prefix "
                                f"{self.keys.prefix!r}")
        try:
            return decode_block(found[0])
        except BlockFormatError as error:
            raise ChainCorrupted(f"etcd block {height} under {self.keys.prefix!r} is "
                                 f"corrupt: {error}") from error

    def transaction_at(self, leaf_index: int) -> StoredTransaction:
        """Return the transaction at log position `leaf_index`."""
        with self._index_lock:
            self._sync_index()
            if not 0 <= leaf_index < len(self._leaf_hashes):
                raise BlockNotFound(f"no transaction at leaf index {leaf_index} under etcd "
                                    f"prefix {self.keys.prefix!r}")
            height = bisect.bisect_right(self._first_leaves, leaf_index)
            first = self._first_leaves[height - 1]
        return self.block_at(height).transactions[leaf_index - first]

    def find_transaction(self, tx_hash: bytes) -> StoredTransaction | None:
        """Return the transaction with `tx_hash`, or None if it is not stored."""
        with self._index_lock:
            self._sync_index()
            leaf_index = self._leaf_by_tx_hash.get(tx_hash)
        return None if leaf_index is None else self.transaction_at(leaf_index)

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the leaf hashes of log positions [start, end) in order."""
        with self._index_lock:
            self._sync_index()
            if end <= start:
                return []
            if start < 0 or end > len(self._leaf_hashes):
                raise BlockNotFound(f"leaf hashes [{start}, {end}) are not all stored under "
                                    f"etcd prefix {self.keys.prefix!r}")
            return self._leaf_hashes[start:end]

    def _sync_index(self) -> None:
        # NOTE: the index keeps every leaf hash in memory (32 bytes each plus a
        # dict entry); query-heavy nodes should serve lookups from a follower's
        # SQLite mirror instead.
        while True:
            next_height = len(self._first_leaves) + 1
            page = self._call("/v3/kv/range", {
                "key": encode_bytes(self.keys.block(next_height)),
                "range_end": encode_bytes(self.keys.blocks_end),
                "limit": str(INDEX_PAGE_BLOCKS),
            })
            for kv in page.get("kvs", []):
                if self.keys.parse_block(decode_bytes(kv.get("key"))) != next_height:
                    return
                try:
                    block = decode_block(decode_bytes(kv.get("value")))
                except BlockFormatError as error:
                    raise ChainCorrupted(f"etcd block {next_height} under "
                                         f"{self.keys.prefix!r} is corrupt: {error}") from error
                self._index_block(block)
                next_height += 1
            if not page.get("more"):
                return

    def _index_block(self, block: StoredBlock) -> None:
        self._first_leaves.append(len(self._leaf_hashes))
        for tx in block.transactions:
            self._leaf_by_tx_hash.setdefault(tx.tx_hash, tx.leaf_index)
            self._leaf_hashes.append(tx.leaf_hash)

    def close(self) -> None:
        """Close the connections to the cluster; later calls raise StoreUnavailable."""
        self._gateway.close()
        logger.info("closed etcd chain store prefix=%s", self.keys.prefix)


def _range_value(response: Json) -> bytes:
    kvs = response.get("response_range", {}).get("kvs", [])
    return decode_bytes(kvs[0].get("value")) if kvs else b""


def _check_link(chain_id: str, head: ChainHead | None, block: StoredBlock) -> None:
    """Raise StoreConflict unless `block` extends `head`, and AppendConflict for a lost race."""
    expected_height = 1 if head is None else head.height + 1
    expected_prev = bytes.fromhex(chain_id) if head is None else head.block_hash
    first_leaf = 0 if head is None else head.log_size
    if head is not None and block.height <= head.height:
        raise AppendConflict(f"block height {block.height} is taken: the etcd head is at "
                             f"height {head.height}; rebase and seal again", head)
    if block.height != expected_height:
        raise StoreConflict(f"block height {block.height} is not the next height "
                            f"{expected_height}; reload the head and rebuild the block")
    if block.prev_hash != expected_prev:
        raise StoreConflict(f"block {block.height} prev_hash {block.prev_hash.hex()} does not "
                            f"match the head hash {expected_prev.hex()}")
    if not block.transactions:
        raise StoreConflict(f"block {block.height} has no transactions")
    for offset, tx in enumerate(block.transactions):
        position = (tx.leaf_index, tx.height, tx.tx_index)
        expected = (first_leaf + offset, block.height, offset)
        if position != expected:
            raise StoreConflict(f"transaction {offset} of block {block.height} has position "
                                f"{position}, expected {expected}")
