"""`consentry drs get` resolves DRS URIs, fetches objects from another node and verifies them."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import DrsSettings
from service.federation import FederationError, drs_get, object_url, parse_drs_uri
from tests.service.drs.conftest import BAM_NAME, DrsNode, drs_settings, run_drs_node
from tests.support import REPO_ROOT, shared_file

B_HOST = "drs.institution-b.example.org"


@pytest.fixture(scope="module")
def node_b(ingest_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrsNode]:
    """A second institution: its own state, its own local storage and DRS hostname."""
    storage = {"backend": "local", "local_root": tmp_path_factory.mktemp("b-objects")}
    settings = drs_settings(tmp_path_factory.mktemp("b-state"), storage,
                            drs={"hostname": B_HOST})
    yield from run_drs_node(settings, "local", ingest_sources)


@pytest.fixture
def peers(node_b: DrsNode) -> DrsSettings:
    """Institution A's view of its peers: B's hostname and a compact prefix for B."""
    return DrsSettings(
        peers={B_HOST: node_b.drs},
        compact_prefixes={"drs.b": f"{node_b.drs}/objects/{{id}}"},
    )


@pytest.mark.parametrize(("uri", "host", "prefix", "object_id"), [
    ("drs://drs.example.org/abc.123", "drs.example.org", None, "abc.123"),
    ("drs://drs.example.org/a%2Fb", "drs.example.org", None, "a%2Fb"),
    ("drs://drs.b:abc", None, "drs.b", "abc"),
    ("drs://dg.4503:8f1e-11", None, "dg.4503", "8f1e-11"),
    ("drs://provider/namespace:acc", None, "provider/namespace", "acc"),
])
def test_parse_drs_uri_forms(uri: str, host: str | None, prefix: str | None,
                             object_id: str) -> None:
    parsed = parse_drs_uri(uri)
    assert parsed.hostname == host
    assert parsed.prefix == prefix
    assert parsed.object_id == object_id


@pytest.mark.parametrize(("uri", "text"), [
    ("https://drs.example.org/abc", "is not a DRS URI"),
    ("drs://", "is malformed"),
    ("drs://drs.example.org/", "is malformed"),
    ("drs://drs.example.org", "is malformed"),
    ("drs://bad host/abc", "is malformed"),
    ("drs://drs.example.org:8443/abc", "is malformed"),
    ("drs://prefix:", "is malformed"),
])
def test_malformed_uri_names_fix(uri: str, text: str) -> None:
    with pytest.raises(FederationError, match=text) as raised:
        parse_drs_uri(uri)
    assert "drs://<" in str(raised.value)


def test_unknown_host_defaults_to_https() -> None:
    url = object_url(parse_drs_uri("drs://drs.example.org/x1"), DrsSettings())
    assert url == "https://drs.example.org/ga4gh/drs/v1/objects/x1"


def test_unknown_prefix_names_setting() -> None:
    with pytest.raises(FederationError, match=r"drs\.compact_prefixes"):
        object_url(parse_drs_uri("drs://nope:x1"), DrsSettings())


def test_get_by_hostname_fetches_peer_object(node_b: DrsNode, peers: DrsSettings,
                                             tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    written = drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam")
    assert written.read_bytes() == shared_file(BAM_NAME).read_bytes()
    assert not (tmp_path / "copy.bam.part").exists()


def test_get_by_compact_uri(node_b: DrsNode, peers: DrsSettings, tmp_path: Path) -> None:
    record = node_b.records["README.md"]
    written = drs_get(f"drs://drs.b:{record.id}", peers, tmp_path / "readme")
    assert hashlib.sha256(written.read_bytes()).hexdigest() == record.sha256


def test_get_resumes_partial_download(node_b: DrsNode, peers: DrsSettings,
                                      tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    data = shared_file(BAM_NAME).read_bytes()
    (tmp_path / "copy.bam.part").write_bytes(data[:123_456])
    written = drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam")
    assert written.read_bytes() == data


def test_get_rejects_corrupt_partial(node_b: DrsNode, peers: DrsSettings,
                                     tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    (tmp_path / "copy.bam.part").write_bytes(b"\0" * 1000)
    with pytest.raises(FederationError, match="sha256 of drs://"):
        drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam")
    assert not (tmp_path / "copy.bam.part").exists()
    assert not (tmp_path / "copy.bam").exists()


def test_get_rejects_other_existing_output(node_b: DrsNode, peers: DrsSettings,
                                           tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    (tmp_path / "copy.bam").write_bytes(b"someone else's file\n")

    with pytest.raises(FederationError, match="already exists") as raised:
        drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam")

    assert "--force" in str(raised.value)
    assert (tmp_path / "copy.bam").read_bytes() == b"someone else's file\n"
    assert not (tmp_path / "copy.bam.part").exists()


def test_get_force_replaces_output(node_b: DrsNode, peers: DrsSettings, tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    (tmp_path / "copy.bam").write_bytes(b"someone else's file\n")

    written = drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam", force=True)

    assert written.read_bytes() == shared_file(BAM_NAME).read_bytes()


def test_get_keeps_output_with_same_object(node_b: DrsNode, peers: DrsSettings,
                                           tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    target = tmp_path / "copy.bam"
    target.write_bytes(shared_file(BAM_NAME).read_bytes())
    modified = target.stat().st_mtime_ns

    written = drs_get(f"drs://{B_HOST}/{record.id}", peers, target)

    assert written == target
    assert target.stat().st_mtime_ns == modified
    assert not (tmp_path / "copy.bam.part").exists()


def test_get_rejects_directory_output(node_b: DrsNode, peers: DrsSettings,
                                      tmp_path: Path) -> None:
    record = node_b.records[BAM_NAME]
    (tmp_path / "copy.bam").mkdir()

    with pytest.raises(FederationError, match="is not a file"):
        drs_get(f"drs://{B_HOST}/{record.id}", peers, tmp_path / "copy.bam", force=True)


def test_get_unknown_object_reports_status(peers: DrsSettings, tmp_path: Path) -> None:
    with pytest.raises(FederationError, match="status 404: no DRS object with id 'missing'"):
        drs_get(f"drs://{B_HOST}/missing", peers, tmp_path / "out")


def test_cli_fetches_from_other_institution(
    node_b: DrsNode, drs_local_node: DrsNode, tmp_path: Path
) -> None:
    a_config = tmp_path / "institution-a.yaml"
    a_config.write_text(yaml.safe_dump({
        "state_dir": str(drs_local_node.settings.state_dir),
        "drs": {"hostname": "a.example.org", "peers": {B_HOST: node_b.drs}},
    }))
    (tmp_path / "passport.jwt").write_text("header.payload.signature\n")
    record = node_b.records[BAM_NAME]
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "drs", "get", f"drs://{B_HOST}/{record.id}",
         "-o", str(tmp_path / "fetched.bam"), "--passport", str(tmp_path / "passport.jwt"),
         "--config", str(a_config)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "fetched.bam")
    assert (tmp_path / "fetched.bam").read_bytes() == shared_file(BAM_NAME).read_bytes()


def test_cli_malformed_uri_exits_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "drs", "get", "drs://host:99/x"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "drs://host:99/x" in result.stderr


def test_cli_resolves_own_self_uri_with_port(drs_local_node: DrsNode, tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(drs_local_node.settings.state_dir),
        "port": drs_local_node.settings.port,
    }))
    record = drs_local_node.records[BAM_NAME]
    self_uri = f"drs://127.0.0.1/{record.id}"
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "drs", "get", self_uri,
         "-o", str(tmp_path / "own.bam"), "--config", str(config)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "own.bam").read_bytes() == shared_file(BAM_NAME).read_bytes()


def _own_node_get(
    node: DrsNode, uri: str, tmp_path: Path, *options: str, **drs: Any
) -> subprocess.CompletedProcess[str]:
    """Run `drs get` with the state and port of `node`, the DRS settings `drs` and `options`."""
    config = tmp_path / "node.yaml"
    config.write_text(yaml.safe_dump({
        "state_dir": str(node.settings.state_dir),
        "port": node.settings.port,
        "drs": drs,
    }))
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "drs", "get", uri,
         "-o", str(tmp_path / "out"), "--config", str(config), *options],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_cli_own_host_404_names_peers(drs_local_node: DrsNode, tmp_path: Path) -> None:
    result = _own_node_get(drs_local_node, "drs://127.0.0.1/cohort1.missing", tmp_path)

    assert result.returncode == 1
    assert "status 404" in result.stderr
    assert "127.0.0.1 was taken as this node" in result.stderr
    assert "drs.peers" in result.stderr


def test_cli_peer_404_has_no_own_host_hint(drs_local_node: DrsNode, tmp_path: Path) -> None:
    result = _own_node_get(drs_local_node, "drs://127.0.0.1/cohort1.missing", tmp_path,
                           peers={"127.0.0.1": drs_local_node.drs})

    assert result.returncode == 1
    assert "status 404" in result.stderr
    assert "taken as this node" not in result.stderr


def test_cli_force_replaces_output(drs_local_node: DrsNode, tmp_path: Path) -> None:
    uri = f"drs://127.0.0.1/{drs_local_node.records[BAM_NAME].id}"
    (tmp_path / "out").write_text("an older download of something else\n")

    rejected = _own_node_get(drs_local_node, uri, tmp_path)
    forced = _own_node_get(drs_local_node, uri, tmp_path, "--force")

    assert rejected.returncode == 1
    assert "--force" in rejected.stderr
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "out").read_bytes() == shared_file(BAM_NAME).read_bytes()


class _RacingPeer(BaseHTTPRequestHandler):
    """A DRS peer whose data request also writes a file at the client's output path."""

    payload = b"object bytes\n" * 1000
    output: Path

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data_url = f"http://127.0.0.1:{self.server.server_address[1]}/data"
        checksum = hashlib.sha256(self.payload).hexdigest()
        self._send(json.dumps({
            "id": "racing", "name": "racing.bin", "size": len(self.payload),
            "checksums": [{"type": "sha-256", "checksum": checksum}],
            "access_methods": [{"type": "https", "access_url": {"url": data_url}}],
        }).encode())

    def do_GET(self) -> None:
        self.output.write_bytes(b"a file the user wrote meanwhile\n")
        self._send(self.payload)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving_peer(peer: type[_RacingPeer], output: Path) -> Iterator[DrsSettings]:
    """Serve `peer` on 127.0.0.1 and yield DRS settings that map `peer.test` to it."""
    handler = type("Handler", (peer,), {"output": output})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield DrsSettings(
            peers={"peer.test": f"http://127.0.0.1:{server.server_address[1]}/ga4gh/drs/v1"})
    finally:
        server.shutdown()
        server.server_close()


def test_get_keeps_file_written_during_download(tmp_path: Path) -> None:
    output = tmp_path / "racing.bin"
    with serving_peer(_RacingPeer, output) as settings, \
            pytest.raises(FederationError, match=r"appeared while .* was downloading"):
        drs_get("drs://peer.test/racing", settings, output)
    assert output.read_bytes() == b"a file the user wrote meanwhile\n"
    assert (tmp_path / "racing.bin.part").read_bytes() == _RacingPeer.payload


class _ShortPeer(_RacingPeer):
    """A DRS peer that closes the connection halfway through the object's bytes."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload[: len(self.payload) // 2])
        self.wfile.flush()
        self.close_connection = True


def test_cut_download_ends_progress_and_can_resume(tmp_path: Path) -> None:
    output = tmp_path / "racing.bin"
    progress = io.StringIO()
    with serving_peer(_ShortPeer, output) as settings, \
            pytest.raises(FederationError, match="run again to resume"):
        drs_get("drs://peer.test/racing", settings, output, progress=progress)
    assert progress.getvalue().endswith("\n")
    assert not output.exists()
    assert 0 < (tmp_path / "racing.bin.part").stat().st_size < len(_ShortPeer.payload)
