"""Build a node's DRS service from its settings, storage and access policy."""

from __future__ import annotations

import ipaddress
import logging

from adapters.storage.base import Storage
from service.access import AccessPolicy
from service.auth.node import BROKER_PATH
from service.config import Settings
from service.drs.core import DrsLimits, DrsService
from service.drs.objects import NodeAddress, drs_hostname
from service.drs.registry import DrsRegistry

logger = logging.getLogger(__name__)


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
    if settings.drs.hostname is None and is_loopback(hostname):
        logger.warning(
            "drs.hostname is not set, so self_uri values take the loopback host of %s, as in "
            "drs://%s/<id>. Other nodes cannot resolve such URIs, and all nodes on this "
            "machine share them. Set drs.hostname to the host name other nodes reach this "
            "node by.", settings.base_url, hostname,
        )
    storage = settings.storage
    if storage.backend != "s3":
        return NodeAddress(hostname, settings.base_url)
    return NodeAddress(
        hostname, settings.base_url, storage.s3_bucket, storage.s3_prefix.strip("/"),
        storage.s3_region,
    )


def is_loopback(hostname: str) -> bool:
    """Return whether `hostname` is localhost or a loopback address (127.0.0.0/8, ::1)."""
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def passport_issuers(settings: Settings) -> tuple[str, ...]:
    """Return the visa issuers whose visas may authorize objects; empty without passports."""
    auth = settings.auth
    if auth.mode != "passport":
        return ()
    issuers = [issuer.iss for issuer in auth.trust.visa_issuers]
    if auth.embedded_broker:
        issuers.append(settings.base_url.rstrip("/") + BROKER_PATH)
    return tuple(dict.fromkeys(issuers))
