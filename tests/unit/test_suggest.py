"""A mistyped name gets the nearest known one, else the list of known ones."""

from __future__ import annotations

from interlock.suggest import did_you_mean, nearest


def test_a_close_name_is_suggested() -> None:
    assert nearest("stauts", ["status", "latency"]) == "status"
    assert did_you_mean("stauts", ["status", "latency"]) == "did you mean 'status'?"


def test_with_nothing_close_the_known_names_are_listed() -> None:
    assert nearest("zzz", ["status", "latency"]) is None
    assert did_you_mean("zzz", ["status", "latency"], listing="use one of") == (
        "use one of status, latency"
    )
    assert did_you_mean("zzz", [], listing="steps:") == "steps: none"
