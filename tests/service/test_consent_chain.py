"""The consent chain in a running node: real samtools reads, withdrawals, receipts, fail-closed.

Each test starts its own passport-mode node with a fresh chain, registers
the NA12878 test objects as a GRU dataset with `consentry consent register`,
and reads them with a passport from the node's embedded broker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from consent_chain.errors import StoreUnavailable
from consent_chain.store import StoredBlock
from service.app import Services, build_services, create_app
from service.auth.broker import BrokerSubject
from service.auth.node import write_token_file
from service.config import Settings, load_settings
from service.consent_header import HEADER
from service.consent_services import ConsentServices
from tests.service.conftest import ServerThread
from tests.service.receipts import verified_decision
from tests.support import REPO_ROOT, free_port, require_tool, shared_file

BAM_ID = "htsnexus_test_NA12878"
VCF_ID = "spec-v4.3"
DATASET_ID = "EGAD00000000001"
DATASET_PATH = "/datasets/na12878"


@dataclass
class ChainNode:
    """A running node with the consent chain, its services and a settings file for the CLI."""

    url: str
    settings: Settings
    services: Services
    config: Path
    dataset_url: str


def run_cli(node: ChainNode, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `consentry ARGS --config <node settings>` in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args, "--config", str(node.config)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


@pytest.fixture
def chain_node(served_copies: Path, tmp_path: Path) -> Iterator[ChainNode]:
    """A passport-mode node whose chain has the test objects registered as a GRU dataset."""
    port = free_port()
    state_dir = tmp_path / "state"
    config = tmp_path / "consentry.yaml"
    config.write_text(f"port: {port}\nstate_dir: {state_dir}\n"
                      f"storage:\n  local_root: {served_copies}\n")
    settings = load_settings(config)
    services = build_services(settings)
    node = ChainNode(settings.base_url, settings, services, config,
                     settings.base_url + DATASET_PATH)
    try:
        with ServerThread(create_app(settings, services), port):
            registered = run_cli(node, "consent", "register", "--dataset", DATASET_ID,
                                 "--url", node.dataset_url, "--permission", "GRU",
                                 "--objects", "htsnexus_test_", VCF_ID)
            assert registered.returncode == 0, registered.stderr
            yield node
    finally:
        assert services.consent is not None
        services.consent.close()


def consent_of(node: ChainNode) -> ConsentServices:
    """Return the node's consent services, which exist because the chain is enabled."""
    assert node.services.consent is not None
    return node.services.consent


def passport_file(node: ChainNode, directory: Path, grants: tuple[str, ...]) -> Path:
    """Write a passport from the node's embedded broker with `grants`; return its path."""
    assert node.services.auth.broker is not None
    token = node.services.auth.broker.issue_passport(BrokerSubject("alice", grants=grants), 600)
    path = directory / "passport.jwt"
    write_token_file(path, token)
    return path


def samtools_view(url: str, passport: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HTS_")}
    env["HTS_AUTH_LOCATION"] = str(passport)
    env["HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER"] = "I understand the risks"
    return subprocess.run([require_tool("samtools"), "view", url], env=env,
                          capture_output=True, text=True, timeout=120)


def ticket(node: ChainNode, object_id: str, passport: Path | None,
           endpoint: str = "reads") -> httpx.Response:
    headers = {}
    if passport is not None:
        headers["Authorization"] = f"Bearer {passport.read_text().strip()}"
    return httpx.get(f"{node.url}/{endpoint}/{object_id}", headers=headers, timeout=30)


def verified_receipt(node: ChainNode, tx_hash: str) -> dict[str, object]:
    """Fetch a decision's receipt and verify it offline against the published genesis keys."""
    return verified_decision(node.url, tx_hash)


def test_granted_samtools_read_is_allowed_and_logged(chain_node: ChainNode,
                                                     tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    local = subprocess.run([require_tool("samtools"), "view", str(shared_file(f"{BAM_ID}.bam"))],
                           capture_output=True, text=True, timeout=120, check=True).stdout

    result = samtools_view(f"{chain_node.url}/reads/{BAM_ID}", passport)
    response = ticket(chain_node, BAM_ID, passport)

    assert result.returncode == 0, result.stderr
    assert result.stdout == local
    assert response.status_code == 200
    decision = verified_receipt(chain_node, response.headers[HEADER])
    assert decision["decision"] == "allow"
    assert decision["object_id"] == BAM_ID


def test_withdrawal_denies_next_read(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    assert ticket(chain_node, BAM_ID, passport).status_code == 200

    withdrawn = run_cli(chain_node, "consent", "withdraw", "--dataset", DATASET_ID)
    result = samtools_view(f"{chain_node.url}/reads/{BAM_ID}", passport)
    response = ticket(chain_node, BAM_ID, passport)

    assert withdrawn.returncode == 0, withdrawn.stderr
    assert result.returncode != 0
    assert response.status_code == 403
    decision = verified_receipt(chain_node, response.headers[HEADER])
    assert decision["decision"] == "deny"
    assert "withdrawn" in str(decision["reasons"])


def test_participant_withdrawal_denies_only_their_objects(chain_node: ChainNode,
                                                          tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    withdrawn = run_cli(chain_node, "consent", "withdraw", "--dataset", DATASET_ID,
                        "--participant", "NA12878", "--objects", BAM_ID)

    reads = ticket(chain_node, BAM_ID, passport)
    variants = ticket(chain_node, VCF_ID, passport, "variants")

    assert withdrawn.returncode == 0, withdrawn.stderr
    assert reads.status_code == 403
    assert variants.status_code == 200


def test_missing_grant_is_denied_and_logged(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, ())
    response = ticket(chain_node, BAM_ID, passport)
    assert response.status_code == 403
    decision = verified_receipt(chain_node, response.headers[HEADER])
    assert chain_node.dataset_url in str(decision["reasons"])


def test_bad_credentials_are_logged_with_unknown_requester(chain_node: ChainNode,
                                                           tmp_path: Path) -> None:
    bad = tmp_path / "bad.jwt"
    bad.write_text("not-a-passport")
    response = ticket(chain_node, BAM_ID, bad)
    assert response.status_code == 401
    decision = verified_receipt(chain_node, response.headers[HEADER])
    assert decision["decision"] == "deny"
    assert decision["requester"] == consent_of(chain_node).node.requester("", "")


def test_failed_chain_write_fails_closed(chain_node: ChainNode, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    consent = chain_node.services.consent
    assert consent is not None

    def broken_append(block: StoredBlock) -> None:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(consent.node.store, "append_block", broken_append)
    response = ticket(chain_node, BAM_ID, passport)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "urls" not in response.text
    assert HEADER not in response.headers


def test_unregistered_object_uses_passport_policy(chain_node: ChainNode,
                                                  tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    response = ticket(chain_node, "sample1-bcbio-cancer", passport, "variants")
    assert response.status_code == 403
    assert HEADER not in response.headers


def test_chain_verify_passes_then_names_tampered_block(chain_node: ChainNode,
                                                       tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    response = httpx.get(f"{chain_node.url}/reads/{BAM_ID}", timeout=30,
                         headers={"Authorization": f"Bearer {passport.read_text().strip()}",
                                  "X-Request-Id": "tamper-target-1"})
    assert response.status_code == 200
    verified = run_cli(chain_node, "chain", "verify")
    consent = chain_node.services.consent
    assert consent is not None
    consent.close()

    path = chain_node.settings.state_dir / "chain" / "chain.sqlite"
    data = bytearray(path.read_bytes())
    data[data.index(b"tamper-target-1")] = ord("T")
    path.write_bytes(bytes(data))
    tampered = run_cli(chain_node, "chain", "verify")

    assert verified.returncode == 0, verified.stderr
    assert tampered.returncode == 1
    assert "chain verification failed at block" in tampered.stderr


def test_chain_receipt_command_prints_receipt(chain_node: ChainNode, tmp_path: Path) -> None:
    passport = passport_file(chain_node, tmp_path, (chain_node.dataset_url,))
    tx_hash = ticket(chain_node, BAM_ID, passport).headers[HEADER]
    printed = run_cli(chain_node, "chain", "receipt", tx_hash)
    assert printed.returncode == 0, printed.stderr
    receipt = json.loads(printed.stdout)
    assert receipt["transaction"]["body"]["payload"]["decision"] == "allow"
