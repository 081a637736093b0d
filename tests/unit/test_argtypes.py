"""The command-line value types more than one command parses."""

from __future__ import annotations

import argparse

import pytest

from interlock.argtypes import seconds


@pytest.mark.parametrize(("text", "value"), [("0.5", 0.5), ("120", 120.0), ("1e-3", 0.001)])
def test_seconds_takes_a_finite_duration_above_zero(text: str, value: float) -> None:
    assert seconds(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "", "soon", "1s"])
def test_seconds_refuses_zero_negative_endless_and_words_in_one_sentence(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        seconds(text)
    assert str(caught.value) == f"expected seconds above 0, got {text!r}"
