"""`consentry serve` starts a working service and prints commands that work as printed."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port, require_tool


def _start(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **(env or {}),
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Uvicorn running" in line:
            return process, lines
    process.kill()
    pytest.fail("consentry serve did not start:\n" + "".join(lines))


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    if process.stdout is not None:
        process.stdout.close()


def _passport_env(cwd: Path) -> dict[str, str]:
    """Return the environment under which htslib sends the demo passport over plain HTTP."""
    return {
        **os.environ,
        "HTS_AUTH_LOCATION": str(cwd / ".consentry" / "demo-passport.jwt"),
        "HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER": "I understand the risks",
    }


def test_serve_creates_sample_and_prints_working_commands(tmp_path: Path) -> None:
    samtools = require_tool("samtools")
    require_tool("bcftools")
    port = free_port()
    process, lines = _start(tmp_path, "--port", str(port))
    try:
        output = "".join(lines)
        commands = re.findall(r"^  (.*\b(?:samtools|bcftools) .+)$", output, re.MULTILINE)
        results = [subprocess.run(command, shell=True, capture_output=True, text=True,
                                  timeout=60, cwd=tmp_path) for command in commands]
        url = re.findall(r"'(http[^']+)'", commands[0])[0]
        count = subprocess.run([samtools, "view", "-c", url], env=_passport_env(tmp_path),
                               capture_output=True, text=True, timeout=60)
        anonymous = subprocess.run([samtools, "view", "-c", url],
                                   capture_output=True, text=True, timeout=60)
    finally:
        _stop(process)

    assert (tmp_path / "consentry-data" / "sample" / "NA00001.bam.bai").is_file()
    assert (tmp_path / ".consentry" / "data-url.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / ".consentry" / "demo-passport.jwt").stat().st_mode & 0o777 == 0o600
    assert len(commands) == 2
    for command in commands:
        assert command.startswith("HTS_AUTH_LOCATION=")
    for result in results:
        assert result.returncode == 0, result.stderr
        assert result.stdout.count("\n") == 10
    assert int(count.stdout) > 100
    assert anonymous.returncode != 0


def test_serve_leaves_empty_given_data_dir_empty(tmp_path: Path) -> None:
    data = tmp_path / "mine"
    data.mkdir()
    port = free_port()
    process, lines = _start(tmp_path, "--port", str(port), "--data-dir", str(data))
    _stop(process)
    banner = "".join(lines)

    assert list(data.iterdir()) == []
    assert "sample/NA00001" not in banner
    assert not (tmp_path / ".consentry" / "demo-passport.jwt").exists()


def test_serve_leaves_existing_data_alone(tmp_path: Path) -> None:
    data = tmp_path / "mine"
    data.mkdir()
    (data / "README").write_text("my own data\n")
    port = free_port()
    process, lines = _start(tmp_path, "--port", str(port), "--data-dir", str(data))
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/reads/sample/NA00001", timeout=10)
    finally:
        _stop(process)
    banner = "".join(lines)

    assert response.status_code == 401
    assert sorted(path.name for path in data.iterdir()) == ["README"]
    assert not (tmp_path / ".consentry" / "demo-passport.jwt").exists()
    assert "sample/NA00001" not in banner
    assert f"consentry passport issue --sub you --grant http://127.0.0.1:{port}/datasets/" in banner
    assert f"--port {port}" in banner


def test_serve_on_busy_port_fails_before_writing(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )

    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_version_option_prints_version() -> None:
    result = subprocess.run([sys.executable, "-m", "service.cli", "--version"],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0
    assert result.stdout.startswith("consentry ")


def test_serve_rejects_invalid_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "consentry.yaml"
    config.write_text("storage:\n  backend: s3\nunknown_key: 1\n")

    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--config", str(config)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "storage.s3_bucket is required" in result.stderr
    assert "unknown_key" in result.stderr


def test_serve_reports_missing_settings_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--config", str(tmp_path / "absent.yaml")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "absent.yaml does not exist" in result.stderr


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def test_serve_reports_yaml_syntax_error(tmp_path: Path) -> None:
    config = tmp_path / "consentry.yaml"
    config.write_text("port: [8181\n")

    result = _run(tmp_path, "serve", "--config", str(config))

    assert result.returncode == 2
    assert result.stderr.startswith(f"consentry: settings file {config} is not valid YAML")
    assert "line 2, column 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_serve_rejects_data_dir_that_is_file(tmp_path: Path) -> None:
    data = tmp_path / "data.bam"
    data.write_text("not a directory\n")

    result = _run(tmp_path, "serve", "--port", str(free_port()), "--data-dir", str(data))

    assert result.returncode == 2
    assert f"consentry: data directory {data} (from --data-dir) is not a directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.bam"]


def test_serve_names_source_of_invalid_port(tmp_path: Path) -> None:
    result = _run(tmp_path, "serve", "--port", "99999")

    assert result.returncode == 2
    assert result.stderr.startswith("consentry: invalid settings: port (from --port): ")
    assert "environment" not in result.stderr


def test_serve_rejects_missing_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "dat"

    result = _run(tmp_path, "serve", "--port", str(free_port()), "--data-dir", str(data))

    assert result.returncode == 2
    assert f"data directory {data} (from --data-dir) does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_serve_rejects_missing_local_root_setting(tmp_path: Path) -> None:
    config = tmp_path / "consentry.yaml"
    config.write_text("storage:\n  local_root: dat\n")

    result = _run(tmp_path, "serve", "--port", str(free_port()), "--config", str(config))

    assert result.returncode == 2
    assert f"data directory dat (from storage.local_root in {config}) does not" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["consentry.yaml"]


def test_serve_rejects_misspelt_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "CONSENTRY_PROT": "8181",
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )

    assert result.returncode == 2
    assert "unknown environment variable CONSENTRY_PROT" in result.stderr
    assert "the closest setting is CONSENTRY_PORT" in result.stderr
    assert list(tmp_path.iterdir()) == []


COHORT_DATASETS = '[{"id_prefix": "cohort/", "url": "{base_url}/datasets/cohort"}]'


def _banner_commands(tmp_path: Path, env: dict[str, str]) -> tuple[str, list[str], list[int]]:
    """Start serve with `env`, run every command its banner prints; return banner, commands
    and their exit statuses."""
    require_tool("samtools")
    require_tool("bcftools")
    require_tool("curl")
    config = tmp_path / "good.yaml"
    config.write_text(f"port: {free_port()}\n")
    process, lines = _start(tmp_path, "--config", str(config), env=env)
    try:
        banner = "".join(lines)
        commands = re.findall(r"^  (\S.*)$", banner, re.MULTILINE)
        # Without `| head`, a failing samtools or bcftools sets the exit status.
        statuses = [subprocess.run(command.removesuffix(" | head"), shell=True,
                                   capture_output=True, timeout=60, cwd=tmp_path).returncode
                    for command in commands]
    finally:
        _stop(process)
    return banner, commands, statuses


def test_banner_works_with_replaced_datasets(tmp_path: Path) -> None:
    banner, commands, statuses = _banner_commands(
        tmp_path, {"CONSENTRY_AUTH__DATASETS": COHORT_DATASETS})

    assert "A demo passport for the sample dataset" in banner
    assert len(commands) == 3
    assert commands[0].startswith("HTS_AUTH_LOCATION=")
    assert commands[1].startswith("HTS_AUTH_LOCATION=")
    assert statuses == [0, 0, 0]
    assert (tmp_path / ".consentry" / "demo-passport.jwt").is_file()


def test_banner_without_grantable_sample(tmp_path: Path) -> None:
    banner, commands, statuses = _banner_commands(
        tmp_path, {"CONSENTRY_AUTH__DATASETS": COHORT_DATASETS,
                   "CONSENTRY_CHAIN__ENABLED": "false"})

    assert "No demo passport was written" in banner
    assert 'add {id_prefix: "sample/"' in banner
    assert len(commands) == 1
    assert commands[0].startswith("curl ")
    assert statuses == [0]
    assert not (tmp_path / ".consentry" / "demo-passport.jwt").exists()


def test_banner_works_in_open_mode(tmp_path: Path) -> None:
    banner, commands, statuses = _banner_commands(tmp_path, {"CONSENTRY_AUTH__MODE": "open"})

    assert "HTS_AUTH_LOCATION" not in banner
    assert len(commands) == 3
    assert statuses == [0, 0, 0]

