"""report merge: shards' load results with histograms merge exactly; others are kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlock.cli import main
from interlock.load.result import LoadResult
from interlock.slo.aggregate import Aggregate

PROJECT = '[tool.interlock]\nartifacts = "runs"\npostgres = false\nredis = false\n'


def _result(durations: list[float]) -> LoadResult:
    workflow = Aggregate()
    for ms in durations:
        workflow.record(ms)
    return LoadResult(
        scenario="checkout",
        executor="constant-arrival-rate",
        plan="rate 10/s for 1s",
        target="http://127.0.0.1:1",
        started_at=1.0,
        elapsed=1.0,
        workflow=workflow,
        steps={"GET /": workflow},
        started=len(durations),
        series=[{"t": 0, "iterations": len(durations), "p95_ms": max(durations)}],
    )


def _run(root: Path, name: str, result: LoadResult, *, encoded: bool) -> Path:
    run = root / name
    run.mkdir()
    (run / "load.json").write_text(json.dumps(result.to_dict(encoded=encoded)))
    return run


def test_load_results_with_histograms_merge_into_the_figures_of_one_run(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    a, b = [float(x) for x in range(1, 60)], [float(x) for x in range(40, 200, 3)]
    runs = [
        _run(tmp_path, "one", _result(a), encoded=True),
        _run(tmp_path, "two", _result(b), encoded=True),
    ]
    out = tmp_path / "merged"
    main(["--project", str(tmp_path), "report", "merge", *map(str, runs), "--out", str(out)])
    merged = json.loads((out / "load.json").read_text())
    whole = _result(a + b).to_dict()
    assert merged["workflow"] == whole["workflow"]
    assert merged["iterations"]["started"] == len(a) + len(b)
    assert 'id="load"' in (out / "report.html").read_text()


def test_load_results_without_histograms_are_kept_apart_and_the_merge_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    runs = [
        _run(tmp_path, "one", _result([1.0, 2.0]), encoded=False),
        _run(tmp_path, "two", _result([3.0]), encoded=False),
    ]
    out = tmp_path / "merged"
    main(["--project", str(tmp_path), "report", "merge", *map(str, runs), "--out", str(out)])
    assert "cannot be merged exactly" in capsys.readouterr().out
    assert not (out / "load.json").exists()
    assert (out / "load-1.json").is_file()
    assert (out / "load-2.json").is_file()
