"""Verified-passport cache: reuse until the earliest exp, never beyond."""

from __future__ import annotations

import pytest

from service.auth import InvalidAuthentication
from service.auth.cache import VerifiedPassportCache
from service.auth.models import Identity
from service.auth.passport import PassportVerifier
from tests.service.auth.conftest import Minter


class CountingVerifier(PassportVerifier):
    """Count calls to the real verifier."""

    calls = 0

    def verify(self, token: str | None) -> Identity:
        self.calls += 1
        return super().verify(token)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def counting(verifier: PassportVerifier) -> CountingVerifier:
    return CountingVerifier(verifier.trust, verifier.keys)


def test_second_verification_cached(minter: Minter, counting: CountingVerifier) -> None:
    cache = VerifiedPassportCache(counting)
    token = minter.passport()

    first = cache.verify(token)
    second = cache.verify(token)

    assert second is first
    assert counting.calls == 1


def test_entry_ends_at_earliest_visa_exp(minter: Minter, counting: CountingVerifier) -> None:
    clock = Clock(minter.now)
    cache = VerifiedPassportCache(counting, clock=clock)
    token = minter.passport([minter.visa(claims={"exp": minter.now + 120})])
    cache.verify(token)

    clock.now = minter.now + 119
    cache.verify(token)
    calls_before_exp = counting.calls
    clock.now = minter.now + 120
    cache.verify(token)

    assert calls_before_exp == 1
    assert counting.calls == 2


def test_failures_not_cached(minter: Minter, counting: CountingVerifier) -> None:
    cache = VerifiedPassportCache(counting)
    token = minter.passport(claims={"iss": "https://rogue.example.org"})

    for _ in range(2):
        with pytest.raises(InvalidAuthentication):
            cache.verify(token)

    assert counting.calls == 2
    assert len(cache) == 0


def test_oldest_entry_evicted(minter: Minter, counting: CountingVerifier) -> None:
    cache = VerifiedPassportCache(counting, max_entries=2)
    tokens = [minter.passport() for _ in range(3)]

    for token in tokens:
        cache.verify(token)
    cache.verify(tokens[0])

    assert len(cache) == 2
    assert counting.calls == 4
