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
