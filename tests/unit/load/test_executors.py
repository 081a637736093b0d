"""Executors' schedules: arrival offsets, ramps, shards that add up to the single schedule."""

from __future__ import annotations

import pytest

from interlock.errors import UsageError
from interlock.load import (
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    PerVUIterations,
    RampingArrivalRate,
    RampingVUs,
    Stage,
)
from interlock.load.executors import arrival_offsets


def test_a_constant_rate_starts_evenly_spaced_iterations() -> None:
    offsets = list(arrival_offsets(100, [Stage(2, 100)]))
    assert len(offsets) == 200
    assert offsets[:3] == pytest.approx([0.0, 0.01, 0.02])
    assert offsets[-1] == pytest.approx(1.99)


def test_a_ramp_starts_as_many_iterations_as_its_area() -> None:
    offsets = list(arrival_offsets(0, [Stage(10, 100), Stage(5, 100), Stage(10, 0)]))
    assert len(offsets) == 500 + 500 + 500
    assert offsets == sorted(offsets)
    # the ramp up is slow at first: the first 50 iterations (rate 0 -> 10/s) take ~3.2 s
    assert offsets[50] == pytest.approx((2 * 50 / 10) ** 0.5, rel=1e-6)


def test_shards_deal_out_exactly_the_single_schedule() -> None:
    stages = [Stage(3, 50), Stage(2, 10)]
    whole = list(arrival_offsets(5, stages))
    parts = [list(arrival_offsets(5, stages, shard=(k, 3))) for k in range(3)]
    assert sorted(o for part in parts for o in part) == whole
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1


def test_vus_split_across_shards_add_up() -> None:
    assert [ConstantVUs(vus=7, duration=1).shard(k, 3).vus for k in range(3)] == [3, 2, 2]
    assert [PerVUIterations(vus=2, iterations=1).shard(k, 3).vus for k in range(3)] == [1, 1, 0]
    ramp = RampingVUs(start_vus=0, stages=(Stage(10, 10),))
    assert sum(ramp.shard(k, 4).target_at(5) for k in range(4)) == 5


@pytest.mark.parametrize(
    ("executor", "message"),
    [
        (ConstantArrivalRate(rate=0, duration=1), "--rate must be > 0"),
        (ConstantArrivalRate(rate=1, duration=-1), "--duration must be > 0"),
        (ConstantArrivalRate(rate=1, duration=1, pre_allocated_vus=5, max_vus=2), "--max-vus"),
        (RampingArrivalRate(stages=()), "at least one stage"),
        (RampingArrivalRate(stages=(Stage(1, 0),)), "must ramp up first"),
        (ConstantVUs(vus=0, duration=1), "--vus must be > 0"),
        (PerVUIterations(vus=1, iterations=0), "--iterations must be > 0"),
        (RampingVUs(stages=(Stage(-1, 3),)), "duration must be >= 0"),
    ],
)
def test_bad_parameters_are_usage_errors(executor: Executor, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        executor.validate()
