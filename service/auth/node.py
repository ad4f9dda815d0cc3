"""Passport access for one node: its embedded broker and the access policy its settings pick."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.access import AccessPolicy, OpenAccessPolicy
from service.auth.access_tokens import verify_access_token
from service.auth.broker import (
    ACCESS_TOKEN_TYPE,
    PASSPORT_TOKEN_TYPE,
    TOKEN_EXCHANGE_GRANT,
    BrokerSubject,
    EmbeddedBroker,
)
from service.auth.cache import VerifiedPassportCache
from service.auth.clearinghouse import CredentialVerifier, DatasetMap, PassportPolicy
from service.auth.errors import InvalidAuthentication
from service.auth.jwks import JwksCache
from service.auth.jws import TokenError
from service.auth.keys import BrokerKeyStore
from service.auth.passport import PASSPORT_CLAIM, PassportVerifier
from service.auth.registry import SubjectRegistry
from service.auth.trust import PassportTrust, TrustedIssuer
from service.auth.userinfo import UserinfoSource, UserinfoVerifier, http_userinfo

if TYPE_CHECKING:
    from service.config import Settings

logger = logging.getLogger(__name__)

BROKER_PATH = "/broker"
DEMO_PASSPORT_FILE = "demo-passport.jwt"
DEMO_PASSPORT_SECONDS = 12 * 3600


class NodeBroker:
    """The node's embedded broker: keys and subject registry under `directory`.

    Its issuer is `{base_url}/broker`. The node trusts it as broker and visa issuer with
    the JWKS pinned from the key store, so verifying its tokens never fetches its `jku`.
    """

    def __init__(
        self, base_url: str, directory: Path, max_lifetime: int, exchange_lifetime: int
    ) -> None:
        self.issuer = base_url.rstrip("/") + BROKER_PATH
        self.jwks_url = f"{self.issuer}/.well-known/jwks.json"
        self.keys = BrokerKeyStore(directory)
        self.broker = EmbeddedBroker(
            self.issuer, self.keys, self.jwks_url,
            max_lifetime=max_lifetime, exchange_lifetime=exchange_lifetime,
        )
        self.registry = SubjectRegistry(directory)
        self.trusted = TrustedIssuer(
            iss=self.issuer, jwks_file=self.keys.jwks_path,
            jku_allowlist=(self.jwks_url,), fetch_jku=False,
        )
        self._own_trust = PassportTrust(brokers=(self.trusted,))
        self._own_keys = JwksCache(self._own_trust)

    @classmethod
    def from_settings(cls, settings: Settings) -> NodeBroker:
        """Open the broker of the node that `settings` describe, creating its first key."""
        auth = settings.auth
        return cls(settings.base_url, broker_directory(settings),
                   auth.broker_max_token_seconds, auth.broker_exchange_seconds)

    def discovery(self) -> dict[str, Any]:
        """Return the OpenID Connect discovery document of the broker."""
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_url,
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "grant_types_supported": [TOKEN_EXCHANGE_GRANT],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "ga4gh_passport_v1"],
            "claims_supported": ["sub", PASSPORT_CLAIM],
            "subject_token_types_supported": [ACCESS_TOKEN_TYPE],
            "issued_token_types_supported": [PASSPORT_TOKEN_TYPE],
        }

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the public keys, rereading them if the CLI rotated them."""
        self.keys.refresh()
        return self.broker.jwks()

    def issue_passport(self, subject: BrokerSubject, expires_in: int) -> str:
        """Sign a passport for `subject`; `expires_in` is capped by the broker's maximum."""
        self.keys.refresh()
        return self.broker.issue_passport(
            subject.sub, grants=subject.grants, affiliation=subject.affiliation,
            researcher_status=subject.researcher_status, expires_in=expires_in,
        )

    def issue_access_token(self, sub: str, expires_in: int) -> str:
        """Sign an access token for `sub` that the token and userinfo endpoints accept."""
        self.keys.refresh()
        return self.broker.issue_access_token(sub, expires_in)

    def rotate_keys(self) -> str:
        """Make a new signing key active and return its `kid`."""
        self.keys.refresh()
        return self.broker.rotate_keys()

    def exchange(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Exchange an access token for a passport (RFC 8693).

        Raise TokenExchangeError carrying the OAuth error. NOTE: clients are not
        authenticated because no client registry exists. The subject access token,
        signed by this broker, is the only credential checked.
        """
        self.keys.refresh()
        return self.broker.exchange_token(form, self.subject_for)

    def userinfo(self, token: str) -> dict[str, Any]:
        """Return the userinfo claims for an access token: `sub` and its visas."""
        subject = self.subject_for(token)
        self.keys.refresh()
        visas = self.broker.issue_visas(subject, self.broker.exchange_lifetime)
        return {"sub": subject.sub, PASSPORT_CLAIM: visas}

    def subject_for(self, token: str) -> BrokerSubject:
        """Verify an access token of this broker and return its registered subject.

        A subject the registry does not list has no grants.
        """
        try:
            claims = verify_access_token(token, self._own_trust, self._own_keys,
                                         self.broker.clock())
        except TokenError as exc:
            raise InvalidAuthentication(f"access token rejected: {exc}") from None
        sub: str = claims["sub"]
        return self.registry.get(sub) or BrokerSubject(sub)


def broker_directory(settings: Settings) -> Path:
    """Return the directory of the embedded broker's keys and subject registry."""
    return settings.state_dir / "broker"


@dataclass(frozen=True)
class NodeAuth:
    """The access policy a node enforces, and its embedded broker when enabled."""

    policy: AccessPolicy
    broker: NodeBroker | None
    datasets: DatasetMap


def dataset_map(settings: Settings) -> DatasetMap:
    """Return the node's `auth.datasets` with `{base_url}` filled in."""
    return DatasetMap(tuple(
        (dataset.id_prefix, dataset.resolved_url(settings.base_url))
        for dataset in settings.auth.datasets
    ))


def build_node_auth(settings: Settings) -> NodeAuth:
    """Build the embedded broker and the access policy that `auth.mode` selects."""
    auth = settings.auth
    datasets = dataset_map(settings)
    broker = NodeBroker.from_settings(settings) if auth.embedded_broker else None
    if auth.mode == "open":
        logger.warning("auth.mode is 'open': every object is served without a passport")
        return NodeAuth(OpenAccessPolicy(), broker, datasets)

    trust = auth.trust
    sources: dict[str, UserinfoSource] = {
        iss: http_userinfo(url, auth.userinfo_timeout_seconds)
        for iss, url in auth.userinfo_urls.items()
    }
    if broker is not None:
        trust = trust.model_copy(update={
            "brokers": (*trust.brokers, broker.trusted),
            "visa_issuers": (*trust.visa_issuers, broker.trusted),
        })
        sources[broker.issuer] = broker.userinfo
    passports = PassportVerifier(trust)
    verifier = CredentialVerifier(passports, UserinfoVerifier(passports, sources))
    logger.info("passport access: %d trusted broker(s), %d visa issuer(s), %d dataset(s)",
                len(trust.brokers), len(trust.visa_issuers), len(datasets.prefixes))
    return NodeAuth(PassportPolicy(VerifiedPassportCache(verifier), datasets), broker, datasets)


def write_token_file(path: Path, token: str) -> None:
    """Write a token to `path` with mode 0600, replacing any old file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (token + "\n").encode("ascii"))
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def write_demo_passport(
    settings: Settings, sample_id: str, dataset: str | None = None
) -> Path | None:
    """Write a 12-hour passport granting the sample's dataset to `{state_dir}/demo-passport.jwt`.

    `dataset` is the dataset URL to grant; without it, the `auth.datasets` entry of
    `sample_id` is granted. Return the file's path, or None when the node runs in open
    mode, has no embedded broker or the sample belongs to no dataset.
    """
    auth = settings.auth
    dataset = dataset or dataset_map(settings).dataset_for(sample_id)
    if auth.mode != "passport" or not auth.embedded_broker or dataset is None:
        return None
    broker = NodeBroker.from_settings(settings)
    lifetime = min(DEMO_PASSPORT_SECONDS, broker.broker.max_lifetime)
    token = broker.issue_passport(BrokerSubject("demo-user", grants=(dataset,)), lifetime)
    path = settings.state_dir / DEMO_PASSPORT_FILE
    write_token_file(path, token)
    logger.info("wrote a demo passport for %s to %s", dataset, path)
    return path
