"""`consentry passport issue`, `broker token` and `broker rotate-keys` against a running node."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from service.auth.broker import BrokerSubject
from service.auth.keys import BrokerKeyStore
from service.auth.node import NodeBroker
from service.broker_cli import parse_duration
from tests.service.auth.conftest import DATASET
from tests.service.auth.nodes import node_config_file
from tests.service.conftest import Node
from tests.support import REPO_ROOT, free_port

BAM_ID = "htsnexus_test_NA12878"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True,
        timeout=60, cwd=cwd, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def _issue(node: Node, directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    config = node_config_file(node, directory)
    return _cli("passport", "issue", "--sub", "dave", "--config", str(config), *extra,
                cwd=directory)


def _ticket_status(node: Node, passport: str) -> int:
    response = httpx.get(f"{node.url}/reads/{BAM_ID}", timeout=30,
                         headers={"Authorization": f"Bearer {passport}"})
    return response.status_code


@pytest.mark.parametrize(("text", "seconds"), [
    ("3600", 3600), ("45s", 45), ("30m", 1800), ("12h", 43200), ("7d", 604800),
])
def test_duration_parsed(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "1w", "-5", "h", "1.5h", ""])
def test_invalid_duration_rejected(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_issue_prints_passport_with_visas(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path, "--grant", DATASET, "--affiliation",
                    "faculty@uni.example.org", "--researcher-status", "--expires", "2h")
    token = result.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})

    assert result.returncode == 0, result.stderr
    assert claims["iss"] == f"{passport_node.url}/broker"
    assert claims["exp"] - claims["iat"] == 7200
    assert len(claims["ga4gh_passport_v1"]) == 3
    assert _ticket_status(passport_node, token) == 200


def test_issue_rejects_relative_grant(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path, "--grant", "cohort")

    assert result.returncode == 2
    assert "invalid --grant 'cohort'" in result.stderr
    assert "not an absolute URL" in result.stderr
    assert f"for example --grant {passport_node.url}/datasets/cohort" in result.stderr
    assert result.stdout == ""


def test_issue_warns_about_unknown_grant(passport_node: Node, tmp_path: Path) -> None:
    unknown = f"{passport_node.url}/datasets/nosuch"

    result = _issue(passport_node, tmp_path, "--grant", unknown)

    assert result.returncode == 0
    assert f"warning: --grant {unknown} matches no dataset URL in auth.datasets" in result.stderr
    assert DATASET in result.stderr
    assert result.stdout.count(".") == 2


def test_issue_warns_without_grant(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path)

    assert result.returncode == 0
    assert "warning: no --grant given" in result.stderr
    assert DATASET in result.stderr


def test_known_grant_gives_no_warning(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path, "--grant", DATASET)

    assert result.returncode == 0
    assert result.stderr == ""


def test_catalog_grant_gives_no_warning(passport_node: Node, tmp_path: Path) -> None:
    sample = f"{passport_node.url}/datasets/sample"

    result = _issue(passport_node, tmp_path, "--grant", sample)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_unknown_grant_warning_lists_sources(passport_node: Node, tmp_path: Path) -> None:
    unknown = f"{passport_node.url}/datasets/nosuch"

    result = _issue(passport_node, tmp_path, "--grant", unknown)

    assert f"in auth.datasets (known: {DATASET}" in result.stderr
    assert (f"or in the consent chain catalog (known: {passport_node.url}/datasets/sample"
            in result.stderr)
    assert "registered with `consentry consent register --url`" in result.stderr


def test_missing_chain_is_not_created(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    BrokerKeyStore(state_dir / "broker")
    config = tmp_path / "consentry.yaml"
    config.write_text(f"port: {free_port()}\nstate_dir: {state_dir}\n")
    grant = "https://datasets.example/cohort"

    result = _cli("passport", "issue", "--sub", "dave", "--config", str(config),
                  "--grant", grant, cwd=tmp_path)

    catalog = (state_dir / "chain" / "catalog.sqlite").resolve()
    assert result.returncode == 0, result.stderr
    assert f"warning: --grant {grant} matches no dataset URL" in result.stderr
    assert f"consent chain catalog (not read: no catalog at {catalog})" in result.stderr
    assert not (state_dir / "chain").exists()


def test_disabled_chain_named_in_warning(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    BrokerKeyStore(state_dir / "broker")
    config = tmp_path / "consentry.yaml"
    config.write_text(f"port: {free_port()}\nstate_dir: {state_dir}\nchain:\n  enabled: false\n")

    result = _cli("passport", "issue", "--sub", "dave", "--config", str(config), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "warning: no --grant given" in result.stderr
    assert "consent chain catalog (not read: chain.enabled is false)" in result.stderr


def test_issue_rejects_bad_affiliation(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path, "--affiliation", "boss")

    assert result.returncode == 2
    assert "role@organisation" in result.stderr


def test_issue_rejects_too_long_lifetime(passport_node: Node, tmp_path: Path) -> None:
    result = _issue(passport_node, tmp_path, "--grant", DATASET, "--expires", "30d")

    assert result.returncode == 2
    assert "expires_in 2592000" in result.stderr


def test_rotation_keeps_old_passports_valid(passport_node: Node, tmp_path: Path) -> None:
    config = node_config_file(passport_node, tmp_path)
    before = _issue(passport_node, tmp_path, "--grant", DATASET).stdout.strip()

    rotated = _cli("broker", "rotate-keys", "--config", str(config), cwd=tmp_path)
    after = _issue(passport_node, tmp_path, "--grant", DATASET).stdout.strip()
    keys = httpx.get(f"{passport_node.url}/broker/.well-known/jwks.json").json()["keys"]

    assert rotated.returncode == 0, rotated.stderr
    assert jwt.get_unverified_header(after)["kid"] == keys[0]["kid"]
    assert jwt.get_unverified_header(before)["kid"] in [key["kid"] for key in keys]
    assert _ticket_status(passport_node, before) == 200
    assert _ticket_status(passport_node, after) == 200


def test_token_for_unregistered_subject_warns(passport_node: Node, tmp_path: Path) -> None:
    config = node_config_file(passport_node, tmp_path)

    result = _cli("broker", "token", "--sub", "nobody-yet", "--config", str(config),
                  cwd=tmp_path)

    assert result.returncode == 0
    assert "not registered" in result.stderr
    assert _ticket_status(passport_node, result.stdout.strip()) == 403


def test_output_file_is_private(passport_node: Node, tmp_path: Path) -> None:
    target = tmp_path / "out" / "passport.jwt"

    result = _issue(passport_node, tmp_path, "--grant", DATASET, "-o", str(target))

    assert result.returncode == 0, result.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    assert "wrote the passport" in result.stdout


def test_issue_into_closed_pipe_exits_quietly(passport_node: Node, tmp_path: Path) -> None:
    config = node_config_file(passport_node, tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", "passport", "issue", "--sub", "dave",
             "--grant", DATASET, "--config", str(config)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    finally:
        os.close(write_end)

    assert result.returncode == 128 + signal.SIGPIPE
    assert result.stderr == ""


@pytest.mark.parametrize("command", [
    ("passport", "issue", "--sub", "dave", "--grant", DATASET),
    ("broker", "token", "--sub", "dave"),
    ("broker", "rotate-keys"),
])
def test_broker_commands_outside_node_rejected(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = _cli(*command, cwd=tmp_path)

    assert result.returncode == 2
    assert f"no broker keys at {tmp_path / '.consentry' / 'broker'}" in result.stderr
    assert "run the command where consentry serve runs, or pass --config FILE" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_passport_from_other_state_rejected(passport_node: Node, tmp_path: Path) -> None:
    other = NodeBroker(passport_node.url, tmp_path / "broker", max_lifetime=3600,
                       exchange_lifetime=3600)
    passport = other.issue_passport(BrokerSubject("dave", grants=(DATASET,)), 600)

    response = httpx.get(f"{passport_node.url}/reads/{BAM_ID}", timeout=30,
                         headers={"Authorization": f"Bearer {passport}"})
    message = response.json()["htsget"]["message"]

    assert response.status_code == 401
    assert "no key with kid" in message
    assert "another node's broker or state folder" in message
    assert passport not in message

