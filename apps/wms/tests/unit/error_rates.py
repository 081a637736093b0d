"""Simulated error-rate series for the forecaster: steady noisy load, and a slow ramp.

Each second ``calls`` calls are made and each fails with the probability of that second;
the sample is the failed fraction, so the noise is binomial, as a real service's is.
Shared by the unit tests and ``benchmarks/forecast_false_alarms.py``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["BREACH_AT", "THRESHOLD", "ramped", "steady"]

#: the error-rate objective: 5 % of calls failing (the seed's 95 % success rate)
THRESHOLD = 0.05
_BASE = 0.01
_RAMP_START, _RAMP_SECONDS = 120, 240
#: second at which the ramped series' true rate reaches the threshold
BREACH_AT = _RAMP_START + _RAMP_SECONDS * (THRESHOLD - _BASE) / 0.04


def _samples(
    seed: int, seconds: int, calls: int, base: float, slope: float
) -> Iterator[tuple[float, float]]:
    rng = random.Random(seed)
    for second in range(seconds):
        rate = base + max(0, second - _RAMP_START) * slope
        failed = sum(rng.random() < rate for _ in range(calls))
        yield float(second), failed / calls


def steady(
    seed: int, *, rate: float = _BASE, seconds: int = 600, calls: int = 100
) -> Iterator[tuple[float, float]]:
    """(second, failed fraction): ``rate`` of calls failing, with binomial noise, throughout."""
    return _samples(seed, seconds, calls, rate, 0.0)


def ramped(seed: int, *, seconds: int = 600, calls: int = 100) -> Iterator[tuple[float, float]]:
    """(second, failed fraction): 1 % for two minutes, then rising 4 points every
    four minutes, so the true rate crosses THRESHOLD at BREACH_AT (360 s)."""
    return _samples(seed, seconds, calls, _BASE, 0.04 / _RAMP_SECONDS)
