"""The `consentry ingest` and `consentry drs get` subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from adapters.errors import StorageUnavailable
from consent_chain.duo import InvalidConsentCodes, normalize_codes
from service.config import load_settings
from service.drs.objects import drs_hostname
from service.drs.registry import DrsRegistry, RegistryConflict
from service.federation import FederationError, drs_get, parse_drs_uri
from service.ingest import (
    ConsentMismatch,
    IngestError,
    IngestOptions,
    IngestResult,
    ingest_files,
)
from service.ingest_index import IndexBuildError

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def add_drs_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `ingest` and `drs get` subcommands to the `consentry` parser."""
    ingest = commands.add_parser(
        "ingest", help="upload files to the configured storage and register them as DRS objects"
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="BAM, CRAM, VCF (.vcf.gz), BCF or any other file")
    ingest.add_argument("--dataset", required=True,
                        help="dataset id; files are stored under <dataset>/<file name>")
    ingest.add_argument("--consent", default="",
                        help="comma-separated DUO codes, as ids (DUO:0000042) or names (GRU)")
    ingest.add_argument("--id-prefix",
                        help="prefix of the new DRS ids (default: '<dataset>.')")
    ingest.add_argument("--replace-consent", action="store_true",
                        help="replace the DUO codes of files already registered with other "
                             "codes (without it, ingest stops at such a file)")
    ingest.add_argument("--config", type=Path, help="YAML settings file")
    ingest.set_defaults(handler=run_ingest)

    drs = commands.add_parser("drs", help="DRS client commands")
    drs_commands = drs.add_subparsers(dest="drs_command", required=True)
    get = drs_commands.add_parser("get", help="download a DRS object and verify its checksum")
    get.add_argument("uri", help="drs://<hostname>/<id> or drs://<prefix>:<accession>")
    get.add_argument("-o", "--output", type=Path,
                     help="file to write (default: the object's name in this directory)")
    get.add_argument("--force", action="store_true",
                     help="replace the output file if it exists with other bytes")
    get.add_argument("--passport", type=Path,
                     help="file with a passport JWT, or a JSON list of them, to send")
    get.add_argument("--config", type=Path,
                     help="YAML settings file with drs.peers and drs.compact_prefixes")
    get.set_defaults(handler=run_drs_get)


def run_ingest(args: argparse.Namespace) -> int:
    """Ingest the files and print one line per file: DRS id, then the file."""
    from service.app import build_storage

    settings = load_settings(args.config)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    try:
        codes = [code for code in args.consent.split(",") if code.strip()]
        options = IngestOptions(args.dataset, normalize_codes(codes), args.id_prefix,
                                args.replace_consent)
        storage, _ = build_storage(settings)
        registry = DrsRegistry.in_state_dir(settings.state_dir)
        results = ingest_files(args.files, options, storage, registry, sys.stderr)
    except ConsentMismatch as exc:
        print(f"consentry ingest: {exc} To replace them, run:\n  {_replace_command(args)}",
              file=sys.stderr)
        return 1
    except (IngestError, IndexBuildError, InvalidConsentCodes, RegistryConflict,
            StorageUnavailable) as exc:
        print(f"consentry ingest: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(f"{result.record.id}\t{result.record.storage_key}\t{_ingest_state(result)}")
    return 0


def _ingest_state(result: IngestResult) -> str:
    states = ["uploaded"] if result.uploaded else []
    if result.replaced_consent is not None:
        states.append("consent replaced")
    return ", ".join(states) or "already registered"


def _replace_command(args: argparse.Namespace) -> str:
    """Return the ingest command of `args` with --replace-consent added."""
    command = ["consentry", "ingest", *map(str, args.files), "--dataset", args.dataset,
               "--consent", args.consent]
    if args.id_prefix is not None:
        command += ["--id-prefix", args.id_prefix]
    if args.config is not None:
        command += ["--config", str(args.config)]
    return shlex.join([*command, "--replace-consent"])


def run_drs_get(args: argparse.Namespace) -> int:
    """Download one object; print the path written."""
    settings = load_settings(args.config)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    # The node's own drs:// hostname resolves to its own base URL, which
    # carries the port that hostname-based URIs leave out.
    own_host = drs_hostname(settings.drs.hostname, settings.base_url)
    own_url = f"{settings.base_url}/ga4gh/drs/v1"
    peers = {own_host: own_url, **settings.drs.peers}
    drs_settings = settings.drs.model_copy(update={"peers": peers})
    try:
        passports = read_passports(args.passport) if args.passport else ()
        written = drs_get(args.uri, drs_settings, args.output, passports, sys.stderr,
                          force=args.force)
    except FederationError as exc:
        hint = ""
        if exc.status == 404 and own_host not in settings.drs.peers:
            hint = _own_host_hint(args.uri, own_host, own_url)
        print(f"consentry drs get: {exc}{hint}", file=sys.stderr)
        return 1
    print(written)
    return 0


def _own_host_hint(uri: str, own_host: str, own_url: str) -> str:
    """Return the hint for a 404 from this node on a URI with its own host name, else ""."""
    if parse_drs_uri(uri).hostname != own_host:
        return ""
    return (
        f". The URI's host {own_host} was taken as this node ({own_url}), because it is this "
        "node's drs.hostname or the host of its URL. If the object is on another node, map "
        f"{own_host} to that node's DRS URL in drs.peers"
    )


def read_passports(path: Path) -> tuple[str, ...]:
    """Read one passport JWT, or a JSON list of them, from `path`."""
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise FederationError(f"cannot read the passport file {path}: {exc.strerror}") from exc
    if not text.startswith("["):
        return (text,) if text else ()
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FederationError(f"passport file {path} is not a JSON list: {exc}") from exc
    if not isinstance(found, list) or not all(isinstance(item, str) for item in found):
        raise FederationError(f"passport file {path} must hold a JSON list of JWT strings")
    return tuple(found)
