"""Without configuration the monitor watches the running ``interlock env up``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from interlock.faults.server import FaultServer
from interlock.monitor.discovery import EnvState, find_env_state, read_project_table


def _write(path: Path, **data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_no_state_file_means_no_stack(tmp_path: Path) -> None:
    assert find_env_state(tmp_path) is None


def test_newest_state_of_a_running_stack_wins_and_dead_ones_are_skipped(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above the kernel's default pid_max: never a running process
    _write(tmp_path / ".interlock/env.json", postgres="postgresql://a", pid=os.getpid())
    _write(tmp_path / ".interlock/env/b.json", postgres="postgresql://b", pid=os.getpid())
    _write(tmp_path / ".interlock/env/c.json", postgres="postgresql://c", pid=dead)
    os.utime(tmp_path / ".interlock/env.json", (1, 1))
    state = find_env_state(tmp_path)
    assert state is not None
    assert state.postgres == "postgresql://b"


def test_probes_of_a_stack_depend_the_app_on_its_dependencies() -> None:
    state = EnvState(
        path=Path("env.json"),
        postgres="postgresql://u@127.0.0.1:5/db",
        redis="redis://127.0.0.1:6/0",
        app="http://127.0.0.1:7",
        simulators={"stripe": "http://127.0.0.1:8"},
    )
    probes = {p.name: p for p in state.probes(30, 10, "/health/ready")}
    assert [(p.name, p.kind) for p in probes.values()] == [
        ("postgres", "postgres"),
        ("redis", "redis"),
        ("app", "http"),
        ("stripe", "simulator"),
    ]
    assert probes["app"].target == "http://127.0.0.1:7/health/ready"
    assert probes["app"].depends_on == ("postgres", "redis")
    assert probes["postgres"].target == "postgresql://u@127.0.0.1:5/db"


def test_dependencies_are_probed_through_their_fault_proxies() -> None:
    with FaultServer({"postgres": "127.0.0.1:5", "redis": "127.0.0.1:6"}) as faults:
        state = EnvState(
            path=Path("env.json"),
            postgres="postgresql://u@127.0.0.1:5/db",
            redis="redis://127.0.0.1:6/0",
            faults=faults.url,
        )
        probes = {p.name: p.target for p in state.probes(30, 10)}
        assert probes == {
            "postgres": f"postgresql://u@127.0.0.1:{faults['postgres'].port}/db",
            "redis": f"redis://127.0.0.1:{faults['redis'].port}/0",
        }


def test_project_table_and_app_health_are_read_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.interlock.app]\nhealth = "/ready"\n[tool.interlock.monitor]\ninterval = 5\n',
        encoding="utf-8",
    )
    assert read_project_table(tmp_path) == ({"interval": 5}, "/ready")


def test_monitor_table_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    from interlock.errors import ConfigError

    (tmp_path / "pyproject.toml").write_text("[tool.interlock]\nmonitor = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a table"):
        read_project_table(tmp_path)
