"""``interlock faults`` against a running ``interlock env up``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

# the project these commands run on: WMS, the system in this repository
ROOT = Path(__file__).resolve().parents[2] / "apps" / "wms"


def interlock(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "interlock.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_faults_are_listed_applied_and_reset_on_a_running_stack(tmp_path):
    with subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", "env", "up", "--json", "--no-app"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "INTERLOCK_ARTIFACTS": str(tmp_path)},
    ) as env:
        try:
            assert env.stdout is not None
            info = json.loads(env.stdout.readline())
            assert info["faults"].startswith("http://127.0.0.1:")
            added = interlock("faults", "add", "redis", "latency", "latency=150", "jitter=10")
            assert added.returncode == 0, added.stderr
            proxies = json.loads(interlock("faults", "list", "--json").stdout)
            (toxic,) = proxies["redis"]["toxics"]
            assert (toxic["type"], toxic["attributes"]["latency"]) == ("latency", 150)
            assert interlock("faults", "down", "redis").returncode == 0
            host, port = proxies["redis"]["listen"].split(":")
            with socket.socket() as sock:
                assert sock.connect_ex((host, int(port))) != 0  # refused while down
            assert interlock("faults", "reset").returncode == 0
            proxies = json.loads(interlock("faults", "list", "--json").stdout)
            assert proxies["redis"]["enabled"] is True
            assert proxies["redis"]["toxics"] == []
            bad = interlock("faults", "add", "redis", "warp")
            assert bad.returncode == 2
            assert "unknown toxic type 'warp'" in bad.stderr
        finally:
            env.terminate()
            env.wait(timeout=10)


def test_faults_without_a_running_stack_is_a_clear_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.interlock]\n")
    result = interlock("faults", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "no running stack found" in result.stderr
    assert "Traceback" not in result.stderr
