"""One institution's chain node: key files, genesis, SQLite store and ledger in one directory.

The embedded default is a single-member chain. On first start `ChainNode.open`
creates, in the node directory, the institution's Ed25519 key
(`institution.key`), a genesis document naming that institution as the only
member and block proposer (`genesis.json`), the pseudonym secret
(`pseudonym.key`) and the store (`chain.sqlite`). Later starts load the same
files and refuse a genesis that names another institution.

With `genesis_file` set, the node joins a chain shared by several
institutions instead: it copies that genesis into the directory and checks
that its own key belongs to `institution_id`. With `store="etcd"` the blocks
live in etcd (see consent_chain.node_etcd).

Only this node signs, but several processes may write the store (the server
and `consentry consent ...` commands). `submit` therefore catches the ledger
up when another process has extended the store, and retries once a concurrent
append wins the race.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from consent_chain.checkpoints import Checkpoint, TrustedKey, trusted_keys
from consent_chain.crypto import Signer, key_id_for, participant_pseudonym, requester_pseudonym
from consent_chain.errors import ChainError, InvalidGenesis, StoreConflict
from consent_chain.genesis import Genesis, load_genesis, make_genesis, member_entry
from consent_chain.ledger import Inclusion, Ledger
from consent_chain.models import PAYLOAD_MODELS
from consent_chain.state import ChainState
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.transactions import SignedTransaction, sign_transaction

logger = logging.getLogger(__name__)

CUSTODIAN_ROLE = "custodian"
KEY_FILE = "institution.key"
GENESIS_FILE = "genesis.json"
PSEUDONYM_FILE = "pseudonym.key"
STORE_FILE = "chain.sqlite"
# Present in the directory of a node whose blocks live in etcd. Its
# chain.sqlite is then only a mirror, so no SQLite ledger may write to it.
ETCD_MARKER_FILE = "etcd-node.json"
SUBMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class NodeSettings:
    """Directory, institution identity and group-commit limits of one node."""

    directory: Path
    institution_id: str
    institution_name: str
    max_block_transactions: int = 100
    max_block_delay_ms: int = 0
    genesis_file: Path | None = None
    store: Literal["sqlite", "etcd"] = "sqlite"
    etcd_endpoints: tuple[str, ...] = ("http://127.0.0.1:2379",)
    etcd_prefix: str = "consentry/chain"
    etcd_ca_file: Path | None = None
    etcd_cert_file: Path | None = None
    etcd_key_file: Path | None = None
    finality: Literal["proposer", "quorum"] = "proposer"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def read_private_file(path: Path, size: int) -> bytes | None:
    """Return the bytes of a 0600 secret file, or None when it does not exist."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ChainError(f"{path} is readable by other users; run chmod 600 {path}")
    data = path.read_bytes()
    if len(data) != size:
        raise ChainError(f"{path} has {len(data)} bytes, expected {size}; restore it from "
                         "a backup, since a new key would start a different chain")
    return data


def write_private_file(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 and write `data`; fail if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def load_or_create_secret(path: Path) -> bytes:
    """Return the 32-byte secret at `path`, creating a random one (mode 0600) if absent."""
    existing = read_private_file(path, 32)
    if existing is not None:
        return existing
    secret = secrets.token_bytes(32)
    write_private_file(path, secret)
    logger.info("created secret file %s", path)
    return secret


def load_or_create_genesis(settings: NodeSettings, signer: Signer, *, pin: bool = True
                           ) -> Genesis:
    """Load the pinned genesis file, or write a single-institution genesis on first start.

    With `pin` false, a shared genesis is checked but not yet copied into
    the node directory, so a caller can check the chain's store first.
    """
    path = settings.directory / GENESIS_FILE
    if settings.genesis_file is not None:
        return pin_shared_genesis(settings, signer, pin=pin)
    if path.exists():
        genesis = load_genesis(path.read_bytes())
        proposers = genesis.model.policy.block.proposers
        if settings.institution_id not in proposers:
            raise ChainError(
                f"{path} names block proposers {proposers}, not chain.institution_id "
                f"{settings.institution_id!r}; set chain.institution_id to match the genesis"
            )
        return genesis
    member = member_entry(settings.institution_id, settings.institution_name, CUSTODIAN_ROLE,
                          [signer.public_key])
    genesis = make_genesis(
        name=f"consentry/{settings.institution_id}",
        time=_now_ms(),
        members=[member],
        submit={tx_type: [CUSTODIAN_ROLE] for tx_type in PAYLOAD_MODELS},
        proposers=[settings.institution_id],
    )
    write_private_file(path, genesis.encoded)
    os.chmod(path, 0o644)
    logger.info("created genesis %s chain_id=%s", path, genesis.chain_id)
    return genesis


def pin_shared_genesis(settings: NodeSettings, signer: Signer, *, pin: bool = True) -> Genesis:
    """Load `settings.genesis_file`, check this node's key is a member's, and pin a copy.

    The copy in the node directory is what `consentry chain verify` reads. A
    directory already pinned to another chain is rejected rather than replaced.
    """
    assert settings.genesis_file is not None
    source = settings.genesis_file
    try:
        data = source.read_bytes()
    except OSError as error:
        raise InvalidGenesis(f"cannot read chain.genesis_file {source}: {error}") from error
    genesis = load_genesis(data)
    check_member_key(genesis, settings.institution_id, signer.public_key, source)
    pinned = settings.directory / GENESIS_FILE
    if not pinned.exists():
        if not pin:
            return genesis
        write_private_file(pinned, data)
        os.chmod(pinned, 0o644)
        logger.info("pinned shared genesis %s chain_id=%s", source, genesis.chain_id)
    elif pinned.read_bytes() != data:
        pinned_id = load_genesis(pinned.read_bytes()).chain_id
        raise InvalidGenesis(f"{settings.directory} belongs to chain {pinned_id}, but "
                             f"chain.genesis_file {source} defines chain {genesis.chain_id}; "
                             "use a fresh state directory for the new chain")
    return genesis


def check_member_key(genesis: Genesis, member: str, public_key: bytes, source: Path) -> None:
    """Raise InvalidGenesis unless `public_key` is a key of `member` and it may propose."""
    entry = next((item for item in genesis.model.members if item.id == member), None)
    if entry is None:
        known = ", ".join(item.id for item in genesis.model.members)
        raise InvalidGenesis(f"{source} has no member {member!r} (members: {known}); set "
                             "chain.institution_id to this institution's member id")
    key_id = key_id_for(public_key)
    if key_id not in {key.key_id for key in entry.keys}:
        raise InvalidGenesis(f"{source} lists no key {key_id} for member {member!r}, so this "
                             "node's institution.key is not that member's key; put the "
                             "public key from `consentry chain keygen` into the genesis")
    if member not in genesis.model.policy.block.proposers:
        raise InvalidGenesis(f"member {member!r} is not a block proposer in {source}; "
                             "a node must propose blocks, so list it with --proposers")


class ChainNode:
    """The local institution's view of the chain: it signs, submits and proves transactions."""

    def __init__(self, settings: NodeSettings, genesis: Genesis, signer: Signer,
                 pseudonym_secret: bytes, store: SqliteChainStore) -> None:
        self.settings = settings
        self.genesis = genesis
        self.store = store
        self._signer = signer
        self._pseudonym_secret = pseudonym_secret
        self._lock = threading.Lock()
        self._ledger = self._open_ledger()

    @classmethod
    def open(cls, settings: NodeSettings) -> ChainNode:
        """Open the node in `settings.directory`, creating its keys and genesis on first start."""
        if settings.store == "etcd":
            from consent_chain.node_etcd import EtcdChainNode

            return EtcdChainNode.open_etcd(settings)
        directory = settings.directory
        _reject_etcd_mirror(directory)
        directory.mkdir(parents=True, exist_ok=True)
        signer = Signer.from_seed(load_or_create_secret(directory / KEY_FILE))
        genesis = load_or_create_genesis(settings, signer)
        secret = load_or_create_secret(directory / PSEUDONYM_FILE)
        store = SqliteChainStore(directory / STORE_FILE, genesis.chain_id)
        try:
            return cls(settings, genesis, signer, secret, store)
        except BaseException:
            store.close()
            raise

    @property
    def member(self) -> str:
        """Member id of the local institution."""
        return self.settings.institution_id

    @property
    def chain_id(self) -> str:
        """Hex chain id (SHA-256 of the genesis)."""
        return self.genesis.chain_id

    @property
    def state(self) -> ChainState:
        """Chain state after the last committed block this process has loaded."""
        return self._ledger.committed.state

    def trusted_keys(self) -> dict[str, TrustedKey]:
        """Return every member key on the chain, for verifying receipts."""
        return trusted_keys(self.state)

    def participant(self, participant_id: str) -> str:
        """Return the on-chain pseudonym of a participant id."""
        return participant_pseudonym(self._pseudonym_secret, participant_id)

    def requester(self, issuer: str, subject: str) -> str:
        """Return the on-chain pseudonym of a Passport `iss` and `sub`."""
        return requester_pseudonym(self._pseudonym_secret, issuer, subject)

    def refresh(self) -> None:
        """Apply the blocks another process has appended to the store, if any."""
        with self._lock:
            self._refresh_locked()

    def submit(self, tx_type: str, payload: dict[str, Any], timeout: float = 30.0) -> Inclusion:
        """Sign a transaction of this institution and return once its block is durable.

        Raises InvalidTransaction when the chain rules reject it, and StoreUnavailable,
        StoreConflict or TimeoutError when it could not be committed.
        """
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            with self._lock:
                self._refresh_locked()
                future = self._ledger.submit(self._sign(tx_type, payload))
            try:
                return future.result(timeout)
            except StoreConflict:
                if attempt == SUBMIT_ATTEMPTS:
                    raise
                logger.info("another process appended a block first; resubmitting %s", tx_type)
        raise AssertionError("unreachable")

    def checkpoint(self) -> Checkpoint:
        """Sign a checkpoint of the committed log."""
        self.refresh()
        return self._ledger.checkpoint()

    def receipt(self, tx_hash: bytes) -> bytes:
        """Return canonical receipt bytes for a committed transaction under a new checkpoint."""
        return self._ledger.receipt(tx_hash, self.checkpoint())

    def close(self) -> None:
        """Commit what is pending, stop the ledger and close the store."""
        with self._lock:
            self._ledger.close()
            self.store.close()

    def _sign(self, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        """Sign the member's next transaction, numbered after the ledger's pending ones."""
        return sign_transaction(
            self._signer, chain_id=self.chain_id, tx_type=tx_type, member=self.member,
            seq=self._ledger.next_seq(self.member), time=_now_ms(), payload=payload,
        )

    def _open_ledger(self) -> Ledger:
        return Ledger(
            self.store, self.genesis, proposer=self.member, signer=self._signer,
            max_block_transactions=self.settings.max_block_transactions,
            max_block_delay_ms=self.settings.max_block_delay_ms,
        )

    def _refresh_locked(self) -> None:
        head = self.store.head()
        if head is None or head.block_hash == self._ledger.committed.block_hash:
            return
        # Our own sealer may have appended a block it has not recorded yet.
        self._ledger.flush()
        head = self.store.head()
        if head is None or head.block_hash == self._ledger.committed.block_hash:
            return
        logger.info("chain store extended by another process; catching up to height %d",
                    head.height)
        self._ledger.catch_up()


def _reject_etcd_mirror(directory: Path) -> None:
    """Raise ChainError if `directory` belongs to an etcd node.

    A SQLite ledger there would append to the etcd node's local mirror: the
    block would never reach etcd, the other institutions would not see it,
    and the node's follower would stop at the fork.
    """
    marker = directory / ETCD_MARKER_FILE
    if not marker.is_file():
        return
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = {}
    prefix = recorded.get("etcd_prefix", "?") if isinstance(recorded, dict) else "?"
    raise ChainError(
        f"the chain directory {directory} belongs to a node whose blocks live in etcd "
        f"(prefix {prefix!r}), but these settings have chain.store sqlite; pass the node's "
        "own settings (chain.store etcd and its endpoints) with --config FILE or "
        "CONSENTRY_CHAIN__* variables"
    )
