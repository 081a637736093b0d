"""The load engine's aggregate: exact merges, compact round trips, percentiles capped at the max."""

from __future__ import annotations

import json
import random

import pytest

from interlock.load.aggregate import Aggregate


def filled(values: list[float], errors: dict[int, str] | None = None) -> Aggregate:
    agg = Aggregate()
    for i, value in enumerate(values):
        error = (errors or {}).get(i)
        agg.record(value, ok=error is None, error=error)
    return agg


def test_a_merge_equals_one_aggregate_fed_every_sample() -> None:
    rng = random.Random(7)
    a = [rng.lognormvariate(3, 1) for _ in range(5000)]
    b = [rng.expovariate(1 / 200) for _ in range(3000)]
    merged = filled(a, {1: "timeout"}) + filled(b, {2: "status 500", 3: "timeout"})
    one = filled(a + b, {1: "timeout", 5002: "status 500", 5003: "timeout"})
    for p in (1, 50, 90, 99, 99.99, 100):
        assert merged.percentile(p) == one.percentile(p)
    assert (merged.count, merged.failures) == (one.count, one.failures) == (8000, 3)
    assert merged.errors == one.errors == {"timeout": 2, "status 500": 1}
    assert (merged.min, merged.max) == (one.min, one.max)
    assert merged.avg == pytest.approx(one.avg)


def test_an_encoded_aggregate_is_small_json_and_decodes_to_the_same_figures() -> None:
    agg = filled([random.Random(1).uniform(1, 900) for _ in range(20000)], {0: "closed"})
    text = json.dumps(agg.encode())
    back = Aggregate.decode(json.loads(text))
    assert len(text) < 20_000  # not one entry a sample
    assert back.summary() == agg.summary()


def test_percentiles_never_exceed_the_exact_maximum() -> None:
    agg = filled([1.0001, 1234.567])
    assert agg.percentile(100) == agg.max == 1234.567
    assert agg.percentile(99.9) <= 1234.567


def test_an_empty_aggregate_has_no_success_and_decodes() -> None:
    empty = Aggregate()
    assert (empty.rate, empty.percentile(95), empty.min) == (0.0, 0.0, 0.0)
    assert Aggregate.decode(empty.encode()).count == 0


def test_a_malformed_encoding_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an encoded aggregate"):
        Aggregate.decode({"count": 1})
