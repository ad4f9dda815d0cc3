"""Build blocks outside the ledger, signed by any key, for the forged-block tests."""

from __future__ import annotations

from adapters.chain.block_codec import encode_block
from adapters.chain.etcd_gateway import EtcdGateway, encode_bytes
from adapters.chain.etcd_keys import ChainKeys
from consent_chain.blocks import build_header, seal_header
from consent_chain.crypto import Signer
from consent_chain.merkle import root_hash
from consent_chain.store import StoredBlock, StoredTransaction
from consent_chain.transactions import SignedTransaction
from consent_chain.verify import Replay


def forge_block(replay: Replay, txs: list[SignedTransaction], *, proposer: str,
                key_id: str, signer: Signer, prev_hash: bytes | None = None) -> StoredBlock:
    """Seal `txs` as the block after `replay`, claiming `proposer`/`key_id`, signed by `signer`."""
    frontier = replay.frontier.copy()
    for tx in txs:
        frontier.append(tx.leaf_hash)
    height, parent = replay.height + 1, prev_hash or replay.block_hash
    sealed = seal_header(signer, build_header(
        chain_id=replay.state.chain_id, height=height, prev_hash=parent, time=replay.time + 1,
        proposer=proposer, key_id=key_id, config_hash=replay.state.config_hash(),
        tx_count=len(txs), tx_root=root_hash([tx.leaf_hash for tx in txs]),
        log_size=frontier.size, log_root=frontier.root(),
    ))
    stored = tuple(
        StoredTransaction(replay.frontier.size + index, height, index, tx.tx_hash,
                          tx.leaf_hash, tx.envelope)
        for index, tx in enumerate(txs)
    )
    return StoredBlock(height, sealed.block_hash, parent, sealed.encoded, stored)


def put_block(endpoints: list[str], prefix: str, block: StoredBlock) -> None:
    """Write `block` straight under its key in etcd, bypassing every store check."""
    gateway = EtcdGateway(endpoints)
    try:
        gateway.call("/v3/kv/put", {
            "key": encode_bytes(ChainKeys(prefix).block(block.height)),
            "value": encode_bytes(encode_block(block)),
        })
    finally:
        gateway.close()
