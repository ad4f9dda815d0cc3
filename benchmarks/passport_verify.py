"""Time passport verification in-process: a full check against a cache hit.

Passports come from Consentry's embedded broker (ES256, one ControlledAccessGrants
visa per dataset) and are checked against its pinned JWKS file, as a node checks
them. A full check verifies the passport and every visa signature and claim. A cache
hit looks the token's SHA-256 up in the verified-passport cache. No HTTP is involved.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.environment import describe_machine, median_microseconds
from service.auth.broker import EmbeddedBroker
from service.auth.cache import VerifiedPassportCache
from service.auth.keys import BrokerKeyStore
from service.auth.passport import PassportVerifier
from service.auth.trust import PassportTrust, TrustedIssuer

ISSUER = "http://127.0.0.1:8080/broker"
DATASET = "http://127.0.0.1:8080/datasets/sample"


@dataclass(frozen=True)
class VerifyCost:
    """Median cost of one full verification and of one cache hit, in microseconds."""

    visas: int
    token_bytes: int
    full_us: float
    cached_us: float

    @property
    def ratio(self) -> float:
        """Speed-up of a cache hit over a full verification."""
        return self.full_us / self.cached_us

    def summary(self) -> str:
        """Return one table row with the numbers."""
        return (f"| {self.visas} | {self.token_bytes:,} | {self.full_us:,.0f} | "
                f"{self.cached_us:.1f} | {self.ratio:,.0f} |")


def measure(directory: Path, visas: int, full_repeats: int, cached_repeats: int) -> VerifyCost:
    """Issue a passport with `visas` grants and time both verification paths."""
    keys = BrokerKeyStore(directory / f"keys-{visas}")
    jwks_url = f"{ISSUER}/.well-known/jwks.json"
    broker = EmbeddedBroker(ISSUER, keys, jwks_url)
    trusted = TrustedIssuer(iss=ISSUER, jwks_file=keys.jwks_path, jku_allowlist=(jwks_url,),
                            fetch_jku=False)
    verifier = PassportVerifier(PassportTrust(brokers=(trusted,), visa_issuers=(trusted,)))
    grants = [f"{DATASET}-{index}" for index in range(visas)]
    token = broker.issue_passport("benchmark-user", grants=grants, expires_in=3600)

    identity = verifier.verify(token)
    if len(identity.accepted) != visas:
        raise RuntimeError(f"expected {visas} accepted visas, got {len(identity.accepted)}")
    cache = VerifiedPassportCache(verifier)
    cache.verify(token)

    full = median_microseconds(lambda: verifier.verify(token), full_repeats)
    cached = median_microseconds(lambda: cache.verify(token), cached_repeats)
    return VerifyCost(visas, len(token), full, cached)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visas", type=int, nargs="+", default=[1, 5, 20],
                        help="visas per passport, one run each (default 1 5 20)")
    parser.add_argument("--full-repeats", type=int, default=300,
                        help="timed full verifications per run (default 300)")
    parser.add_argument("--cached-repeats", type=int, default=20000,
                        help="timed cache hits per run (default 20000)")
    args = parser.parse_args()

    for line in describe_machine():
        print(line)
    print("| visas | passport bytes | full check, µs | cache hit, µs | ratio |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as directory:
        for visas in args.visas:
            cost = measure(Path(directory), visas, args.full_repeats, args.cached_repeats)
            print(cost.summary(), flush=True)


if __name__ == "__main__":
    main()
