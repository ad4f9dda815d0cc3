"""Build a node's DRS service from its settings, storage and access policy."""

from __future__ import annotations

from adapters.storage.base import Storage
from service.access import AccessPolicy
from service.auth.node import BROKER_PATH
from service.config import Settings
from service.drs.core import DrsLimits, DrsService
from service.drs.objects import NodeAddress, drs_hostname
from service.drs.registry import DrsRegistry


def build_drs_service(settings: Settings, storage: Storage, policy: AccessPolicy) -> DrsService:
    """Open the registry in `state_dir` and wire it to storage and the node's access policy."""
    registry = DrsRegistry.in_state_dir(settings.state_dir)
    return DrsService(
        registry, storage, policy, node_address(settings),
        DrsLimits(settings.htsget.url_ttl_seconds, settings.drs.max_bulk_request_length),
        passport_issuers(settings),
    )


def node_address(settings: Settings) -> NodeAddress:
    """Return how this node's DRS objects are addressed."""
    hostname = drs_hostname(settings.drs.hostname, settings.base_url)
    storage = settings.storage
    if storage.backend != "s3":
        return NodeAddress(hostname, settings.base_url)
    return NodeAddress(
        hostname, settings.base_url, storage.s3_bucket, storage.s3_prefix.strip("/"),
        storage.s3_region,
    )


def passport_issuers(settings: Settings) -> tuple[str, ...]:
    """Return the visa issuers whose visas may authorize objects; empty without passports."""
    auth = settings.auth
    if auth.mode != "passport":
        return ()
    issuers = [issuer.iss for issuer in auth.trust.visa_issuers]
    if auth.embedded_broker:
        issuers.append(settings.base_url.rstrip("/") + BROKER_PATH)
    return tuple(dict.fromkeys(issuers))
