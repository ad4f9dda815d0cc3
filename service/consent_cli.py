"""The `consentry chain ...` and `consentry consent ...` commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from consent_chain.checkpoints import verify_receipt
from consent_chain.consents import build_consent, register_dataset, update_consent, withdraw
from consent_chain.errors import ChainError
from consent_chain.genesis import load_genesis
from consent_chain.node import GENESIS_FILE, STORE_FILE
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain
from service.config import Settings, load_settings
from service.consent_services import ConsentServices, chain_directory, open_consent_services

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[ConsentServices]:
    consent = open_consent_services(_settings(args))
    try:
        yield consent
    finally:
        consent.close()


def _fail(message: str) -> int:
    print(f"consentry: {message}", file=sys.stderr)
    return 1


def chain_verify(args: argparse.Namespace) -> int:
    """Re-verify the stored chain from the pinned genesis; exit 1 naming the first bad block."""
    directory = chain_directory(_settings(args))
    genesis_path = directory / GENESIS_FILE
    if not genesis_path.is_file():
        return _fail(f"no consent chain at {directory}: {genesis_path} is missing")
    try:
        genesis = load_genesis(genesis_path.read_bytes())
        store = SqliteChainStore(directory / STORE_FILE, genesis.chain_id)
        try:
            report = verify_chain(store, genesis)
        finally:
            store.close()
    except ChainError as error:
        return _fail(f"cannot read the consent chain: {error}")
    if report.failure is not None:
        return _fail(f"chain verification failed at {report.failure}")
    print(f"chain {genesis.chain_id} verified: {report.blocks_verified} blocks, "
          f"{report.log_size} transactions, log root {report.log_root.hex()}")
    return 0


def chain_receipt(args: argparse.Namespace) -> int:
    """Print the receipt of a transaction after checking it against the chain's keys."""
    tx_hash = args.tx_hash.lower()
    try:
        with _open(args) as consent:
            data = consent.node.receipt(bytes.fromhex(tx_hash))
            verify_receipt(data, consent.node.trusted_keys(), consent.node.chain_id)
    except ValueError:
        return _fail(f"transaction hash {args.tx_hash!r} is not 64 hex digits")
    except ChainError as error:
        return _fail(f"no receipt for {tx_hash}: {error}")
    if args.output is not None:
        args.output.write_bytes(data)
    else:
        print(data.decode("utf-8"))
    return 0


def _consent_from(args: argparse.Namespace) -> dict[str, object]:
    return build_consent(args.permission, modifiers=args.modifier, disease_ids=args.disease,
                         not_before=args.not_before, expires=args.expires)


def consent_register(args: argparse.Namespace) -> int:
    """Register a dataset with its consent, URL and object prefixes."""
    return _run_change(args, lambda consent: register_dataset(
        consent.node, consent.catalog, args.dataset, args.url, _consent_from(args), args.objects))


def consent_update(args: argparse.Namespace) -> int:
    """Replace a dataset's consent with a new version."""
    return _run_change(args, lambda consent: update_consent(
        consent.node, consent.catalog, args.dataset, _consent_from(args), args.url,
        args.objects or ()))


def consent_withdraw(args: argparse.Namespace) -> int:
    """Withdraw a dataset's consent, or one participant's."""
    return _run_change(args, lambda consent: withdraw(
        consent.node, consent.catalog, args.dataset, args.participant, args.objects or ()))


def _run_change(args: argparse.Namespace, change: Callable[[ConsentServices], object]) -> int:
    try:
        with _open(args) as consent:
            inclusion = change(consent)
    except (ChainError, ValueError) as error:
        return _fail(str(error))
    tx_hash = getattr(inclusion, "tx_hash", b"").hex()
    print(f"committed {args.consent_command} for dataset {args.dataset}: tx {tx_hash}")
    return 0


def _add_consent_options(parser: argparse.ArgumentParser, register: bool) -> None:
    parser.add_argument("--url", required=register,
                        help="dataset URL that ControlledAccessGrants visas name")
    parser.add_argument("--permission", required=True,
                        help="DUO permission: NRES, GRU, HMB, DS or POA (or a DUO:0000xxx id)")
    parser.add_argument("--disease", action="append", default=[], metavar="MONDO:NNNNNNN",
                        help="MONDO disease id, required with DS; repeat for several")
    parser.add_argument("--modifier", action="append", default=[],
                        help="DUO modifier such as NPU, IRB or PUB; repeat for several")
    parser.add_argument("--objects", nargs="+", required=register, metavar="PREFIX",
                        help="object id prefixes that belong to the dataset")
    parser.add_argument("--not-before", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="first day (UTC) on which the consent is in effect")
    parser.add_argument("--expires", type=date.fromisoformat, metavar="YYYY-MM-DD",
                        help="first day (UTC) on which the consent is no longer in effect")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `chain` and `consent` command groups to the `consentry` parser."""
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", type=Path, help="YAML settings file")

    chain = commands.add_parser("chain", help="inspect and verify the consent chain")
    chain_commands = chain.add_subparsers(dest="chain_command", required=True)
    verify = chain_commands.add_parser("verify", parents=[config],
                                       help="re-verify every block from the genesis")
    verify.set_defaults(handler=chain_verify)
    receipt = chain_commands.add_parser("receipt", parents=[config],
                                        help="print the receipt of a transaction")
    receipt.add_argument("tx_hash", help="transaction hash (X-Consent-Decision header value)")
    receipt.add_argument("--output", type=Path, help="write the receipt to this file")
    receipt.set_defaults(handler=chain_receipt)

    consent = commands.add_parser("consent", help="register, update and withdraw consent")
    consent_commands = consent.add_subparsers(dest="consent_command", required=True)
    register = consent_commands.add_parser("register", parents=[config],
                                           help="register a dataset and its consent")
    register.add_argument("--dataset", required=True, help="dataset id, such as EGAD00001000001")
    _add_consent_options(register, register=True)
    register.set_defaults(handler=consent_register)
    update = consent_commands.add_parser("update", parents=[config],
                                         help="replace a dataset's consent (next version)")
    update.add_argument("--dataset", required=True, help="registered dataset id")
    _add_consent_options(update, register=False)
    update.set_defaults(handler=consent_update)
    withdrawal = consent_commands.add_parser("withdraw", parents=[config],
                                             help="withdraw a dataset or one participant")
    withdrawal.add_argument("--dataset", required=True, help="registered dataset id")
    withdrawal.add_argument("--participant", help="participant id (stored only as a pseudonym)")
    withdrawal.add_argument("--objects", nargs="+", metavar="PREFIX",
                            help="object id prefixes of the participant's samples")
    withdrawal.set_defaults(handler=consent_withdraw)
