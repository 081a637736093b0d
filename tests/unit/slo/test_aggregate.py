"""Aggregates: exact merges, a compact wire form, percentiles capped at the largest run."""

from __future__ import annotations

import json
import random

import pytest

from interlock.slo.aggregate import MAX_ERROR_KINDS, OTHER_ERRORS, Aggregate


def recorded(durations: list[float], *, failed_every: int = 0) -> Aggregate:
    figures = Aggregate()
    for i, duration in enumerate(durations):
        bad = failed_every and i % failed_every == 0
        figures.record(duration, ok=not bad, error=f"HTTP {500 + i % 3}" if bad else None)
    return figures


def test_merging_two_aggregates_equals_recording_everything_in_one():
    rng = random.Random(7)
    first = [rng.lognormvariate(3, 1) for _ in range(500)]
    second = [rng.lognormvariate(5, 0.5) for _ in range(300)]
    merged = recorded(first, failed_every=7) + recorded(second, failed_every=11)
    whole = recorded(first, failed_every=7)
    for i, duration in enumerate(second):
        bad = i % 11 == 0
        whole.record(duration, ok=not bad, error=f"HTTP {500 + i % 3}" if bad else None)
    assert merged == whole
    for p in (50, 90, 95, 99, 99.9):
        assert merged.percentile(p) == whole.percentile(p)
    assert (merged.runs, merged.failures) == (800, whole.failures)


def test_an_aggregate_survives_its_json_form_exactly():
    figures = recorded([1.5, 20.25, 300.0, 4000.125], failed_every=2)
    again = Aggregate.from_dict(json.loads(json.dumps(figures.to_dict())))
    assert again == figures
    assert again.percentile(99) == figures.percentile(99)
    assert again.errors == figures.errors


def test_the_json_form_is_compact_however_many_runs():
    figures = recorded([float(i % 1000) for i in range(100_000)])
    assert len(json.dumps(figures.to_dict())) < 4000


def test_a_malformed_aggregate_document_is_refused():
    with pytest.raises(ValueError, match="aggregate"):
        Aggregate.from_dict({"runs": 3})


@pytest.mark.parametrize("duration", [1499.8, 99.99, 0.4])
def test_every_percentile_of_identical_runs_is_that_run(duration):
    figures = recorded([duration] * 20)
    assert {figures.percentile(p) for p in (50, 95, 99.9, 100)} == {duration}


def test_distinct_errors_beyond_the_limit_are_counted_together():
    figures = Aggregate()
    for i in range(MAX_ERROR_KINDS + 5):
        figures.record(1.0, ok=False, error=f"order {i} refused")
    assert len(figures.errors) == MAX_ERROR_KINDS + 1
    assert figures.errors[OTHER_ERRORS] == 5
    assert sum(figures.errors.values()) == figures.failures


def test_the_load_engines_figures_by_threshold_name():
    figures = recorded([10.0, 20.0, 30.0, 40.0], failed_every=4)
    assert figures.count == figures.runs == 4
    assert (figures.figure("min"), figures.figure("max")) == (10.0, 40.0)
    assert figures.figure("avg") == pytest.approx(25.0)
    assert figures.figure("rate") == 0.75
    assert figures.figure("count") == 4.0
    assert figures.figure("med") == figures.med == figures.percentile(50)
    assert figures.figure("p", 99) == figures.percentile(99)
    with pytest.raises(ValueError, match="percentile"):
        figures.figure("p")
    with pytest.raises(ValueError, match="unknown figure 'mean'"):
        figures.figure("mean")


def test_encode_is_the_json_form_and_a_summary_survives_it():
    rng = random.Random(1)
    figures = recorded([rng.uniform(1, 900) for _ in range(20_000)], failed_every=5000)
    back = Aggregate.decode(json.loads(json.dumps(figures.encode())))
    assert figures.encode() == figures.to_dict()
    assert back == figures
    assert back.summary() == figures.summary()
    assert set(figures.summary()) == {
        "count", "failures", "rate", "avg", "min", "med", "p90", "p95", "p99", "max", "errors"
    }  # fmt: skip


def test_an_empty_aggregate_has_no_success_no_figures_and_round_trips():
    empty = Aggregate()
    assert (empty.rate, empty.percentile(95), empty.min, empty.max, empty.avg) == (0, 0, 0, 0, 0)
    assert Aggregate.decode(empty.encode()) == empty
    merged = empty + recorded([5.0])
    assert (merged.min, merged.max) == (5.0, 5.0)  # the empty side's zeros are not a run


def test_a_negative_duration_counts_as_zero():
    figures = recorded([-3.0, 2.0])
    assert (figures.min, figures.max, figures.runs) == (0.0, 2.0, 2)
