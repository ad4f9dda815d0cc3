"""`consentry passport` and `consentry broker`: passports, access tokens and keys of the
embedded broker."""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent_chain.catalog import CATALOG_FILE, read_dataset_urls
from consent_chain.errors import StoreUnavailable
from service.auth.broker import BrokerSubject
from service.auth.jws import TokenError
from service.auth.keys import STATE_FILE, KeyStoreError
from service.auth.node import NodeBroker, broker_directory, dataset_map, write_token_file
from service.auth.registry import RegistryError
from service.auth.visas import check_affiliation, check_url
from service.config import ConfigError, Settings, load_settings
from service.consent_services import chain_directory

DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Parse a duration given in seconds or as a number with s, m, h or d, e.g. 30m or 7d."""
    match = DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}; give seconds (3600) or a number with s, m, h or d (12h)"
        )
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _open_broker(args: argparse.Namespace) -> tuple[Settings, NodeBroker]:
    overrides = {"port": args.port} if getattr(args, "port", None) is not None else {}
    settings = load_settings(args.config, **overrides)
    if not settings.auth.embedded_broker:
        raise ConfigError("the embedded broker is disabled; set auth.embedded_broker to true")
    # Only consentry serve creates broker keys. Keys created here would sign tokens
    # that the running node rejects, because it reads another state folder.
    directory = broker_directory(settings).resolve()
    if not (directory / STATE_FILE).is_file():
        raise ConfigError(
            f"no broker keys at {directory}: {STATE_FILE} is missing, so this is not the "
            "state folder of a node; run the command where consentry serve runs, "
            "or pass --config FILE with the node's settings"
        )
    return settings, NodeBroker.from_settings(settings)


def _subject(args: argparse.Namespace, settings: Settings) -> BrokerSubject:
    """Build the subject from the command line, checking values as the clearinghouse would."""
    for url in args.grant:
        try:
            check_url("value", url)
        except TokenError as exc:
            raise ValueError(
                f"invalid --grant {url!r} ({exc}); give a dataset URL, for example "
                f"--grant {settings.base_url}/datasets/cohort"
            ) from None
    _warn_unknown_grants(args.grant, settings)
    if args.affiliation is not None:
        check_affiliation(args.affiliation)
    return BrokerSubject(args.sub, tuple(args.grant), args.affiliation, args.researcher_status)


def _warn_unknown_grants(grants: list[str], settings: Settings) -> None:
    """Warn about each grant of no known dataset, since it may be registered later."""
    known = KnownDatasets.of(settings)
    for url in grants:
        if url not in known:
            print(f"consentry: warning: --grant {url} matches no dataset URL {known.listing()}, "
                  "so it grants nothing until that dataset is added to auth.datasets or "
                  "registered with `consentry consent register --url`", file=sys.stderr)


@dataclass(frozen=True)
class KnownDatasets:
    """Dataset URLs that a grant visa can name on this node, by where they are mapped."""

    configured: tuple[str, ...]
    catalog: tuple[str, ...]
    catalog_note: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> KnownDatasets:
        """Collect the URLs of `auth.datasets` and of the consent chain's catalog."""
        configured = tuple(url for _, url in dataset_map(settings).prefixes)
        catalog, note = read_catalog_urls(settings)
        return cls(configured, catalog, note)

    def __contains__(self, url: object) -> bool:
        return url in self.configured or url in self.catalog

    def listing(self) -> str:
        """Return `in auth.datasets (known: ...) or in the consent chain catalog (...)`."""
        configured = ", ".join(self.configured) or "none"
        catalog = self.catalog_note or "known: " + (", ".join(self.catalog) or "none")
        return f"in auth.datasets (known: {configured}) or in the consent chain catalog ({catalog})"


def read_catalog_urls(settings: Settings) -> tuple[tuple[str, ...], str | None]:
    """Read the dataset URLs of the consent chain's catalog, opened read-only.

    Return the URLs and None, or no URLs and the reason the catalog was not read. A
    missing catalog is not created, so running the CLI in the wrong folder leaves no
    chain state behind.
    """
    if not settings.chain.enabled:
        return (), "not read: chain.enabled is false"
    path = (chain_directory(settings) / CATALOG_FILE).resolve()
    if not path.is_file():
        return (), f"not read: no catalog at {path}"
    try:
        return read_dataset_urls(path), None
    except StoreUnavailable as error:
        return (), f"not read: {error}"


def _emit(token: str, output: Path | None, kind: str, expires_in: int) -> None:
    if output is None:
        print(token)
        return
    write_token_file(output, token)
    expires = datetime.fromtimestamp(time.time() + expires_in, UTC).isoformat(timespec="seconds")
    print(f"wrote the {kind} to {output} (mode 0600); it expires at {expires}")


def issue_passport(args: argparse.Namespace) -> int:
    """Print or write a passport signed by the embedded broker."""
    settings, broker = _open_broker(args)
    if not args.grant:
        print("consentry: warning: no --grant given, so the passport grants no dataset; "
              f"pass --grant DATASET_URL, a URL {KnownDatasets.of(settings).listing()}",
              file=sys.stderr)
    token = broker.issue_passport(_subject(args, settings), args.expires)
    _emit(token, args.output, "passport", args.expires)
    return 0


def issue_access_token(args: argparse.Namespace) -> int:
    """Register the subject's grants when given, then print or write an access token."""
    settings, broker = _open_broker(args)
    if args.grant or args.affiliation is not None or args.researcher_status:
        broker.registry.put(_subject(args, settings))
    elif broker.registry.get(args.sub) is None:
        print(f"consentry: note: subject {args.sub!r} is not registered, so its passport will "
              "have no visas; pass --grant to register its grants", file=sys.stderr)
    token = broker.issue_access_token(args.sub, args.expires)
    _emit(token, args.output, "access token", args.expires)
    return 0


def rotate_keys(args: argparse.Namespace) -> int:
    """Make a new broker signing key active; the old key stays published for a while."""
    _, broker = _open_broker(args)
    old = broker.keys.active.kid
    new = broker.rotate_keys()
    print(f"rotated the broker signing key from kid {old} to kid {new}; the old key stays "
          f"published for {broker.broker.max_lifetime} s")
    return 0


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the errors a user can fix into a message and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (TokenError, ValueError, KeyStoreError, RegistryError) as exc:
            print(f"consentry: {exc}", file=sys.stderr)
            return 2

    return run


def _add_subject_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sub", required=True, help="subject (user id) the token is for")
    parser.add_argument("--grant", action="append", default=[], metavar="DATASET_URL",
                        help="dataset URL for a ControlledAccessGrants visa; repeat for several")
    parser.add_argument("--affiliation", metavar="ROLE@ORG",
                        help="AffiliationAndRole visa value, e.g. faculty@uni.example.org")
    parser.add_argument("--researcher-status", action="store_true",
                        help="add a ResearcherStatus visa for Registered Access")


def _add_output_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--expires", type=parse_duration, default=parse_duration(default),
                        help=f"lifetime: seconds, or a number with s, m, h or d such as 30m "
                        f"(default {default})")
    parser.add_argument("--config", type=Path, help="YAML settings file of the node")
    parser.add_argument("--port", type=int,
                        help="port of the node, when it was started with serve --port; the "
                        "broker's issuer URL includes it")
    parser.add_argument("-o", "--output", type=Path,
                        help="write the token to this file (mode 0600) instead of printing it")


def add_commands(commands: Any) -> None:
    """Add the `passport` and `broker` commands to the `consentry` subcommand parser."""
    passport = commands.add_parser("passport", help="issue passports from the embedded broker")
    passport_commands = passport.add_subparsers(dest="passport_command", required=True)
    issue = passport_commands.add_parser("issue", help="print or write a signed passport")
    _add_subject_options(issue)
    _add_output_options(issue, "1h")
    issue.set_defaults(handler=_guarded(issue_passport))

    broker = commands.add_parser("broker", help="manage the embedded broker")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True)
    rotate = broker_commands.add_parser("rotate-keys", help="switch to a new signing key")
    rotate.add_argument("--config", type=Path, help="YAML settings file of the node")
    rotate.set_defaults(handler=_guarded(rotate_keys))
    token = broker_commands.add_parser(
        "token", help="print an access token for the token exchange and userinfo endpoints"
    )
    _add_subject_options(token)
    _add_output_options(token, "1h")
    token.set_defaults(handler=_guarded(issue_access_token))
