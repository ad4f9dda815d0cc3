"""Build the Consentry ASGI application from settings."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from connexion import AsyncApp
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from adapters.storage.base import Storage
from adapters.storage.local import LocalStorage
from adapters.storage.signing import DataUrlSigner
from service.auth.node import NodeAuth, build_node_auth
from service.config import Settings
from service.consent_header import HEADER as CONSENT_HEADER
from service.consent_header import ConsentHeaderMiddleware
from service.consent_policy import open_consent_policy
from service.consent_services import ConsentServices
from service.drs.build import build_drs_service
from service.drs.core import DrsService
from service.handlers.errors import register_error_handlers
from service.handlers.validation import CachedParameterValidator
from service.htsget.core import HtsgetCore
from service.htsget.objects import ObjectCatalog
from service.htsget.tickets import TicketLimits, TicketService
from service.middleware import BodyLimitMiddleware, ServicesMiddleware

logger = logging.getLogger(__name__)

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "openapi"
CORS_MAX_AGE = 30 * 24 * 3600
EXPOSED_HEADERS = ["Content-Length", "Content-Range", "X-Request-Id", CONSENT_HEADER]


@dataclass
class Services:
    """Everything a request handler may need, built once per node."""

    settings: Settings
    storage: Storage
    signer: DataUrlSigner | None
    htsget: HtsgetCore
    auth: NodeAuth
    drs: DrsService | None = None
    consent: ConsentServices | None = None


def load_or_create_key(path: Path) -> bytes:
    """Return the data-URL signing key at `path`, creating a random one (mode 0600) if absent."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        logger.info("created a new data-URL signing key at %s", path)
    if len(key) < 32:
        raise ValueError(
            f"signing key {path} is shorter than 32 bytes; delete it to make a new one"
        )
    return key


def build_storage(settings: Settings) -> tuple[Storage, DataUrlSigner | None]:
    """Create the configured storage backend (and the data-URL signer for local storage)."""
    config = settings.storage
    if config.backend == "s3":
        from adapters.storage.s3 import S3Storage

        assert config.s3_bucket is not None
        storage = S3Storage(
            bucket=config.s3_bucket,
            prefix=config.s3_prefix,
            region=config.s3_region,
            endpoint_url=config.s3_endpoint_url,
            path_style=config.s3_path_style,
        )
        return storage, None
    key = load_or_create_key(settings.state_dir / "data-url.key")
    signer = DataUrlSigner(settings.base_url, key)
    return LocalStorage(config.local_root, signer), signer


def build_services(settings: Settings) -> Services:
    """Wire storage, caches, the access policy and the htsget core together."""
    storage, signer = build_storage(settings)
    catalog = ObjectCatalog(storage, settings.htsget.index_cache_entries)
    limits = TicketLimits(settings.htsget.url_ttl_seconds, settings.htsget.max_block_bytes)
    tickets = TicketService(storage, catalog, limits)
    auth = build_node_auth(settings)
    consent, policy = open_consent_policy(settings, auth.policy)
    core = HtsgetCore(tickets, policy, settings.htsget.max_regions)
    services = Services(settings, storage, signer, core, auth, consent=consent)
    services.drs = build_drs_service(settings, storage, core.policy)
    return services


def create_app(settings: Settings, services: Services | None = None) -> ASGIApp:
    """Return the ASGI application: connexion with request validation, wrapped in middleware."""
    services = services or build_services(settings)
    app = AsyncApp(__name__, specification_dir=OPENAPI_DIR,
                   validator_map={"parameter": CachedParameterValidator})
    app.add_api("htsget.yaml", validate_responses=False, strict_validation=False)
    app.add_api("broker.yaml", base_path="/broker", validate_responses=False,
                strict_validation=False)
    app.add_api("pages.yaml", validate_responses=False, strict_validation=True)
    app.add_api("consent.yaml", validate_responses=False, strict_validation=True)
    # Connexion 3 returns 404 on /ga4gh/drs/v1 when this API is added before
    # one mounted at /, so it is added last.
    app.add_api("drs.yaml", validate_responses=False, strict_validation=False)
    register_error_handlers(app)
    wrapped: ASGIApp = ServicesMiddleware(app, services)
    wrapped = ConsentHeaderMiddleware(wrapped)
    wrapped = BodyLimitMiddleware(wrapped, settings.htsget.max_body_bytes)
    origins = settings.cors_allow_origins
    return CORSMiddleware(
        wrapped,
        allow_origins=[] if "*" in origins else origins,
        allow_origin_regex=".*" if "*" in origins else None,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        allow_credentials=True,
        expose_headers=EXPOSED_HEADERS,
        max_age=CORS_MAX_AGE,
    )


SETTINGS_ENVIRONMENT_VARIABLE = "CONSENTRY_EFFECTIVE_SETTINGS"


def create_app_from_environment() -> ASGIApp:
    """Build the app from settings serialized by `consentry serve` (uvicorn worker factory)."""
    serialized = os.environ.get(SETTINGS_ENVIRONMENT_VARIABLE)
    if serialized is None:
        message = f"{SETTINGS_ENVIRONMENT_VARIABLE} is not set; start workers with consentry serve"
        raise RuntimeError(message)
    return create_app(Settings.model_validate_json(serialized))
