"""Measure the consent chain in-process on SQLite: group commit, full verification, receipt size.

1. Batched decisions: one Ledger on a SqliteChainStore (WAL,
   `synchronous=FULL`) seals blocks of up to `--block-size` transactions.
   `--threads` submitters, each a different hospital member with its own
   seq counter, feed `Ledger.submit` with access decisions and keep up to
   `--in-flight` futures open. The run is repeated twice on fresh stores:
   once with every transaction signed before the clock starts (the ledger
   alone), once with the submitters signing inside the timed loop (what a
   node pays per decision). It prints transactions per second and the
   block sizes.
2. Full verification: `verify_chain` replays the chain from the first run
   from its genesis, on one thread, and the script prints transactions per
   second.
3. Receipt size: receipts for the transaction at leaf 0 in trees of
   `--tree-sizes` leaves. Leaf 0 is a real committed transaction, and the
   other leaves are SHA-256 digests of their index, so a tree of a million
   leaves takes seconds to build rather than a chain of a million
   transactions. Every receipt is checked with `verify_receipt` before its
   size is printed. One receipt built by
   `Ledger.receipt` from the store checks the construction.
4. Per-transaction costs: the median time of each step the ledger and the
   verifier repeat for every transaction, on one decision.

Run: python -m benchmarks.chain_throughput --help
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from benchmarks.environment import describe_machine, median_microseconds
from consent_chain.canonical import canonical_bytes, decode_canonical
from consent_chain.checkpoints import RECEIPT_VERSION, sign_checkpoint, trusted_keys, verify_receipt
from consent_chain.genesis import Genesis, make_genesis, member_entry
from consent_chain.ledger import Inclusion, Ledger
from consent_chain.merkle import inclusion_proof, root_hash
from consent_chain.store import ChainStore
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.transactions import (
    SignedTransaction,
    decode_transaction,
    forget_verified_signatures,
    has_valid_signature,
    sign_transaction,
    validate_body,
)
from consent_chain.verify import verify_chain
from tests.consent_chain.builders import (
    DATASET_ID,
    GENESIS_TIME,
    SUBMIT_POLICY,
    TxFactory,
    access_decision,
    consent,
    signer_for,
)

PROPOSER = "hospital-0"
TARGET_COMMIT_PER_SECOND = 5_000
TARGET_VERIFY_PER_SECOND = 10_000


@dataclass(frozen=True)
class CommitRun:
    """One batched-submission run: how many transactions, how long, and the block sizes."""

    label: str
    transactions: int
    seconds: float
    block_sizes: list[int]

    def summary(self) -> str:
        """Return one line with the rate and the block size statistics."""
        sizes = self.block_sizes
        return (f"{self.label}: {self.transactions / self.seconds:,.0f} tx/s, "
                f"{self.transactions:,} tx in {self.seconds:.2f} s, {len(sizes)} blocks, "
                f"tx per block mean {statistics.mean(sizes):.0f} median "
                f"{statistics.median(sizes):.0f} min {min(sizes)} max {max(sizes)}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.chain_throughput", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--transactions", type=int, default=20_000,
                        help="access decisions per submission run")
    parser.add_argument("--threads", type=int, default=8, help="submitter threads")
    parser.add_argument("--block-size", type=int, default=500,
                        help="max_block_transactions of the ledger")
    parser.add_argument("--delay-ms", type=int, default=20, help="max_block_delay_ms of the ledger")
    parser.add_argument("--in-flight", type=int, default=250,
                        help="open futures per submitter before it waits for the oldest")
    parser.add_argument("--tree-sizes", type=int, nargs="+", default=[100, 10_000, 1_000_000],
                        help="tree sizes for the receipt size measurement")
    parser.add_argument("--skip-signed", action="store_true",
                        help="skip the run that signs inside the timed loop")
    return parser.parse_args(argv)


def hospital_genesis(hospitals: int) -> Genesis:
    """Return a genesis with `hospitals` hospital members; hospital-0 proposes blocks."""
    members = [
        member_entry(f"hospital-{index}", f"Hospital {index}", "hospital",
                     [signer_for(f"hospital-{index}").public_key])
        for index in range(hospitals)
    ]
    return make_genesis(name="consentry-bench", time=GENESIS_TIME, members=members,
                        submit=SUBMIT_POLICY, proposers=[PROPOSER])


def open_ledger(path: Path, genesis: Genesis, args: argparse.Namespace) -> Ledger:
    """Open a ledger on a new SQLite store and register DATASET_ID on it."""
    store = SqliteChainStore(path, genesis.chain_id)
    ledger = Ledger(store, genesis, proposer=PROPOSER, signer=signer_for(PROPOSER),
                    max_block_transactions=args.block_size, max_block_delay_ms=args.delay_ms)
    register = TxFactory(genesis.chain_id).make(
        PROPOSER, "dataset_register", {"dataset_id": DATASET_ID, "consent": consent()})
    ledger.submit_and_wait(register)
    return ledger


def _decision_maker(ledger: Ledger, member: int) -> tuple[TxFactory, int]:
    name = f"hospital-{member}"
    factory = TxFactory(ledger.genesis.chain_id)
    factory.next_seq[name] = ledger.next_seq(name)
    return factory, member * 10_000_000


def _submit_all(ledger: Ledger, make: list[SignedTransaction] | TxFactory, member: int,
                count: int, first_number: int, in_flight: int) -> None:
    """Submit `count` decisions of one member, keeping at most `in_flight` futures open."""
    pending: deque[Future[Inclusion]] = deque()
    for offset in range(count):
        if isinstance(make, list):
            tx = make[offset]
        else:
            tx = make.make(f"hospital-{member}", "access_decision",
                           access_decision(first_number + offset))
        pending.append(ledger.submit(tx))
        if len(pending) >= in_flight:
            pending.popleft().result(60)
    for future in pending:
        future.result(60)


def run_commits(ledger: Ledger, args: argparse.Namespace, presigned: bool) -> CommitRun:
    """Feed the ledger from `args.threads` submitters and time until the last commit."""
    per_thread = args.transactions // args.threads
    sources: list[list[SignedTransaction] | TxFactory] = []
    for member in range(args.threads):
        factory, first = _decision_maker(ledger, member)
        if presigned:
            sources.append([factory.make(f"hospital-{member}", "access_decision",
                                         access_decision(first + offset))
                            for offset in range(per_thread)])
        else:
            sources.append(factory)
    start_height = ledger.committed.height
    workers = [
        threading.Thread(target=_submit_all, args=(
            ledger, sources[member], member, per_thread, member * 10_000_000, args.in_flight))
        for member in range(args.threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    sizes = [len(ledger.store.block_at(height).transactions)
             for height in range(start_height + 1, ledger.committed.height + 1)]
    label = "presigned" if presigned else "signed in the loop"
    return CommitRun(label, per_thread * args.threads, elapsed, sizes)


def time_verification(store: ChainStore, genesis: Genesis) -> None:
    """Run verify_chain over the whole store and print its rate."""
    started = time.perf_counter()
    # Verify from scratch, as an auditor's process would, not with the
    # signatures this process already checked while building the chain.
    forget_verified_signatures()
    report = verify_chain(store, genesis)
    elapsed = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"the benchmark chain fails verification: {report.failure}")
    rate = report.log_size / elapsed
    verdict = "met" if rate >= TARGET_VERIFY_PER_SECOND else "missed"
    print(f"verify_chain: {report.log_size:,} tx in {report.blocks_verified} blocks, "
          f"{elapsed:.2f} s, {rate:,.0f} tx/s on one thread "
          f"(target {TARGET_VERIFY_PER_SECOND:,} tx/s: {verdict})")


def synthetic_receipt(ledger: Ledger, tree_size: int) -> bytes:
    """Build a receipt for leaf 0 in a tree of `tree_size` leaves, all but leaf 0 synthetic."""
    first = ledger.store.transaction_at(0)
    leaves = [first.leaf_hash]
    leaves.extend(hashlib.sha256(index.to_bytes(8, "big")).digest()
                  for index in range(1, tree_size))
    head = ledger.committed
    checkpoint = sign_checkpoint(
        signer_for(PROPOSER), member=PROPOSER, chain_id=ledger.genesis.chain_id,
        tree_size=tree_size, root_hash=root_hash(leaves), block_height=head.height,
        block_hash=head.block_hash, time=head.time,
    )
    receipt = {
        "version": RECEIPT_VERSION,
        "transaction": decode_canonical(first.envelope),
        "leaf_index": 0,
        "block_height": first.height,
        "inclusion_proof": [node.hex() for node in inclusion_proof(leaves, 0)],
        "checkpoint": checkpoint.to_json(),
    }
    return canonical_bytes(receipt)


def report_receipts(ledger: Ledger, tree_sizes: list[int]) -> None:
    """Print receipt and checkpoint sizes, checking every receipt with verify_receipt."""
    keys = trusted_keys(ledger.committed.state)
    chain_id = ledger.genesis.chain_id
    first = ledger.store.transaction_at(0)
    print(f"transaction envelope at leaf 0: {len(first.envelope):,} bytes")
    checkpoint = ledger.checkpoint()
    print(f"checkpoint JSON: {len(canonical_bytes(checkpoint.to_json())):,} bytes "
          f"(tree size {checkpoint.tree_size:,})")
    stored = ledger.receipt(first.tx_hash, checkpoint)
    proof = verify_receipt(stored, keys, chain_id)
    print(f"receipt from the store, tree size {proof.checkpoint.tree_size:,}: "
          f"{len(stored):,} bytes")
    for size in tree_sizes:
        started = time.perf_counter()
        data = synthetic_receipt(ledger, size)
        verify_receipt(data, keys, chain_id)
        path_length = len(decode_canonical(data)["inclusion_proof"])
        print(f"receipt, tree size {size:,}: {len(data):,} bytes, {path_length} proof hashes "
              f"(built in {time.perf_counter() - started:.1f} s)")


def _first_check(tx: SignedTransaction, public_key: bytes) -> bool:
    forget_verified_signatures()
    return has_valid_signature(tx, public_key)


def report_step_costs(ledger: Ledger, repeats: int = 2_000) -> None:
    """Print the median cost of each per-transaction step on one stored decision."""
    tx = decode_transaction(ledger.store.transaction_at(1).envelope)
    signer = signer_for(tx.member)
    public_key = signer.public_key
    body = tx.body
    steps: dict[str, Callable[[], object]] = {
        "sign_transaction (validate, canonical body, Ed25519 sign)": lambda: sign_transaction(
            signer, chain_id=body["chain_id"], tx_type=body["type"], member=body["member"],
            seq=body["seq"], time=body["time"], payload=body["payload"]),
        "validate_body (pydantic)": lambda: validate_body(body),
        "canonical_bytes of the body": lambda: canonical_bytes(body),
        "has_valid_signature, first check (Ed25519 verify)": lambda: _first_check(tx, public_key),
        "has_valid_signature, repeated (cache lookup)":
            lambda: has_valid_signature(tx, public_key),
        "decode_transaction (JSON parse, canonical check, pydantic)":
            lambda: decode_transaction(tx.envelope),
    }
    for name, call in steps.items():
        print(f"per tx: {name}: {median_microseconds(call, repeats):.0f} µs")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for line in describe_machine():
        print(line)
    genesis = hospital_genesis(args.threads)
    with tempfile.TemporaryDirectory(prefix="consentry-chain-bench-") as temp:
        ledger = open_ledger(Path(temp, "presigned.sqlite"), genesis, args)
        presigned = run_commits(ledger, args, presigned=True)
        print(presigned.summary(), flush=True)
        runs = [presigned]
        if not args.skip_signed:
            other = open_ledger(Path(temp, "signed.sqlite"), genesis, args)
            runs.append(run_commits(other, args, presigned=False))
            print(runs[-1].summary(), flush=True)
            other.close()
        time_verification(ledger.store, genesis)
        report_receipts(ledger, args.tree_sizes)
        report_step_costs(ledger)
        ledger.close()
    for run in runs:
        rate = run.transactions / run.seconds
        verdict = "met" if rate >= TARGET_COMMIT_PER_SECOND else "missed"
        print(f"target {TARGET_COMMIT_PER_SECOND:,} tx/s, {run.label}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
