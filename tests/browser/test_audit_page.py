"""The /audit page in chromium: decisions listed from the chain, receipts verified in the browser.

Each node test starts a passport-mode node with the consent chain, registers
the NA12878 test objects as a dataset with `consentry consent register`, makes
allowed and denied ticket requests with passports from the embedded broker and
collects their X-Consent-Decision headers. The page must list exactly those
decisions and verify every receipt itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from consent_chain.errors import ChainCorrupted
from service.app import Services, build_services, create_app
from service.auth.broker import BrokerSubject
from service.config import Settings, load_settings
from service.consent_header import HEADER
from tests.browser.conftest import BrowseNode
from tests.service.conftest import ServerThread
from tests.support import REPO_ROOT, free_port

DATASET_ID = "EGAD00000000001"
DATASET_PATH = "/datasets/na12878"
BAM_ID = "htsnexus_test_NA12878"
VCF_ID = "spec-v4.3"
TAMPERED_REQUEST_ID = "audit-tamper-target"
DOCS = REPO_ROOT / "docs" / "consent-chain.md"


@dataclass
class AuditNode:
    """A running node with the consent chain and the registered test dataset."""

    url: str
    settings: Settings
    services: Services
    dataset_url: str


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `consentry ARGS --config CONFIG` in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args, "--config", str(config)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


@pytest.fixture
def audit_config(browse_data: Path, tmp_path: Path) -> Path:
    """A settings file for a passport-mode node on a free port, serving the test objects."""
    config = tmp_path / "consentry.yaml"
    config.write_text(f"port: {free_port()}\nstate_dir: {tmp_path / 'state'}\n"
                      f"storage:\n  local_root: {browse_data}\n")
    return config


@pytest.fixture
def audit_node(audit_config: Path) -> Iterator[AuditNode]:
    """A running node whose chain has the test objects registered as a GRU dataset."""
    settings = load_settings(audit_config)
    services = build_services(settings)
    node = AuditNode(settings.base_url, settings, services, settings.base_url + DATASET_PATH)
    try:
        with ServerThread(create_app(settings, services), settings.port):
            registered = run_cli(audit_config, "consent", "register", "--dataset", DATASET_ID,
                                 "--url", node.dataset_url, "--permission", "GRU",
                                 "--objects", "htsnexus_test_", VCF_ID)
            assert registered.returncode == 0, registered.stderr
            yield node
    finally:
        assert services.consent is not None
        services.consent.close()


def passport(node: AuditNode, subject: str, grants: tuple[str, ...]) -> str:
    """Return a passport from the node's embedded broker with the given dataset grants."""
    assert node.services.auth.broker is not None
    return node.services.auth.broker.issue_passport(BrokerSubject(subject, grants=grants), 600)


def request_ticket(node: AuditNode, path: str, token: str | None,
                   request_id: str | None = None) -> httpx.Response:
    """Request an htsget ticket, e.g. `reads/ID`, with an optional bearer token."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    return httpx.get(f"{node.url}/{path}", headers=headers, timeout=30)


def script_decisions(node: AuditNode, audit_config: Path) -> list[tuple[str, str]]:
    """Make allowed and denied requests; return each (tx hash, decision) in request order."""
    granted = passport(node, "alice", (node.dataset_url,))
    ungranted = passport(node, "bob", ())
    calls: list[tuple[str, str | None, int]] = [
        *[(f"reads/{BAM_ID}", granted, 200) for _ in range(8)],
        (f"variants/{VCF_ID}", granted, 200),
        (f"reads/{BAM_ID}", ungranted, 403),
        (f"reads/{BAM_ID}", None, 401),
    ]
    decisions = []
    for path, token, status in calls:
        response = request_ticket(node, path, token)
        assert response.status_code == status, response.text
        decisions.append((response.headers[HEADER], "allow" if status == 200 else "deny"))

    withdrawn = run_cli(audit_config, "consent", "withdraw", "--dataset", DATASET_ID)
    assert withdrawn.returncode == 0, withdrawn.stderr
    response = request_ticket(node, f"reads/{BAM_ID}", granted)
    assert response.status_code == 403, response.text
    decisions.append((response.headers[HEADER], "deny"))
    return decisions


def listed(step: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["txHash"], entry["decision"]) for entry in step["decisions"]]


@pytest.fixture
def scripted_report(audit_node: AuditNode, audit_config: Path, run_audit_browser: Any,
                    artifacts_dir: Path) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The scripted decisions and the report of /audit listing them in pages of 10."""
    expected = script_decisions(audit_node, audit_config)
    report = run_audit_browser(f"{audit_node.url}/audit", [
        {"list": {"dataset_id": DATASET_ID, "page_size": 10},
         "screenshot": str(artifacts_dir / "audit-verified.png")},
        {"next": True, "screenshot": str(artifacts_dir / "audit-verified-page-2.png")},
    ])
    return expected, report


def test_audit_verifies_chain_head(scripted_report: tuple[Any, dict[str, Any]]) -> None:
    _, report = scripted_report
    head = report["initial"]["head"]
    assert report["initial"]["status"] == "idle", report["initial"]["message"]
    assert head["status"] == "verified", head["reason"]
    assert head["body"]["tree_size"] >= 1
    assert report["initial"]["headStatusText"].startswith("verified")


def test_audit_lists_scripted_decisions(scripted_report: tuple[Any, dict[str, Any]]) -> None:
    expected, report = scripted_report
    first, second = report["steps"]
    assert len(expected) == 12
    assert listed(first) == expected[:10]
    assert first["nextPageToken"] is not None
    assert listed(second) == expected[10:]
    assert second["nextPageToken"] is None


def test_audit_verifies_every_receipt(scripted_report: tuple[Any, dict[str, Any]]) -> None:
    _, report = scripted_report
    for step in report["steps"]:
        assert step["status"] == "ready", step["message"]
        for entry in step["decisions"]:
            assert entry["status"] == "verified", entry
        for row in step["rows"]:
            assert row["cells"][-1] == "verified", row


def test_audit_shows_reasons_and_pseudonyms(scripted_report: tuple[Any, dict[str, Any]]) -> None:
    _, report = scripted_report
    rows = report["steps"][0]["rows"] + report["steps"][1]["rows"]
    withdrawn_row = rows[-1]["cells"]
    assert withdrawn_row[7] == "deny"
    assert "withdrawn" in withdrawn_row[8]
    assert len({row["cells"][2] for row in rows}) == 1  # one member recorded them all
    assert rows[0]["cells"][2] != ""
    assert rows[0]["cells"][4] == "htsget/reads"
    assert rows[0]["cells"][5] == BAM_ID
    assert all(len(row["cells"][3]) == 17 for row in rows)


def test_audit_stays_local(scripted_report: tuple[Any, dict[str, Any]]) -> None:
    _, report = scripted_report
    assert report["offsite"] == []
    assert report["consoleErrors"] == []


def tamper_envelope(settings: Settings, marker: str) -> None:
    """Change one byte of the stored transaction envelope that contains `marker`."""
    path = settings.state_dir / "chain" / "chain.sqlite"
    with sqlite3.connect(path) as connection:
        leaf_index, envelope = connection.execute(
            "SELECT leaf_index, envelope FROM transactions WHERE instr(envelope, ?) > 0",
            (marker.encode(),),
        ).fetchone()
        data = bytearray(envelope)
        data[data.index(marker.encode())] = ord(marker[0].upper())
        connection.execute("UPDATE transactions SET envelope = ? WHERE leaf_index = ?",
                           (bytes(data), leaf_index))


def test_audit_shows_tampered_receipt_as_failed(audit_node: AuditNode, run_audit_browser: Any,
                                                artifacts_dir: Path) -> None:
    token = passport(audit_node, "alice", (audit_node.dataset_url,))
    target = request_ticket(audit_node, f"reads/{BAM_ID}", token, TAMPERED_REQUEST_ID)
    intact = request_ticket(audit_node, f"variants/{VCF_ID}", token)
    assert target.status_code == 200
    assert intact.status_code == 200
    # The running node's audit index keeps the decision as it was signed, while
    # the store now serves the altered envelope in the receipt.
    tamper_envelope(audit_node.settings, TAMPERED_REQUEST_ID)

    report = run_audit_browser(f"{audit_node.url}/audit", [
        {"list": {"dataset_id": DATASET_ID},
         "screenshot": str(artifacts_dir / "audit-tampered.png")},
    ])

    step = report["steps"][0]
    by_hash = {entry["txHash"]: entry for entry in step["decisions"]}
    assert step["status"] == "error"
    assert "1 of 2 receipts could not be verified" in step["message"]
    assert by_hash[target.headers[HEADER]]["status"] == "failed"
    assert "the transaction hashes to" in by_hash[target.headers[HEADER]]["reason"]
    assert by_hash[intact.headers[HEADER]]["status"] == "verified"


def test_audit_flags_index_naming_another_member(
    audit_node: AuditNode, run_audit_browser: Any
) -> None:
    token = passport(audit_node, "alice", (audit_node.dataset_url,))
    target = request_ticket(audit_node, f"reads/{BAM_ID}", token)
    assert target.status_code == 200
    tx_hash = target.headers[HEADER]
    list_decisions = httpx.get(f"{audit_node.url}/consent-chain/decisions", timeout=10)
    assert list_decisions.status_code == 200  # brings the audit index up to date
    path = audit_node.settings.state_dir / "chain" / "audit.sqlite"
    with sqlite3.connect(path) as connection:
        changed = connection.execute("UPDATE decisions SET member = 'clinic-b' WHERE tx_hash = ?",
                                     (tx_hash,)).rowcount
    assert changed == 1

    report = run_audit_browser(f"{audit_node.url}/audit", [{"list": {"dataset_id": DATASET_ID}}])

    by_hash = {entry["txHash"]: entry for entry in report["steps"][0]["decisions"]}
    assert by_hash[tx_hash]["status"] == "failed"
    assert "names clinic-b as the member" in by_hash[tx_hash]["reason"]


def test_node_refuses_to_restart_on_tampered_chain(audit_node: AuditNode) -> None:
    token = passport(audit_node, "alice", (audit_node.dataset_url,))
    assert request_ticket(audit_node, f"reads/{BAM_ID}", token,
                          TAMPERED_REQUEST_ID).status_code == 200
    assert audit_node.services.consent is not None
    audit_node.services.consent.close()
    tamper_envelope(audit_node.settings, TAMPERED_REQUEST_ID)

    with pytest.raises(ChainCorrupted):
        build_services(audit_node.settings)


def test_audit_reports_unreachable_api(audit_node: AuditNode, run_audit_browser: Any,
                                       artifacts_dir: Path) -> None:
    report = run_audit_browser(
        f"{audit_node.url}/audit",
        [{"list": {"dataset_id": DATASET_ID}}],
        abortPaths=["/consent-chain/"],
        initialScreenshot=str(artifacts_dir / "audit-unreachable.png"),
    )

    assert report["initial"]["status"] == "error"
    assert "unreachable" in report["initial"]["message"]
    assert report["initial"]["head"]["status"] == "unavailable"
    assert report["steps"][0]["status"] == "error"
    assert "Decisions could not be listed" in report["steps"][0]["message"]
    assert report["steps"][0]["rows"] == []


def worked_example() -> dict[str, str]:
    """Return the `name = value` lines of the worked example in docs/consent-chain.md."""
    text = DOCS.read_text()
    block = text.split("<!-- worked-example:start -->")[1].split("<!-- worked-example:end -->")[0]
    values = {}
    for line in block.splitlines():
        name, separator, value = line.partition(" = ")
        if separator:
            values[name.strip()] = value.strip()
    return values


def worked_receipt() -> dict[str, Any]:
    """Return the genesis answer, the receipt of tx 1 and its tx hash, from the worked example."""
    values = worked_example()
    proof = values["tx 1 inclusion proof"].strip("[]").replace("'", "").split(", ")
    receipt = {
        "version": 1,
        "transaction": {"body": json.loads(values["tx 1 body (canonical)"]),
                        "signature": values["tx 1 signature"]},
        "leaf_index": 1,
        "block_height": 1,
        "inclusion_proof": proof,
        "checkpoint": json.loads(values["checkpoint"]),
    }
    return {
        "genesis": {"chain_id": values["chain_id"],
                    "genesis": json.loads(values["genesis (canonical)"])},
        "receipt": receipt,
        "txHash": values["tx 1 tx_hash"],
    }


def test_verify_module_accepts_worked_example(open_node: BrowseNode,
                                              run_audit_browser: Any) -> None:
    values = worked_example()
    good = worked_receipt()
    bad_proof = worked_receipt()
    bad_proof["receipt"]["inclusion_proof"] = [values["tx 1 leaf hash"]]
    bad_signature = worked_receipt()
    bad_signature["receipt"]["checkpoint"]["body"]["tree_size"] = 3

    report = run_audit_browser(f"{open_node.url}/audit", [
        {"verify": good}, {"verify": bad_proof}, {"verify": bad_signature},
    ])

    accepted, wrong_proof, wrong_signature = report["steps"]
    assert accepted["ok"], accepted
    assert accepted["chainId"] == values["chain_id"]
    assert accepted["txHash"] == values["tx 1 tx_hash"]
    assert accepted["leafHash"] == values["tx 1 leaf hash"]
    assert not wrong_proof["ok"]
    assert "does not lead to the checkpoint's root hash" in wrong_proof["error"]
    assert not wrong_signature["ok"]
    assert "signature of the checkpoint is invalid" in wrong_signature["error"]
