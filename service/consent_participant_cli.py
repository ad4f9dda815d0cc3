"""The `consentry consent participant|pending|participants` commands.

A participant withdrawal on the chain names a pseudonym that only the
custodian's catalog links to objects. Every other node that serves the
dataset denies it until its operator maps that pseudonym here.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import closing
from pathlib import Path

from consent_chain.consents import (
    import_withdrawn_participants,
    map_withdrawn_participant,
    unmapped_withdrawals,
)
from consent_chain.errors import ChainError
from service.config import load_settings
from service.consent_services import ConsentServices, open_existing_consent_services


def _open(args: argparse.Namespace) -> closing[ConsentServices]:
    return closing(open_existing_consent_services(load_settings(args.config)))


def _fail(message: str) -> int:
    print(f"consentry: {message}", file=sys.stderr)
    return 1


def consent_participant(args: argparse.Namespace) -> int:
    """Map a withdrawn participant's pseudonym onto this node's objects, or onto none."""
    if args.from_file is not None:
        return _import_participants(args)
    if args.pseudonym is None:
        return _fail("give --pseudonym HEX with --objects or --none, or --from-file FILE")
    prefixes: list[str] = [] if args.none else args.objects
    try:
        with _open(args) as consent:
            map_withdrawn_participant(consent.node, consent.catalog, args.dataset,
                                      args.pseudonym, prefixes)
    except ChainError as error:
        return _fail(str(error))
    mapped = "no objects on this node" if args.none else f"objects {' '.join(prefixes)}"
    print(f"mapped withdrawn participant {args.pseudonym.lower()} of dataset {args.dataset} "
          f"to {mapped}")
    return 0


def _import_participants(args: argparse.Namespace) -> int:
    """Map every pseudonym in a `consentry consent participants` file not yet recorded here."""
    if args.pseudonym is not None:
        return _fail("--from-file maps the pseudonyms the file lists; leave out --pseudonym")
    try:
        document = json.loads(args.from_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return _fail(f"cannot read participants file {args.from_file}: {error}")
    participants = document.get("participants") if isinstance(document, dict) else None
    if not isinstance(participants, dict) or document.get("dataset_id") != args.dataset:
        return _fail(f"{args.from_file} is not the output of `consentry consent participants "
                     f"--dataset {args.dataset}`")
    try:
        with _open(args) as consent:
            mapped = import_withdrawn_participants(consent.node, consent.catalog, args.dataset,
                                                   participants)
    except ChainError as error:
        return _fail(str(error))
    for pseudonym in mapped:
        print(pseudonym)
    print(f"dataset {args.dataset}: mapped {len(mapped)} of {len(participants)} withdrawn "
          f"participant(s) from {args.from_file}; the others were already mapped",
          file=sys.stderr)
    return 0


def consent_pending(args: argparse.Namespace) -> int:
    """Print each withdrawn participant of a dataset that this node has not mapped."""
    try:
        with _open(args) as consent:
            pending = unmapped_withdrawals(consent.node, consent.catalog, args.dataset)
    except ChainError as error:
        return _fail(str(error))
    for pseudonym in pending:
        print(pseudonym)
    print(f"dataset {args.dataset}: {len(pending)} withdrawn participant(s) to map with "
          "`consentry consent participant`", file=sys.stderr)
    return 0


def consent_participants(args: argparse.Namespace) -> int:
    """Print, as JSON, the object prefixes this node links to each withdrawn participant."""
    try:
        with _open(args) as consent:
            if consent.catalog.dataset(args.dataset) is None:
                return _fail(f"dataset {args.dataset!r} is not in this node's catalog")
            linked = consent.catalog.dataset_participants(args.dataset)
    except ChainError as error:
        return _fail(str(error))
    print(json.dumps({"dataset_id": args.dataset, "participants": linked}, indent=2))
    return 0


def add_participant_commands(
    consent_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    config: argparse.ArgumentParser,
) -> None:
    """Add `participant`, `pending` and `participants` to the `consentry consent` group."""
    participant = consent_commands.add_parser(
        "participant", parents=[config],
        help="map a participant who withdrew at another institution onto this node's objects")
    participant.add_argument("--dataset", required=True, help="dataset id registered on the chain")
    participant.add_argument("--pseudonym", metavar="HEX",
                             help="the participant's pseudonym (64 hex digits) as the chain "
                             "records it; `consentry consent pending` lists them")
    target = participant.add_mutually_exclusive_group(required=True)
    target.add_argument("--objects", nargs="+", metavar="PREFIX",
                        help="object id prefixes, on this node, of the participant's samples")
    target.add_argument("--none", action="store_true",
                        help="record that none of this node's objects belong to the participant")
    target.add_argument("--from-file", type=Path, metavar="FILE",
                        help="map every pseudonym listed in FILE, the JSON that `consentry "
                        "consent participants` prints on the custodian's node, when the "
                        "nodes name their objects alike")
    participant.set_defaults(handler=consent_participant)
    pending = consent_commands.add_parser(
        "pending", parents=[config],
        help="list withdrawn participants of a dataset that this node has not mapped")
    pending.add_argument("--dataset", required=True, help="dataset id in this node's catalog")
    pending.set_defaults(handler=consent_pending)
    participants = consent_commands.add_parser(
        "participants", parents=[config],
        help="print this node's object prefixes of each withdrawn participant as JSON")
    participants.add_argument("--dataset", required=True, help="dataset id in this node's catalog")
    participants.set_defaults(handler=consent_participants)
