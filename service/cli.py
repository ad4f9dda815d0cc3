"""The `consentry` command line."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import signal
import socket
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consent_chain.errors import ChainError
from service.broker_cli import add_commands
from service.config import ConfigError, Settings, load_settings
from service.consent_cli import add_commands as add_consent_commands
from service.ingest_cli import add_drs_commands

logger = logging.getLogger("consentry")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if getattr(args, "workers", None) is not None:
        overrides["workers"] = args.workers
    settings = load_settings(args.config, **overrides)
    if args.data_dir is not None:
        settings.storage.local_root = args.data_dir
    if settings.storage.backend == "local":
        _check_data_dir(settings.storage.local_root, _data_dir_source(args, settings))
    return settings


def _data_dir_source(args: argparse.Namespace, settings: Settings) -> str | None:
    """Name the option or setting that chose the data directory; None for the default."""
    if args.data_dir is not None:
        return "--data-dir"
    if "local_root" not in settings.storage.model_fields_set:
        return None
    if any(name.upper() == "CONSENTRY_STORAGE__LOCAL_ROOT" for name in os.environ):
        return "CONSENTRY_STORAGE__LOCAL_ROOT"
    return f"storage.local_root in {args.config}" if args.config else "storage.local_root"


def _check_data_dir(root: Path, source: str | None) -> None:
    """Reject a data directory that is a file, or a given one that does not exist.

    Only the default directory may be missing: serve then creates it with the
    sample dataset. A given one that is missing is more likely a typo.
    """
    origin = f" (from {source})" if source else ""
    if root.exists() and not root.is_dir():
        raise ConfigError(
            f"data directory {root}{origin} is not a directory; "
            "pass the directory that contains the data files"
        )
    if source is not None and not root.exists():
        raise ConfigError(
            f"data directory {root}{origin} does not exist; "
            "check the path, or create the directory first"
        )


def _check_port_free(host: str, port: int) -> None:
    """Fail before any file is written when another process already listens on the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another server, perhaps "
                "another consentry serve, uses it, so pass --port with a free port"
            ) from exc


def serve(args: argparse.Namespace) -> int:
    """Start the service; in an empty default data directory, create the sample dataset first."""
    import uvicorn

    from service.app import SETTINGS_ENVIRONMENT_VARIABLE, build_services, create_app
    from service.sample_data import ensure_sample_data, quickstart_commands, write_sample_passport

    settings = _settings_from(args)
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    _check_port_free(settings.host, settings.port)
    created = False
    # Only the default directory gets the sample; a directory the user named
    # is theirs, even while it is still empty.
    if settings.storage.backend == "local" and _data_dir_source(args, settings) is None:
        created = ensure_sample_data(settings.storage.local_root)
    services = build_services(settings)
    app = create_app(settings, services)
    if settings.storage.backend == "local":
        passport = write_sample_passport(settings, services.consent)
        print(quickstart_commands(settings, created, passport, args.config), flush=True)
    options: dict[str, Any] = {"host": settings.host, "port": settings.port,
                               "log_level": settings.log_level.lower(), "access_log": False}
    if settings.workers == 1:
        uvicorn.run(app, **options)
        return 0
    # Worker processes rebuild the app from the same effective settings.
    os.environ[SETTINGS_ENVIRONMENT_VARIABLE] = settings.model_dump_json()
    uvicorn.run("service.app:create_app_from_environment", factory=True,
                workers=settings.workers, **options)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consentry", description=__doc__)
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {importlib.metadata.version('consentry')}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the htsget service")
    serve_parser.add_argument("--config", type=Path, help="YAML settings file")
    serve_parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="TCP port to listen on (default 8080)")
    serve_parser.add_argument("--workers", type=int,
                              help="worker processes (default 1; about one per CPU core)")
    serve_parser.add_argument(
        "--data-dir", type=Path,
        help="existing local storage directory (default ./consentry-data, which is "
        "created with a generated sample dataset when it is missing or empty)",
    )
    serve_parser.set_defaults(handler=serve)
    add_drs_commands(commands)
    add_consent_commands(commands)
    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # connexion 3.3 imports starlette.testclient, which warns about httpx on every import.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    args = build_parser().parse_args(argv)
    try:
        status = int(args.handler(args))
        sys.stdout.flush()
    except ConfigError as exc:
        print(f"consentry: {exc}", file=sys.stderr)
        return 2
    except ChainError as exc:
        # Raised while a node opens its consent chain: a wrong genesis, a store
        # holding another chain, or an etcd cluster without quorum.
        print(f"consentry: the consent chain could not be opened: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader closed the pipe (as `| head` does), so stop quietly with the
        # status of a program that SIGPIPE ended, and keep the final flush at exit
        # from reporting the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
