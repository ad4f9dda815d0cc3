"""The auth settings section: defaults, checks and the `{base_url}` placeholder."""

from __future__ import annotations

import pytest

from service.auth.settings import AuthSettings, DatasetPrefix
from service.config import ConfigError, load_settings

BROKER = {"iss": "https://broker.example.org", "jku_allowlist": ["https://broker.example.org/jwks"]}


def test_default_is_passport_mode_with_sample_dataset() -> None:
    settings = load_settings(None, port=9000)

    assert settings.auth.mode == "passport"
    assert settings.auth.embedded_broker
    assert settings.auth.datasets[0].resolved_url(settings.base_url) == (
        "http://127.0.0.1:9000/datasets/sample"
    )


def test_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTRY_AUTH__MODE", "open")

    assert load_settings(None).auth.mode == "open"


def test_passport_mode_needs_a_broker() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, auth={"embedded_broker": False})

    assert "no broker is trusted" in str(caught.value)


def test_userinfo_needs_trusted_broker() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, auth={"userinfo_urls": {"https://rogue.example.org": "https://x"}})

    assert "not in auth.trust.brokers" in str(caught.value)


def test_userinfo_for_trusted_broker_accepted() -> None:
    auth = AuthSettings.model_validate({
        "trust": {"brokers": [BROKER]},
        "userinfo_urls": {BROKER["iss"]: "https://broker.example.org/userinfo"},
    })

    assert auth.trust.broker(str(BROKER["iss"])) is not None


def test_dataset_url_must_be_absolute() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, auth={"datasets": [{"id_prefix": "a/", "url": "datasets/a"}]})

    assert "'datasets/a' is not an absolute URL" in str(caught.value)


def test_placeholder_replaced() -> None:
    prefix = DatasetPrefix(id_prefix="x/", url="{base_url}/datasets/x")

    assert prefix.resolved_url("https://node.example.org/") == (
        "https://node.example.org/datasets/x"
    )
