"""Breach prediction on an error-rate series: Holt's linear trend, updated one sample at a time.

Holt's method (double exponential smoothing) keeps a level ``L`` and a trend ``b`` (units
per second) and forecasts ``L + b * h`` for ``h`` seconds ahead. For a time step ``dt``:

    L' = alpha * y + (1 - alpha) * (L + b * dt)
    b' = beta * (L' - L) / dt + (1 - beta) * b

statsmodels' ``Holt`` fits the same model, but in batch (it optimises the smoothing
constants over the whole series on each fit, and pulls in scipy and pandas); a monitor that
updates once a second needs the recursive form, which is these four lines.

A breach is predicted when the forecast crosses the threshold within ``horizon`` seconds
*and* the rise is not noise: the trend must carry the level over the threshold by more
than ``k_sigma`` standard deviations of the level (from the one-step forecast error, tracked
as an EWMA of squared residuals), for ``confirm`` samples in a row. A prediction holds for its
horizon: the forecaster stays quiet that long, so one ramp gives one event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["BreachPrediction", "HoltForecaster"]


@dataclass(frozen=True, kw_only=True)
class BreachPrediction:
    """A predicted breach of ``threshold``, ``seconds_to_breach`` after ``at`` (seconds)."""

    at: float
    level: float
    #: units of the series per second
    trend: float
    threshold: float
    seconds_to_breach: float


class HoltForecaster:
    """One series' forecaster; feed it with ``observe`` in time order.

    ``threshold`` is in the series' units (e.g. a failed fraction, 0.05); ``horizon`` is
    how far ahead (seconds) a breach is worth announcing. Raises ValueError on smoothing
    constants outside (0, 1], a non-positive horizon, or observations out of time order.
    """

    def __init__(
        self,
        *,
        threshold: float,
        horizon: float = 120.0,
        alpha: float = 0.1,
        beta: float = 0.02,
        k_sigma: float = 3.0,
        warmup: int = 30,
        confirm: int = 5,
    ) -> None:
        if not (0 < alpha <= 1 and 0 < beta <= 1):
            raise ValueError("alpha and beta must be in (0, 1]")
        if horizon <= 0:
            raise ValueError("horizon must be positive (seconds)")
        self.threshold = threshold
        self.horizon = horizon
        self.alpha = alpha
        self.beta = beta
        self.k_sigma = k_sigma
        self.warmup = warmup
        self.confirm = confirm
        self.level: float | None = None
        self.trend = 0.0
        self._variance = 0.0
        self._last: float | None = None
        self._samples = 0
        self._streak = 0
        self._armed = True
        self._quiet_until = 0.0

    @property
    def sigma(self) -> float:
        """Standard deviation of the one-step forecast error, in the series' units."""
        return math.sqrt(self._variance)

    def observe(self, at: float, value: float) -> BreachPrediction | None:
        """Take the sample ``value`` at time ``at`` (seconds); return a prediction when
        this sample confirms a coming breach (at most one per rise)."""
        if self.level is None or self._last is None:
            self.level, self._last, self._samples = value, at, 1
            return None
        dt = at - self._last
        if dt <= 0:
            raise ValueError(f"observation at {at} is not after the previous one ({self._last})")
        expected = self.level + self.trend * dt
        residual = value - expected
        # the residual variance settles during warm-up with a fast average, then slowly
        gamma = max(self.alpha, 1.0 / (self._samples + 1))
        self._variance = gamma * residual * residual + (1 - gamma) * self._variance
        level = self.alpha * value + (1 - self.alpha) * expected
        self.trend = self.beta * (level - self.level) / dt + (1 - self.beta) * self.trend
        self.level, self._last = level, at
        self._samples += 1
        return self._judge(at)

    def _judge(self, at: float) -> BreachPrediction | None:
        assert self.level is not None
        if self._samples < self.warmup:
            return None
        if at >= self._quiet_until:
            self._armed = True  # the last announcement's horizon is over
        coming = self._seconds_to_breach()
        if coming is None:
            self._streak = 0
            return None
        self._streak += 1
        if not self._armed or self._streak < self.confirm:
            return None
        self._armed = False
        self._quiet_until = at + self.horizon
        return BreachPrediction(
            at=at,
            level=self.level,
            trend=self.trend,
            threshold=self.threshold,
            seconds_to_breach=coming,
        )

    def _seconds_to_breach(self) -> float | None:
        """Seconds until the forecast crosses the threshold, if it does within the horizon
        by more than noise would; None otherwise (also when already past it: a breach is
        not a prediction)."""
        assert self.level is not None
        if self.trend <= 0 or self.level >= self.threshold:
            return None
        seconds = (self.threshold - self.level) / self.trend
        if seconds > self.horizon:
            return None
        overshoot = self.level + self.trend * self.horizon - self.threshold
        # the level averages out most of the sample noise: its own deviation is smaller
        level_sigma = self.sigma * math.sqrt(self.alpha / (2 - self.alpha))
        if overshoot <= self.k_sigma * level_sigma:
            return None
        return seconds
