"""The history in PostgreSQL (e.g. the stack's): the same records as in SQLite."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from tests.integration.monitor.support import Target, write_project

from interlock.config import Config, RedisConfig
from interlock.monitor.cli import main
from interlock.monitor.history import History
from interlock.monitor.probes import Sample
from interlock.stack import Stack


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("pg")
    config = Config(
        root=root,
        tests=root,
        artifacts=root / "runs",
        redis=RedisConfig(enabled=False),
        faults=False,
    )
    with Stack(config, run_dir=root / "run", with_app=False) as stack:
        yield stack.postgres_url


@pytest.fixture
def url(database: str) -> Iterator[str]:
    yield database
    with psycopg.connect(database, autocommit=True) as conn:
        for table in ("samples", "rollups", "system", "alerts"):
            conn.execute(f"DROP TABLE IF EXISTS monitor_{table}".encode())


def test_postgres_history_stores_rolls_up_and_reads_like_sqlite(url: str, tmp_path: Path) -> None:
    results = []
    for target in (url, tmp_path / "h.db"):
        with History(target) as history:
            for t in range(0, 120, 10):
                history.add(Sample("web", 10_000 + t, t != 50, 5 + t), outage=t == 50)
            alert = history.open_alert("down:web", "down", "web", "web is down", 10_050)
            history.end_alert(alert, "resolved", 10_060, "resolved")
            folded = history.compact(10_200, raw_retention=150, retention=1000, width=60)
            results.append(
                (
                    folded,
                    history.count(),
                    [
                        (b.start, b.count, b.ok_count, b.latency_max_ms)
                        for b in history.buckets("web", 0, 60)
                    ],
                    [(a["key"], a["state"]) for a in history.alerts()],
                    [(s.at, ok) for s, ok in history.recent("web", 10_100)],
                )
            )
    assert results[0] == results[1]
    assert results[0][0] == 5


def test_monitor_keeps_its_history_in_the_stacks_postgres(
    url: str, tmp_path: Path, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(
        tmp_path,
        f'interval = 0.05\nhistory = "stack"\n[tool.interlock.monitor.probes.web]\n'
        f'type = "http"\nurl = "{target.url}/health/web"\n',
    )
    state = tmp_path / ".interlock/env.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"postgres": url, "pid": os.getpid()}), encoding="utf-8")
    assert main(["--project", str(tmp_path), "--duration", "1s"]) == 0
    with psycopg.connect(url) as conn:
        stored = conn.execute(b"SELECT COUNT(*) FROM monitor_samples").fetchone()
    assert stored == (target.hits["web"],)
    out = capsys.readouterr().out
    assert f"history     {url}" in out
    assert main(["history", "--project", str(tmp_path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["probe"] == "web"


def test_history_stack_without_a_running_stack_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(
        tmp_path,
        'history = "stack"\n[tool.interlock.monitor.probes.web]\n'
        'type = "tcp"\naddress = "127.0.0.1:1"\n',
    )
    assert main(["--project", str(tmp_path)]) == 2
    assert "history = 'stack' needs a running 'interlock env up'" in capsys.readouterr().err


def test_unreachable_postgres_history_is_one_line_and_exit_2_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(
        tmp_path,
        '[tool.interlock.monitor.probes.web]\ntype = "tcp"\naddress = "127.0.0.1:1"\n',
    )
    code = main(["--project", str(tmp_path), "--history-db", "postgresql://u:secret@127.0.0.1:1/x"])
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("interlock monitor: error: the monitor's history postgresql://u:***@")
    assert "secret" not in err
    assert err.count("\n") == 1
