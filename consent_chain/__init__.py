"""Consentry's consent chain: a permissioned, hash-linked, signed ledger of consent and access.

The package is framework-free. `ledger.Ledger` accepts signed transactions and
seals them into blocks in a `store.ChainStore`. `verify.verify_chain` re-checks
a stored chain from its genesis document. `checkpoints` issues signed tree
heads and receipts that verify offline. docs/consent-chain.md defines the format.
"""
