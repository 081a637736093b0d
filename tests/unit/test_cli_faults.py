"""``interlock faults`` against a running ``interlock env up``."""

from __future__ import annotations

import fcntl
import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.unit.test_cli import env_up, first_line

from interlock.cli.envstate import live_envs, published
from interlock.config import load_config

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
    env, err = env_up(tmp_path, "--no-app")
    with env:
        try:
            info = first_line(env, err)
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


def test_two_envs_in_one_project_each_own_their_state(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.interlock]\nsimulators = ["stripe"]\n')
    first, first_err = env_up(tmp_path, cwd=project)
    second, second_err = env_up(tmp_path, cwd=project)
    with first, second:
        try:
            first_line(first, first_err)
            info = first_line(second, second_err)
            several = interlock("faults", "list", cwd=project)
            assert several.returncode == 2
            assert "2 stacks are up" in several.stderr
            assert "--env PID" in several.stderr
            chosen = interlock("faults", "--env", str(second.pid), "list", "--json", cwd=project)
            assert chosen.returncode == 0, chosen.stderr
            assert set(json.loads(chosen.stdout)) == {"postgres", "redis", "stripe"}
            first.terminate()
            assert first.wait(timeout=30) == 130, first_err.read_text()
            # the second's state outlives the first
            listed = interlock("faults", "add", "stripe", "latency", "latency=5", cwd=project)
            assert listed.returncode == 0, listed.stderr
            proxies = httpx.get(info["faults"] + "/proxies").json()
            assert [t["type"] for t in proxies["stripe"]["toxics"]] == ["latency"]
        finally:
            for process in (first, second):
                process.terminate()
                process.wait(timeout=30)
    assert list((project / ".interlock" / "env").iterdir()) == []


def test_a_state_file_nobody_holds_is_stale_and_removed(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.interlock]\n")
    config = load_config(tmp_path, environ={})
    with published(config, {"faults": "http://127.0.0.1:1"}) as live:
        stale = live.with_name("999999.json")
        stale.write_text(json.dumps({"pid": 999999, "faults": "http://127.0.0.1:2"}))
        envs = live_envs(config)
        assert [data["faults"] for data in envs.values()] == ["http://127.0.0.1:1"]
        assert not stale.exists()
        with live.open() as handle, pytest.raises(BlockingIOError):  # its owner holds the lock
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert not live.exists()
    result = interlock("faults", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert "no running stack found" in result.stderr
