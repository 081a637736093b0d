"""Shards on a local Dask cluster: the rate is split, and the histograms merge exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from interlock.load import ConstantArrivalRate, parse_load_thresholds
from interlock.load.distributed import run_distributed
from interlock.slo.aggregate import Aggregate

from .conftest import Target

SCENARIO = """
name = "ping"

async def workflow(session):
    await session.get("/")
"""


def test_two_workers_split_the_rate_and_merge_exactly(
    target: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the temporary folder everything of the cluster goes to, to see what outlives it
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    scenario = tmp_path / "scenario.py"
    scenario.write_text(SCENARIO)
    executor = ConstantArrivalRate(rate=100, duration=3, pre_allocated_vus=20, max_vus=400)
    points: list[tuple[int, int]] = []

    result = run_distributed(
        scenario,
        executor,
        target=target.url,
        thresholds=parse_load_thresholds({"ping": ["p(99)<5000"]}),
        workers=2,
        on_point=lambda point, shards: points.append((point["started"], shards)),
        keep_samples=True,
    )

    assert result.shards == 2
    assert result.started + result.dropped == 300  # the two halves make the one schedule
    assert result.dropped == 0
    assert points  # progress arrived live, merged over both shards
    assert {shards for _, shards in points} == {2}
    assert sum(started for started, _ in points) == 300
    assert result.samples is not None
    assert len(result.samples) == result.workflow.count == 300
    one = Aggregate()
    for duration, _error in result.samples:
        one.record(duration)
    for p in (50, 90, 95, 99, 99.9, 100):
        assert result.workflow.percentile(p) == one.percentile(p)
    assert result.workflow.max == one.max
    assert result.thresholds[0]["ok"] is True
    assert list(temp.iterdir()) == []  # no dask-scratch-space nor anything else left


def test_an_unreachable_scheduler_is_a_dependency_error(tmp_path: Path) -> None:
    from interlock.errors import DependencyError

    scenario = tmp_path / "scenario.py"
    scenario.write_text(SCENARIO)
    with pytest.raises(DependencyError, match="cannot be reached"):
        run_distributed(
            scenario,
            ConstantArrivalRate(rate=1, duration=1),
            target="http://127.0.0.1:1",
            scheduler="tcp://127.0.0.1:1",
        )
