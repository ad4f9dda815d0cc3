"""A node killed with SIGKILL under load keeps every access decision it reported.

The node writes each decision to the chain before it responds, so every
`X-Consent-Decision` hash a client received must be on the chain after a
restart on the same state directory, and the chain must still verify.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.consent_chain.independent_verifier import (
    ChainVerifier,
    canonical,
    verify_receipt,
)
from tests.support import REPO_ROOT, free_port

HEADER = "X-Consent-Decision"
OBJECT_PATH = "/reads/sample/NA00001"
CLIENTS = 4
DECISIONS_BEFORE_KILL = 30
LOAD_SECONDS = 20


def start_node(directory: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Start `consentry serve` in `directory` and return once it accepts requests."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            cwd=directory, stdout=output, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}/service-info", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_node(process)
    pytest.fail("consentry serve did not start:\n" + log.read_text())


def stop_node(process: subprocess.Popen[bytes]) -> None:
    """Kill the node if it still runs and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait(15)


class LoadClients:
    """Client threads that request tickets until stopped and keep every decision header."""

    def __init__(self, url: str, passport: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {passport}"}
        self.decisions: list[str] = []
        self.statuses: list[int] = []
        self.failed_requests = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> LoadClients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def count(self) -> int:
        with self.lock:
            return len(self.decisions)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    response = client.get(self.url, headers=self.headers)
                except httpx.HTTPError:
                    # The node is down; a request without a response reported no decision.
                    with self.lock:
                        self.failed_requests += 1
                    time.sleep(0.01)
                    continue
                with self.lock:
                    self.statuses.append(response.status_code)
                    if HEADER in response.headers:
                        self.decisions.append(response.headers[HEADER])


def run_cli(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=directory,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


def pinned_keys(base_url: str) -> tuple[str, dict[str, dict[str, str]]]:
    """Return the chain id and the genesis member keys the node publishes."""
    published = httpx.get(f"{base_url}/consent-chain/genesis", timeout=10).json()
    keys = {member["id"]: {key["key_id"]: key["public_key"] for key in member["keys"]}
            for member in published["genesis"]["members"]}
    return published["chain_id"], keys


def replay_over_http(base_url: str) -> ChainVerifier:
    """Fetch every block from `/consent-chain/blocks/{height}` and replay it independently."""
    genesis = httpx.get(f"{base_url}/consent-chain/genesis", timeout=10).json()["genesis"]
    checkpoint = httpx.get(f"{base_url}/consent-chain/checkpoint", timeout=10).json()
    verifier = ChainVerifier.from_genesis_bytes(canonical(genesis))
    for height in range(1, checkpoint["body"]["block_height"] + 1):
        block = httpx.get(f"{base_url}/consent-chain/blocks/{height}", timeout=10).json()
        sealed = canonical({"header": block["header"], "signature": block["signature"]})
        envelopes = [canonical({"body": tx["body"], "signature": tx["signature"]})
                     for tx in block["transactions"]]
        verifier.verify_block(bytes.fromhex(block["block_hash"]),
                              bytes.fromhex(block["header"]["prev_hash"]), sealed, envelopes)
    return verifier


def test_killed_node_keeps_reported_decisions(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "node.log"
    node = start_node(tmp_path, port, log)
    try:
        passport = (tmp_path / ".consentry" / "demo-passport.jwt").read_text().strip()
        with LoadClients(base_url + OBJECT_PATH, passport) as clients:
            deadline = time.monotonic() + LOAD_SECONDS
            while clients.count() < DECISIONS_BEFORE_KILL and time.monotonic() < deadline:
                time.sleep(0.05)
            node.kill()
            node.wait(15)
            time.sleep(0.3)
        node = start_node(tmp_path, port, log)

        chain_id, keys = pinned_keys(base_url)
        verified = run_cli(tmp_path, "chain", "verify")
        replayed = replay_over_http(base_url)
        receipts = [httpx.get(f"{base_url}/consent-chain/transactions/{tx}/receipt", timeout=10)
                    for tx in clients.decisions]
    finally:
        stop_node(node)

    assert clients.count() >= DECISIONS_BEFORE_KILL, f"statuses: {set(clients.statuses)}"
    assert clients.failed_requests > 0, "the clients never saw the node down"
    assert set(clients.statuses) == {200}
    assert len(set(clients.decisions)) == len(clients.decisions)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert len(replayed.log) > len(clients.decisions)
    for tx_hash, receipt in zip(clients.decisions, receipts, strict=True):
        assert receipt.status_code == 200, f"decision {tx_hash} is missing from the chain"
        body = verify_receipt(canonical(receipt.json()), keys, chain_id)
        assert body["payload"]["decision"] == "allow"
