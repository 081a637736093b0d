"""``monitor history``: trends of the stored checks, printed or exported."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from interlock.monitor.cli import main
from interlock.monitor.history import History
from interlock.monitor.probes import Sample


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    now = time.time()
    with History(tmp_path / ".interlock/monitor/history.db") as history:
        for i in range(10):
            # response time rises by 10 ms a minute over the last ten minutes
            history.add(Sample("api", now - 600 + 60 * i, i != 9, 100 + 10 * i))
            history.add(Sample("db", now - 600 + 60 * i, True, 5))
    return tmp_path


def test_history_prints_the_rate_of_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--project", str(project), "--probe", "api", "--since", "1h"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("api: worsening; latency +10.00 ms/min")
    assert "db" not in out


def test_history_exports_csv_and_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = project / "out.csv"
    args = ["history", "--project", str(project), "--since", "1h", "--bucket", "1m"]
    assert main([*args, "--format", "csv", "--output", str(target)]) == 0
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert {row["probe"] for row in rows} == {"api", "db"}
    assert sum(int(row["checks"]) for row in rows) == 20
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [entry["probe"] for entry in data] == ["api", "db"]
    assert data[1]["direction"] == "steady"


def test_history_of_an_unknown_probe_exits_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--project", str(project), "--probe", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("interlock monitor: error: --probe: no history of nope")


def test_an_output_in_a_missing_folder_exits_2_and_makes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = project / "no-such-folder" / "trend.json"
    args = ["history", "--project", str(project), "--output", str(target)]
    assert main(args) == 2
    assert "--output" in capsys.readouterr().err
    assert not target.parent.exists()
