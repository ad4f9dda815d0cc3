"""Print the worked example in docs/consent-chain.md from a real, deterministic chain.

Run `python -m tests.consent_chain.worked_example` from the repository root;
test_worked_example checks that the document shows exactly this output.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from consent_chain.blocks import decode_header
from consent_chain.canonical import canonical_bytes, decode_canonical
from consent_chain.crypto import TX_DOMAIN
from consent_chain.ledger import Ledger
from consent_chain.store_sqlite import SqliteChainStore
from tests.consent_chain.builders import GENESIS_TIME, TxFactory, build_genesis, signer_for

BLOCK_TIME = GENESIS_TIME + 60_000


def render() -> str:
    """Build a one-block chain in a temporary directory and return the example text."""
    genesis = build_genesis(("hospital-a", "research-b"))
    proposer = signer_for("hospital-a")
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteChainStore(Path(directory) / "chain.sqlite", genesis.chain_id)
        ledger = Ledger(store, genesis, proposer="hospital-a", signer=proposer,
                        max_block_delay_ms=60_000, clock=lambda: BLOCK_TIME)
        txs = TxFactory(genesis.chain_id)
        registration, decision = txs.register_dataset(), txs.decision(1)
        futures = [ledger.submit(registration), ledger.submit(decision)]
        ledger.flush()
        for future in futures:
            future.result(10)
        block = store.block_at(1)
        receipt = decode_canonical(ledger.receipt(decision.tx_hash))
        ledger.close()
        store.close()
    sealed = decode_header(block.header)
    lines = [
        "hospital-a seed        = SHA-256(\"consentry-test/hospital-a\")",
        f"hospital-a public key  = {proposer.public_key.hex()}",
        f"hospital-a key_id      = {proposer.key_id}",
        f"genesis (canonical)    = {genesis.encoded.decode()}",
        f"chain_id               = {genesis.chain_id}",
        f"tx 1 body (canonical)  = {canonical_bytes(decision.body).decode()}",
        f"tx 1 signing input     = {TX_DOMAIN!r} + body bytes",
        f"tx 1 signature         = {decision.signature.hex()}",
        f"tx 0 leaf hash         = {registration.leaf_hash.hex()}",
        f"tx 1 leaf hash         = {decision.leaf_hash.hex()}",
        f"tx 1 tx_hash           = {decision.tx_hash.hex()}",
        f"block 1 header         = {canonical_bytes(sealed.header).decode()}",
        f"block 1 signature      = {sealed.signature.hex()}",
        f"block 1 hash           = {sealed.block_hash.hex()}",
        f"tx 1 inclusion proof   = {receipt['inclusion_proof']}",
        f"checkpoint             = {canonical_bytes(receipt['checkpoint']).decode()}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
