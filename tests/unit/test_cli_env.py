"""``interlock env down``: stops only an env up its state file proves is this project's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.unit.test_cli import interlock
from tests.unit.test_cli_usage import assert_only_line

from interlock.helpers.deadline import poll

PROJECT = '[tool.interlock]\npostgres = false\nredis = false\nsimulators = ["stripe"]\n'


@pytest.fixture
def env_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A running ``interlock env up`` (simulators only) and its state file."""
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    process = subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", "env", "up", "--json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state = tmp_path / ".interlock" / "env" / f"{process.pid}.json"
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())  # printed once it is up
        assert announced["pid"] == process.pid
        poll(state.exists, timeout=30, what="the state file")
        yield process, state
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=60)


def test_env_down_stops_the_env_and_waits_for_its_end(env_up):
    process, state = env_up
    root = state.parents[2]
    result = interlock("env", "down", str(process.pid), cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"stopped env up (pid {process.pid})"]
    assert process.poll() == 130  # already ended when env down returned: it waited
    assert not state.exists()
    assert process.stderr is not None
    assert process.stderr.read().splitlines()[-1] == "interlock: terminated (SIGTERM)"


def test_env_down_refuses_a_pid_whose_start_time_is_not_the_recorded_one(env_up):
    process, state = env_up
    data = json.loads(state.read_text())
    with open(state, "r+") as file:  # in place: the owner keeps its lock on this file
        file.write(json.dumps({**data, "started": data["started"] - 3600}))
        file.truncate()
    result = interlock("env", "down", cwd=state.parents[2])
    assert_only_line(result, f"env down {process.pid}: that pid is no longer", "nothing stopped")
    assert process.poll() is None


def test_env_down_without_an_env_says_so(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    assert_only_line(interlock("env", "down", "4242", cwd=tmp_path), "env down 4242: no running")
    assert_only_line(interlock("env", "down", cwd=tmp_path), "no running stack")
    assert os.listdir(tmp_path) == ["pyproject.toml"]
