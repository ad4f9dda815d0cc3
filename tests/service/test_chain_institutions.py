"""Two institutions on one consent chain in etcd: reads, withdrawals, quorum loss, forgery.

A 3-member etcd cluster runs on 127.0.0.1. Institutions A (hospital-a) and
B (clinic-b) each run a passport-mode node with its own state directory and
its own copy of the NA12878 files. Both pin one genesis written by
`consentry chain keygen` and `consentry chain genesis`. A registers the
dataset; B catalogs its own copy and serves it, each node's broker issuing
the passports for that node.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest

from adapters.chain.local_cluster import LocalCluster
from consent_chain.crypto import Signer
from consent_chain.node_etcd import EtcdChainNode
from consent_chain.transactions import decode_transaction
from service.app import Services, build_services, create_app
from service.auth.broker import BrokerSubject
from service.auth.node import write_token_file
from service.config import Settings, load_settings
from service.consent_header import HEADER
from tests.adapters.chain.cluster import heal, session_cluster, stop_session_cluster, unique_prefix
from tests.adapters.chain.forge import forge_block, put_block
from tests.service.conftest import ServerThread
from tests.support import REPO_ROOT, free_port, require_tool, shared_file

BAM_ID = "htsnexus_test_NA12878"
DATASET_ID = "EGAD00000000042"
# An identifier that visas name; nothing is fetched from it.
DATASET_URL = "https://datasets.consortium.example/na12878"
MEMBERS = ("hospital-a", "clinic-b")
RECOVERY_SECONDS = 60.0


@dataclass
class Institution:
    """One running institution node: its member id, URL, services and settings file."""

    member: str
    url: str
    settings: Settings
    services: Services
    config: Path

    @property
    def node(self) -> EtcdChainNode:
        """The node's chain node, which runs on etcd in these tests."""
        assert self.services.consent is not None
        node = self.services.consent.node
        assert isinstance(node, EtcdChainNode)
        return node


@dataclass
class Consortium:
    """Institutions A and B on one chain, with its etcd cluster and prefix."""

    a: Institution
    b: Institution
    cluster: LocalCluster
    prefix: str


def consentry(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `consentry ARGS` in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], capture_output=True, text=True,
        timeout=120, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def checked(result: subprocess.CompletedProcess[str]) -> str:
    """Return a command's output after asserting that it succeeded."""
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """The session's 3-member etcd cluster."""
    yield session_cluster(tmp_path_factory)
    stop_session_cluster()


@pytest.fixture
def cluster(shared_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The shared cluster, with every member a test killed restarted afterwards."""
    yield shared_cluster
    heal(shared_cluster)


def write_config(directory: Path, member: str, cluster: LocalCluster, prefix: str,
                 finality: str = "proposer") -> Path:
    """Write an institution's settings file and its own copy of the NA12878 BAM."""
    objects = directory / "objects"
    objects.mkdir(parents=True)
    for name in (f"{BAM_ID}.bam", f"{BAM_ID}.bam.bai"):
        shutil.copy(shared_file(name), objects / name)
    config = directory / "consentry.yaml"
    config.write_text(json.dumps({
        "port": free_port(),
        "state_dir": str(directory / "state"),
        "storage": {"local_root": str(objects)},
        "chain": {
            "institution_id": member, "institution_name": member.title(),
            "store": "etcd", "etcd_endpoints": cluster.endpoints, "etcd_prefix": prefix,
            "genesis_file": str(directory.parent / "genesis.json"),
            "register_sample_dataset": False, "finality": finality,
            "write_timeout_seconds": 3,
        },
    }))
    return config


def write_genesis(configs: list[Path], output: Path) -> None:
    """Create each institution's key and write a genesis naming both as members."""
    members = [json.loads(checked(consentry("chain", "keygen", "--config", str(config))))
               for config in configs]
    arguments = [part for member in members for part in ("--member", member["member"])]
    checked(consentry("chain", "genesis", *arguments, "-o", str(output)))


@pytest.fixture
def finality() -> str:
    """The chain.finality of both nodes; a test overrides it with parametrize."""
    return "proposer"


@pytest.fixture
def consortium(cluster: LocalCluster, tmp_path: Path, finality: str) -> Iterator[Consortium]:
    """Nodes A and B serving, with the dataset registered at A and cataloged at B."""
    prefix = unique_prefix("institutions")
    configs = [write_config(tmp_path / member, member, cluster, prefix, finality)
               for member in MEMBERS]
    write_genesis(configs, tmp_path / "genesis.json")
    institutions = []
    for member, config in zip(MEMBERS, configs, strict=True):
        settings = load_settings(config)
        institutions.append(Institution(member, settings.base_url, settings,
                                        build_services(settings), config))
    a, b = institutions
    try:
        with ServerThread(create_app(a.settings, a.services), a.settings.port), \
                ServerThread(create_app(b.settings, b.services), b.settings.port):
            checked(consentry("consent", "register", "--config", str(a.config),
                              "--dataset", DATASET_ID, "--url", DATASET_URL,
                              "--permission", "GRU", "--objects", "htsnexus_test_"))
            checked(consentry("consent", "catalog", "--config", str(b.config),
                              "--dataset", DATASET_ID, "--url", DATASET_URL,
                              "--objects", "htsnexus_test_"))
            yield Consortium(a, b, cluster, prefix)
    finally:
        for institution in institutions:
            assert institution.services.consent is not None
            institution.services.consent.close()


def passport_for(institution: Institution, directory: Path) -> Path:
    """Write a passport granting the dataset, issued by the institution's own broker."""
    broker = institution.services.auth.broker
    assert broker is not None
    token = broker.issue_passport(BrokerSubject("alice", grants=(DATASET_URL,)), 600)
    path = directory / f"passport-{institution.member}.jwt"
    write_token_file(path, token)
    return path


def ticket(institution: Institution, passport: Path) -> httpx.Response:
    """Request a reads ticket for the BAM with the passport."""
    return httpx.get(f"{institution.url}/reads/{BAM_ID}", timeout=60,
                     headers={"Authorization": f"Bearer {passport.read_text().strip()}"})


def samtools_view(institution: Institution, passport: Path) -> subprocess.CompletedProcess[str]:
    """Run `samtools view` on the node's htsget URL with the passport."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HTS_")}
    env["HTS_AUTH_LOCATION"] = str(passport)
    env["HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER"] = "I understand the risks"
    return subprocess.run([require_tool("samtools"), "view", f"{institution.url}/reads/{BAM_ID}"],
                          env=env, capture_output=True, text=True, timeout=120)


def audited(institution: Institution) -> dict[str, str]:
    """Return tx hash -> decision of every BAM decision in the institution's audit index."""
    institution.node.refresh()
    response = httpx.get(f"{institution.url}/consent-chain/decisions",
                         params={"object_id": BAM_ID}, timeout=30)
    assert response.status_code == 200, response.text
    return {row["tx_hash"]: row["decision"] for row in response.json()["decisions"]}


def heads(institution: Institution) -> list[str]:
    """Run `consentry chain verify` and return its mirror and etcd head lines."""
    institution.node.refresh()
    output = checked(consentry("chain", "verify", "--config", str(institution.config)))
    return [line for line in output.splitlines() if line.endswith("transactions")]


def wait_for_status(request: Callable[[], httpx.Response], status: int) -> httpx.Response:
    """Repeat `request` until it answers `status`; fail after RECOVERY_SECONDS."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        response = request()
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_withdrawal_at_a_denies_next_read_at_b(consortium: Consortium, tmp_path: Path) -> None:
    a, b = consortium.a, consortium.b
    passport_a, passport_b = passport_for(a, tmp_path), passport_for(b, tmp_path)
    local = subprocess.run([require_tool("samtools"), "view", str(shared_file(f"{BAM_ID}.bam"))],
                           capture_output=True, text=True, timeout=120, check=True).stdout

    read = samtools_view(b, passport_b)
    allowed = ticket(b, passport_b)
    withdrawn = consentry("consent", "withdraw", "--config", str(a.config),
                          "--dataset", DATASET_ID)
    denied_read = samtools_view(b, passport_b)
    denied = ticket(b, passport_b)
    denied_at_a = ticket(a, passport_a)

    assert read.returncode == 0, read.stderr
    assert read.stdout == local
    assert allowed.status_code == 200
    assert withdrawn.returncode == 0, withdrawn.stderr
    assert denied_read.returncode != 0
    assert denied.status_code == 403
    assert denied_at_a.status_code == 403
    expected = {allowed.headers[HEADER]: "allow", denied.headers[HEADER]: "deny"}
    for institution in (a, b):
        assert expected.items() <= audited(institution).items()
    heads_a, heads_b = heads(a), heads(b)
    assert len(heads_a) == 2
    assert heads_a == heads_b
    assert heads_a[0].removeprefix("mirror head: ") == heads_a[1].removeprefix("etcd head:   ")


def test_participant_withdrawal_at_a_denies_b_until_mapped(consortium: Consortium,
                                                           tmp_path: Path) -> None:
    a, b = consortium.a, consortium.b
    passport_b = passport_for(b, tmp_path)
    assert ticket(b, passport_b).status_code == 200

    checked(consentry("consent", "withdraw", "--config", str(a.config), "--dataset", DATASET_ID,
                      "--participant", "NA12878", "--objects", BAM_ID))
    unmapped = ticket(b, passport_b)
    pending = checked(consentry("consent", "pending", "--config", str(b.config),
                                "--dataset", DATASET_ID)).split()
    pending_at_a = checked(consentry("consent", "pending", "--config", str(a.config),
                                     "--dataset", DATASET_ID)).split()
    checked(consentry("consent", "participant", "--config", str(b.config),
                      "--dataset", DATASET_ID, "--pseudonym", pending[0], "--objects", BAM_ID))
    mapped = ticket(b, passport_b)

    assert unmapped.status_code == 403
    assert len(pending) == 1
    assert pending[0] in unmapped.json()["htsget"]["message"]
    assert "missing from this node's catalog" in unmapped.json()["htsget"]["message"]
    assert pending_at_a == []
    assert mapped.status_code == 403
    assert "withdrew consent" in mapped.json()["htsget"]["message"]
    assert "missing from this node's catalog" not in mapped.json()["htsget"]["message"]
    assert {unmapped.headers[HEADER]: "deny"}.items() <= audited(a).items()


def test_lost_quorum_fails_closed_then_recovers(consortium: Consortium, tmp_path: Path) -> None:
    b, cluster = consortium.b, consortium.cluster
    passport = passport_for(b, tmp_path)
    assert ticket(b, passport).status_code == 200

    for member in cluster.members[:2]:
        cluster.kill_member(member)
    unavailable = ticket(b, passport)
    heal(cluster)
    recovered = wait_for_status(lambda: ticket(b, passport), 200)

    assert unavailable.status_code == 503
    assert "consent chain is unavailable" in unavailable.json()["htsget"]["message"]
    assert HEADER not in unavailable.headers
    assert recovered.status_code == 200, recovered.text
    assert HEADER in recovered.headers


def test_forged_block_halts_both_nodes(consortium: Consortium, tmp_path: Path,
                                       caplog: pytest.LogCaptureFixture) -> None:
    a, b = consortium.a, consortium.b
    passports = {a.member: passport_for(a, tmp_path), b.member: passport_for(b, tmp_path)}
    assert ticket(b, passports[b.member]).status_code == 200
    b.node.refresh()
    replay = b.node.follower.replay
    replayed = decode_transaction(b.node.store.block_at(replay.height).transactions[0].envelope)
    member_a = next(item for item in a.node.genesis.model.members if item.id == a.member)
    forged = forge_block(replay, [replayed], proposer=a.member,
                         key_id=member_a.keys[0].key_id, signer=Signer.generate())

    with caplog.at_level(logging.ERROR):
        put_block(consortium.cluster.endpoints, consortium.prefix, forged)
        halted = {institution.member: wait_for_status(
            partial(ticket, institution, passports[institution.member]), 503)
            for institution in (a, b)}

    for member, response in halted.items():
        assert response.status_code == 503, member
        assert "halted" in response.json()["htsget"]["message"], member
        assert HEADER not in response.headers, member
    assert any("halted" in record.getMessage() for record in caplog.records
               if record.levelno == logging.ERROR)


def test_command_without_etcd_settings_leaves_chain_alone(consortium: Consortium,
                                                          tmp_path: Path) -> None:
    a = consortium.a
    config = json.loads(a.config.read_text())
    for key in ("store", "etcd_endpoints", "etcd_prefix"):
        del config["chain"][key]
    sqlite_config = tmp_path / "without-etcd.yaml"
    sqlite_config.write_text(json.dumps(config))
    before = heads(a)

    withdrawn = consentry("consent", "withdraw", "--config", str(sqlite_config),
                          "--dataset", DATASET_ID)

    assert withdrawn.returncode == 1
    assert "belongs to a node whose blocks live in etcd" in withdrawn.stderr
    assert "chain.store sqlite" in withdrawn.stderr
    assert heads(a) == before
    assert ticket(a, passport_for(a, tmp_path)).status_code == 200


def test_serve_with_other_chain_genesis_pins_nothing(consortium: Consortium,
                                                      tmp_path: Path) -> None:
    config_path = write_config(tmp_path / "newcomer", "hospital-a", consortium.cluster,
                               consortium.prefix)
    other_genesis = tmp_path / "newcomer-genesis.json"
    write_genesis([config_path], other_genesis)
    config = json.loads(config_path.read_text())
    config["chain"]["genesis_file"] = str(other_genesis)
    config_path.write_text(json.dumps(config))

    started = consentry("serve", "--config", str(config_path))

    assert started.returncode == 1
    lines = started.stderr.strip().splitlines()
    assert lines[-1].startswith("consentry: the consent chain could not be opened: ")
    assert f"etcd prefix '{consortium.prefix}' stores chain" in lines[-1]
    assert "Traceback" not in started.stderr
    assert not (Path(config["state_dir"]) / "chain" / "genesis.json").exists()


def test_serve_without_etcd_fails_in_one_line(tmp_path: Path) -> None:
    config_path = tmp_path / "consentry.yaml"
    config_path.write_text(json.dumps({
        "port": free_port(), "state_dir": str(tmp_path / "state"),
        "chain": {"store": "etcd", "etcd_endpoints": [f"http://127.0.0.1:{free_port()}"]},
    }))

    started = consentry("serve", "--config", str(config_path))

    assert started.returncode == 1
    assert "Traceback" not in started.stderr
    assert "consentry: the consent chain could not be opened: no etcd member responded" in (
        started.stderr)


@pytest.mark.parametrize("finality", ["quorum"])
def test_quorum_finality_needs_the_other_cosigner(consortium: Consortium, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    a, b = consortium.a, consortium.b
    passport = passport_for(a, tmp_path)
    final = ticket(a, passport)
    b.node.follower.stop()
    started = time.monotonic()
    waiting = ticket(a, passport)
    waited = time.monotonic() - started

    assert final.status_code == 200, final.text
    assert a.node.follower.is_final(a.node.follower.replay.height - 1)
    assert waiting.status_code == 503
    assert "could not record the access decision" in waiting.json()["htsget"]["message"]
    assert "a quorum of members has not cosigned it within 3 s" in caplog.text
    assert HEADER not in waiting.headers
    assert 3 <= waited < 10
