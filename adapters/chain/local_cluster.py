"""Start and stop a local etcd cluster on 127.0.0.1, for tests, benchmarks and trials.

Each member is an `etcd` process (Debian `etcd-server`, 3.4) with its own data
directory and a client and a peer port chosen by the caller. Nothing here is
meant for production. By default the members run without TLS or
authentication. With `MemberTls` the client ports serve https:// and require a
client certificate, as in a multi-institution deployment, while the peer
ports stay plain http:// on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from adapters.chain.etcd_tls import EtcdTls

logger = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 20.0


class ClusterError(Exception):
    """A local etcd member failed to start or the cluster has no leader."""


@dataclass(frozen=True)
class MemberTls:
    """TLS files of the members' client ports, passed to etcd's flags of the same names.

    The cluster reuses `cert_file` as its client certificate for status
    checks, and etcd 3.4's own JSON gateway presents it to the member's gRPC
    server. So the certificate needs both the serverAuth and the clientAuth
    extended key usage.
    """

    trusted_ca_file: Path
    cert_file: Path
    key_file: Path

    def flags(self) -> list[str]:
        """Return the etcd flags that turn on mutual TLS for client connections."""
        return ["--client-cert-auth", "--trusted-ca-file", str(self.trusted_ca_file),
                "--cert-file", str(self.cert_file), "--key-file", str(self.key_file)]

    def client_context(self) -> ssl.SSLContext:
        """Return a client context that trusts the CA and presents `cert_file`."""
        return EtcdTls(self.trusted_ca_file, self.cert_file, self.key_file).context()


@dataclass
class LocalMember:
    """One etcd member: its name, ports, data directory and process (None when stopped)."""

    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    log_path: Path
    client_scheme: str = "http"
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The client URL, such as http://127.0.0.1:23791 (https:// with TLS)."""
        return f"{self.client_scheme}://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        """The peer URL other members connect to."""
        return f"http://127.0.0.1:{self.peer_port}"

    @property
    def running(self) -> bool:
        """Whether the member's process is alive."""
        return self.process is not None and self.process.poll() is None


class LocalCluster:
    """A set of etcd members on 127.0.0.1 that can be started, killed and restarted one by one."""

    def __init__(self, base_dir: Path, ports: Sequence[tuple[int, int]],
                 etcd_binary: str = "etcd", token: str = "consentry-local",
                 tls: MemberTls | None = None) -> None:
        if not ports:
            raise ValueError("a cluster needs at least one (client port, peer port) pair")
        self.base_dir = base_dir
        self.etcd_binary = etcd_binary
        self.token = token
        self.tls = tls
        self._context = tls.client_context() if tls is not None else None
        scheme = "https" if tls is not None else "http"
        self.members = [
            LocalMember(f"m{index}", client, peer, base_dir / f"m{index}",
                        base_dir / f"m{index}.log", client_scheme=scheme)
            for index, (client, peer) in enumerate(ports, start=1)
        ]

    @property
    def endpoints(self) -> list[str]:
        """Client URLs of every member, in member order."""
        return [member.endpoint for member in self.members]

    def _initial_cluster(self) -> str:
        return ",".join(f"{member.name}={member.peer_url}" for member in self.members)

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Start every member as a new cluster and wait until it has a leader."""
        for member in self.members:
            if member.data_dir.exists():
                shutil.rmtree(member.data_dir)
            self.start_member(member, state="new")
        self.wait_for_leader(timeout)

    def start_member(self, member: LocalMember, state: str = "existing") -> None:
        """Start one member; `state` is etcd's --initial-cluster-state (new or existing)."""
        if member.running:
            return
        command = [
            self.etcd_binary,
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.endpoint,
            "--advertise-client-urls", member.endpoint,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", self._initial_cluster(),
            "--initial-cluster-token", self.token,
            "--initial-cluster-state", state,
        ]
        if self.tls is not None:
            command += self.tls.flags()
        member.data_dir.parent.mkdir(parents=True, exist_ok=True)
        member._log = member.log_path.open("ab")
        member.process = subprocess.Popen(command, stdout=member._log,
                                          stderr=subprocess.STDOUT)
        logger.info("started etcd member %s pid=%d", member.name, member.process.pid)

    def kill_member(self, member: LocalMember) -> None:
        """Kill one member with SIGKILL, as a crash would, and reap it."""
        if member.process is None:
            return
        if member.process.poll() is None:
            os.kill(member.process.pid, signal.SIGKILL)
        member.process.wait()
        member.process = None
        logger.info("killed etcd member %s", member.name)
        self._close_log(member)

    def stop(self) -> None:
        """Kill every member; a graceful SIGTERM stop takes seconds and buys nothing here."""
        for member in self.members:
            self.kill_member(member)

    @staticmethod
    def _close_log(member: LocalMember) -> None:
        if member._log is not None:
            member._log.close()
            member._log = None

    def leader(self) -> LocalMember | None:
        """Return the member that reports itself as Raft leader, or None."""
        for member in self.members:
            if not member.running:
                continue
            status = _member_status(member.endpoint, self._context)
            if status is None:
                continue
            header = status.get("header")
            member_id = header.get("member_id") if isinstance(header, dict) else None
            if status.get("leader") and status.get("leader") == member_id:
                return member
        return None

    def local_revisions(self) -> list[int]:
        """Return each running member's applied store revision, in member order."""
        return [local_revision(member.endpoint, self._context)
                for member in self.members if member.running]

    def wait_for_leader(self, timeout: float = START_TIMEOUT_SECONDS) -> LocalMember:
        """Wait until some running member is leader; raise ClusterError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for member in self.members:
                if member.process is not None and member.process.poll() is not None:
                    raise ClusterError(f"etcd member {member.name} exited with code "
                                       f"{member.process.returncode}; see {member.log_path}")
            leader = self.leader()
            if leader is not None:
                return leader
            time.sleep(0.1)
        raise ClusterError(f"no etcd leader within {timeout} s; see the logs in {self.base_dir}")


def _member_status(endpoint: str, context: ssl.SSLContext | None
                   ) -> dict[str, object] | None:
    request = urllib.request.Request(
        f"{endpoint}/v3/maintenance/status", data=b"{}", method="POST",
        headers={"Content-Type": "application/json"},
    )
    # OSError covers URLError and also a raw ssl.SSLError, which urlopen does
    # not wrap when a member rejects the client certificate after the handshake.
    try:
        with urllib.request.urlopen(request, timeout=1.0, context=context) as response:
            status: dict[str, object] = json.loads(response.read())
            return status
    except (OSError, ValueError):
        return None


def local_revision(endpoint: str, context: ssl.SSLContext | None = None) -> int:
    """Return the store revision one member has applied (read locally), or -1 if it is down.

    `context` is the TLS client context for an https:// endpoint.
    """
    request = urllib.request.Request(
        f"{endpoint}/v3/kv/range", data=json.dumps({"key": "AA==", "serializable": True}).encode(),
        method="POST", headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2.0, context=context) as response:
            header = json.loads(response.read()).get("header", {})
    except (OSError, ValueError):
        return -1
    return int(header.get("revision", 0))
