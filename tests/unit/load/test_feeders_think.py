"""Iteration data from feeders, and think time drawn from its distribution."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from interlock.load.feeders import CsvFeeder, GeneratedFeeder
from interlock.load.think import Think, parse_think


def test_a_csv_feeder_cycles_through_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("email,plan\na@x.test,basic\nb@x.test,pro\n")
    feeder = CsvFeeder(path)
    rows = [feeder.next_row()["email"] for _ in range(5)]
    assert rows == ["a@x.test", "b@x.test", "a@x.test", "b@x.test", "a@x.test"]


def test_a_csv_without_rows_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("email\n")
    with pytest.raises(ValueError, match="no data rows"):
        CsvFeeder(path)


def test_a_generated_feeder_numbers_its_rows() -> None:
    feeder = GeneratedFeeder(lambda i: f"user-{i}@x.test", start=7)
    assert [feeder.next_row() for _ in range(2)] == ["user-7@x.test", "user-8@x.test"]


@pytest.mark.parametrize(
    ("text", "low", "high", "mean"),
    [
        ("constant:0.5", 0.5, 0.5, 0.5),
        ("uniform:1,3", 1, 3, 2),
        ("normal:2,0.1", 0, 10, 2),
        ("exponential:1", 0, 100, 1),
        ("lognormal:1,0.2", 0, 10, 1.02),
    ],
)
def test_think_time_follows_its_distribution(
    text: str, low: float, high: float, mean: float
) -> None:
    think, rng = parse_think(text), random.Random(3)
    draws = [think.draw(rng) for _ in range(20000)]
    assert low <= min(draws) <= max(draws) <= high
    assert sum(draws) / len(draws) == pytest.approx(mean, rel=0.05)


@pytest.mark.parametrize("text", ["gaussian:1", "uniform:3,1", "constant:-1", "uniform:a"])
def test_a_bad_think_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="think"):
        parse_think(text)


def test_no_think_time_by_default() -> None:
    assert Think().draw(random.Random()) == 0.0
