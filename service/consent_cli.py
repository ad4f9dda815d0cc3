"""The `consentry chain ...` and `consentry consent ...` commands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from consent_chain.checkpoints import verify_receipt
from consent_chain.consents import build_consent, register_dataset, update_consent, withdraw
from consent_chain.crypto import Signer
from consent_chain.errors import BlockNotFound, ChainError
from consent_chain.genesis import Genesis, load_genesis, make_genesis, member_entry
from consent_chain.models import PAYLOAD_MODELS
from consent_chain.node import (
    GENESIS_FILE,
    KEY_FILE,
    STORE_FILE,
    NodeSettings,
    load_or_create_secret,
)
from consent_chain.node_etcd import open_etcd_store
from consent_chain.store import ChainHead, ChainStore
from consent_chain.store_sqlite import SqliteChainStore
from consent_chain.verify import verify_chain
from service.config import Settings, load_settings
from service.consent_participant_cli import add_participant_commands
from service.consent_services import (
    ConsentServices,
    chain_directory,
    open_existing_consent_services,
)
from service.consent_settings import node_settings

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[ConsentServices]:
    consent = open_existing_consent_services(_settings(args))
    try:
        yield consent
    finally:
        consent.close()


def _fail(message: str) -> int:
    print(f"consentry: {message}", file=sys.stderr)
    return 1


def chain_verify(args: argparse.Namespace) -> int:
    """Re-verify the stored chain (on etcd nodes, the local mirror) and compare it with etcd."""
    settings = _settings(args)
    directory = chain_directory(settings)
    genesis_path = directory / GENESIS_FILE
    if not genesis_path.is_file():
        return _fail(f"no consent chain at {directory}: {genesis_path} is missing")
    try:
        genesis = load_genesis(genesis_path.read_bytes())
        store = SqliteChainStore(directory / STORE_FILE, genesis.chain_id)
        try:
            report = verify_chain(store, genesis)
            head = store.head()
        finally:
            store.close()
    except ChainError as error:
        return _fail(f"cannot read the consent chain: {error}")
    if report.failure is not None:
        return _fail(f"chain verification failed at {report.failure}")
    print(f"chain {genesis.chain_id} verified: {report.blocks_verified} blocks, "
          f"{report.log_size} transactions, log root {report.log_root.hex()}")
    if settings.chain.store != "etcd":
        return 0
    return _compare_with_etcd(node_settings(settings.chain, directory), genesis, head)


def _compare_with_etcd(config: NodeSettings, genesis: Genesis, mirror: ChainHead | None) -> int:
    """Print the mirror's and etcd's heads; exit 1 unless the mirror is a prefix of etcd's chain."""
    try:
        etcd = open_etcd_store(config, genesis.chain_id)
        try:
            head = etcd.head()
            same = _mirror_head_in_etcd(etcd, mirror)
        finally:
            etcd.close()
    except ChainError as error:
        return _fail(f"cannot read the chain in etcd under {config.etcd_prefix!r}: {error}")
    print(f"mirror head: {_describe(mirror)}")
    print(f"etcd head:   {_describe(head)}")
    if not same:
        return _fail("the local mirror is not a prefix of the chain in etcd: its head block "
                     "is missing from etcd or differs there; stop the node and investigate")
    etcd_height = 0 if head is None else head.height
    mirror_height = 0 if mirror is None else mirror.height
    behind = etcd_height - mirror_height
    if behind > 0:
        print(f"the mirror is {behind} blocks behind etcd; the running node catches up")
    return 0


def _mirror_head_in_etcd(etcd: ChainStore, mirror: ChainHead | None) -> bool:
    """Return whether etcd stores the mirror's head block at the same height."""
    if mirror is None:
        return True
    try:
        return etcd.block_at(mirror.height).block_hash == mirror.block_hash
    except BlockNotFound:
        return False


def _describe(head: ChainHead | None) -> str:
    if head is None:
        return "empty (no blocks)"
    return f"height {head.height}, block {head.block_hash.hex()}, {head.log_size} transactions"


def chain_keygen(args: argparse.Namespace) -> int:
    """Create this institution's Ed25519 key if missing; print its public key as JSON."""
    settings = _settings(args)
    config = settings.chain
    path = chain_directory(settings) / KEY_FILE
    existed = path.exists()
    try:
        signer = Signer.from_seed(load_or_create_secret(path))
    except ChainError as error:
        return _fail(str(error))
    public_key = signer.public_key.hex()
    print(json.dumps({
        "institution_id": config.institution_id,
        "key_id": signer.key_id,
        "public_key": public_key,
        "key_file": str(path),
        "created": not existed,
        "member": f"{config.institution_id}:{config.institution_name}:custodian:{public_key}",
    }, indent=2))
    return 0


def chain_genesis(args: argparse.Namespace) -> int:
    """Write a genesis shared by several institutions, in canonical bytes."""
    try:
        members = [parse_member(text) for text in args.member]
        genesis = make_genesis(
            name=args.name, time=time.time_ns() // 1_000_000, members=members,
            submit=submit_policy(members, args.submit),
            proposers=args.proposers or [member["id"] for member in members],
        )
    except (ValueError, ChainError) as error:
        return _fail(str(error))
    unknown = set(genesis.model.policy.block.proposers) - {m["id"] for m in members}
    if unknown:
        return _fail(f"proposers {sorted(unknown)} are not members; pass a --member for each")
    args.output.write_bytes(genesis.encoded)
    print(f"wrote genesis of chain {genesis.chain_id} with members "
          f"{', '.join(m['id'] for m in members)} to {args.output}")
    return 0


def parse_member(text: str) -> dict[str, Any]:
    """Parse `ID:NAME:ROLE:PUBKEY_HEX` (NAME may contain colons) into a genesis member entry."""
    parts = text.split(":")
    if len(parts) < 4:
        raise ValueError(f"--member {text!r} must look like ID:NAME:ROLE:PUBKEY_HEX")
    member_id, role, key_hex = parts[0], parts[-2], parts[-1]
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError(f"--member {member_id!r} has public key {key_hex!r}; expected the 64 "
                         "hex digits that `consentry chain keygen` prints")
    return member_entry(member_id, ":".join(parts[1:-2]), role, [key])


def submit_policy(members: Sequence[dict[str, Any]],
                  overrides: Sequence[str]) -> dict[str, list[str]]:
    """Let every role submit every transaction type, unless a `TYPE=ROLE,...` override limits it."""
    roles = sorted({str(member["role"]) for member in members})
    policy = {tx_type: list(roles) for tx_type in PAYLOAD_MODELS}
    for override in overrides:
        tx_type, _, listed = override.partition("=")
        if tx_type not in policy or not listed:
            raise ValueError(f"--submit {override!r} must look like TYPE=ROLE[,ROLE...] with "
                             f"TYPE one of {', '.join(sorted(policy))}")
        policy[tx_type] = listed.split(",")
    return policy


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


# Consent fields that build_consent's messages name, and the option that sets each.
_CONSENT_OPTIONS = (
    ("disease_ids", "pass each disease with --disease MONDO:NNNNNNN"),
    ("not_after", "pass --expires YYYY-MM-DD"),
    ("not_before", "check --not-before against --expires"),
)


def _consent_from(args: argparse.Namespace) -> dict[str, object]:
    try:
        return build_consent(args.permission, modifiers=args.modifier,
                             disease_ids=args.disease, not_before=args.not_before,
                             expires=args.expires)
    except ValueError as error:
        hints = [hint for field, hint in _CONSENT_OPTIONS if field in str(error)]
        if not hints:
            raise
        raise ValueError(f"{error}; {'; '.join(hints)}") from error


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


def consent_catalog(args: argparse.Namespace) -> int:
    """Link this node's objects to a dataset that any member registered on the chain."""
    try:
        with _open(args) as consent:
            consent.node.refresh()
            record = consent.node.state.datasets.get(args.dataset)
            if record is None:
                return _fail(f"dataset {args.dataset!r} is not registered on the consent chain; "
                             "its custodian registers it with `consentry consent register`")
            consent.catalog.set_dataset(args.dataset, args.url, args.objects)
    except (ChainError, ValueError) as error:
        return _fail(str(error))
    print(f"cataloged dataset {args.dataset} (custodian {record.custodian}): objects "
          f"{' '.join(args.objects)}")
    return 0


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
    _add_chain_commands(commands, config)
    _add_consent_commands(commands, config)


def _add_chain_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], config: argparse.ArgumentParser
) -> None:
    chain = commands.add_parser("chain", help="inspect and verify the consent chain")
    chain_commands = chain.add_subparsers(dest="chain_command", required=True)
    verify = chain_commands.add_parser("verify", parents=[config],
                                       help="re-verify every block from the genesis")
    verify.set_defaults(handler=chain_verify)
    keygen = chain_commands.add_parser("keygen", parents=[config],
                                       help="create this institution's signing key if missing "
                                       "and print its public key")
    keygen.set_defaults(handler=chain_keygen)
    genesis = chain_commands.add_parser("genesis",
                                        help="write the genesis of a chain shared by several "
                                        "institutions")
    genesis.add_argument("--member", action="append", required=True,
                         metavar="ID:NAME:ROLE:PUBKEY_HEX",
                         help="a member institution; repeat for each (the `member` value that "
                         "`consentry chain keygen` prints)")
    genesis.add_argument("--proposers", nargs="+", metavar="ID",
                         help="members allowed to propose blocks (default: every member)")
    genesis.add_argument("--submit", action="append", default=[], metavar="TYPE=ROLE,...",
                         help="roles allowed to submit one transaction type (default: every "
                         "member role may submit every type); repeat for several types")
    genesis.add_argument("--name", default="consentry-consortium", help="chain name")
    genesis.add_argument("-o", "--output", type=Path, required=True,
                         help="genesis file to write; copy it to every node and set "
                         "chain.genesis_file")
    genesis.set_defaults(handler=chain_genesis)
    receipt = chain_commands.add_parser("receipt", parents=[config],
                                        help="print the receipt of a transaction")
    receipt.add_argument("tx_hash", help="transaction hash (X-Consent-Decision header value)")
    receipt.add_argument("--output", type=Path, help="write the receipt to this file")
    receipt.set_defaults(handler=chain_receipt)


def _add_consent_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], config: argparse.ArgumentParser
) -> None:
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
    catalog = consent_commands.add_parser("catalog", parents=[config],
                                          help="link this node's objects to a dataset another "
                                          "institution registered")
    catalog.add_argument("--dataset", required=True, help="dataset id registered on the chain")
    catalog.add_argument("--url", required=True,
                         help="dataset URL that ControlledAccessGrants visas name")
    catalog.add_argument("--objects", nargs="+", required=True, metavar="PREFIX",
                         help="object id prefixes, on this node, that belong to the dataset")
    catalog.set_defaults(handler=consent_catalog)
    add_participant_commands(consent_commands, config)
