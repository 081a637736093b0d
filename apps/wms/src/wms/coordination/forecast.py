"""Breach prediction on an error-rate series: a linear trend, and the evidence for it.

The forecaster fits a straight line by least squares to the last ``window`` seconds of the
series and forecasts along it. Least squares gives what a prediction needs beyond the line
itself: the standard error of the slope and of every point forecast, from the residuals
of the series itself. A breach is predicted only when

- the lower confidence bound of the forecast ``horizon`` seconds ahead (forecast - ``z``
  * SE(forecast)) is over the threshold, not only the forecast itself. That bound can
  rise that far only on a trend significant against the series' noise (slope over
  ``z`` standard errors of its own), so a steady series, however near the threshold, is
  not extrapolated over it;
- the mean forecast reaches the threshold within ``horizon`` and the fitted level now is
  still under it (a level already past it is a breach, not a prediction);
- all of that holds for ``confirm`` samples in a row.

Why not Holt's smoothing (statsmodels' ``Holt``, or its four-line recursion): its
trend is an exponentially weighted difference of levels whose own noise it does not
estimate, so a steady series near the threshold raised predictions whenever the trend
wandered up (77 of 200 steady ten-minute runs at 3 % against a 5 % threshold).
statsmodels' ETS models do give prediction intervals, but each fit optimises the
smoothing constants over the whole series: 115 ms for ``Holt(...).fit()`` and 220 ms for
``ETSModel(...).fit()`` with its prediction intervals, on 240 samples here, against 2 µs for
an update of this one, whose window sums move in O(1) a sample. One fit a second per
series would fit in the service, but not in the benchmark's 480,000 updates (15 hours).

A prediction holds for its horizon: the forecaster stays quiet that long, so one ramp
gives one event.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

__all__ = ["BreachPrediction", "TrendForecaster"]


@dataclass(frozen=True, kw_only=True)
class BreachPrediction:
    """A predicted breach of ``threshold``, ``seconds_to_breach`` after ``at`` (seconds)."""

    at: float
    #: the fitted level at ``at``, in the series' units
    level: float
    #: units of the series per second
    trend: float
    threshold: float
    seconds_to_breach: float


@dataclass(frozen=True)
class _Fit:
    """The least-squares line of a window, centred on its mean time."""

    n: int
    mean_t: float
    mean_y: float
    slope: float
    #: sum of (t - mean_t)^2, seconds^2
    sxx: float
    #: residual standard deviation, in the series' units
    sigma: float

    def at(self, t: float) -> float:
        return self.mean_y + self.slope * (t - self.mean_t)

    def stderr_at(self, t: float) -> float:
        return self.sigma * math.sqrt(1 / self.n + (t - self.mean_t) ** 2 / self.sxx)


class _Window:
    """The samples of the last ``seconds`` and their sums, kept in O(1) a sample.

    Times are kept relative to an anchor that moves on as the window does, so the sums
    never grow with the age of the process (and lose no precision over days)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.samples: deque[tuple[float, float]] = deque()
        self._anchor = 0.0
        self._sums = [0.0] * 5  # sum t, t^2, y, t*y, y^2 (t relative to the anchor)

    def add(self, at: float, value: float) -> None:
        if not self.samples or at - self._anchor > 4 * self.seconds:
            self._anchor = at
            self._resum()
        self.samples.append((at, value))
        self._account(at, value, 1.0)
        while self.samples and self.samples[0][0] <= at - self.seconds:
            old_at, old_value = self.samples.popleft()
            self._account(old_at, old_value, -1.0)

    def _resum(self) -> None:
        self._sums = [0.0] * 5
        for at, value in self.samples:
            self._account(at, value, 1.0)

    def _account(self, at: float, value: float, sign: float) -> None:
        t = at - self._anchor
        sums = self._sums
        sums[0] += sign * t
        sums[1] += sign * t * t
        sums[2] += sign * value
        sums[3] += sign * t * value
        sums[4] += sign * value * value

    def fit(self) -> _Fit | None:
        n = len(self.samples)
        if n < 3:
            return None
        st, stt, sy, sty, syy = self._sums
        mean_t, mean_y = st / n, sy / n
        sxx = stt - st * mean_t
        if sxx <= 0:
            return None
        sxy = sty - st * mean_y
        syy_c = syy - sy * mean_y
        slope = sxy / sxx
        sse = max(0.0, syy_c - slope * sxy)
        return _Fit(
            n=n,
            mean_t=mean_t + self._anchor,
            mean_y=mean_y,
            slope=slope,
            sxx=sxx,
            sigma=math.sqrt(sse / (n - 2)),
        )


class TrendForecaster:
    """One series' forecaster; feed it with ``observe`` in time order.

    ``threshold`` is in the series' units (e.g. a failed fraction, 0.05, or errors a
    second); ``horizon`` is how far ahead (seconds) a breach is worth announcing;
    ``window`` the seconds of history the trend is fitted to (no prediction before the
    window is full); ``z`` how many standard errors count as evidence; ``confirm`` how many
    samples in a row must agree. Raises ValueError on a non-positive horizon or window, a
    negative ``z``, ``confirm`` under 1, or observations out of time order.
    """

    def __init__(
        self,
        *,
        threshold: float,
        horizon: float = 120.0,
        window: float = 240.0,
        z: float = 2.0,
        confirm: int = 3,
    ) -> None:
        if horizon <= 0 or window <= 0:
            raise ValueError("horizon and window must be positive (seconds)")
        if z < 0 or confirm < 1:
            raise ValueError("z must be 0 or more and confirm 1 or more")
        self.threshold = threshold
        self.horizon = horizon
        self.z = z
        self.confirm = confirm
        self._window = _Window(window)
        self._first: float | None = None
        self._last: float | None = None
        self._streak = 0
        self._quiet_until = -math.inf

    def observe(self, at: float, value: float) -> BreachPrediction | None:
        """Take the sample ``value`` at time ``at`` (seconds); return a prediction when
        this sample confirms a coming breach (at most one per horizon)."""
        if self._last is not None and at <= self._last:
            raise ValueError(f"observation at {at} is not after the previous one ({self._last})")
        if self._first is None:
            self._first = at
        self._last = at
        self._window.add(at, value)
        if at - self._first < self._window.seconds - 1:
            return None  # not a full window yet: too little to tell a trend from noise
        fit = self._window.fit()
        seconds = None if fit is None else self._seconds_to_breach(fit, at)
        if fit is None or seconds is None:
            self._streak = 0
            return None
        self._streak += 1
        if self._streak < self.confirm or at < self._quiet_until:
            return None
        self._quiet_until = at + self.horizon
        return BreachPrediction(
            at=at,
            level=fit.at(at),
            trend=fit.slope,
            threshold=self.threshold,
            seconds_to_breach=seconds,
        )

    def _seconds_to_breach(self, fit: _Fit, now: float) -> float | None:
        """Seconds until the fitted line crosses the threshold, when the evidence says it
        will within the horizon (see the module's docstring); None otherwise."""
        level = fit.at(now)
        if fit.slope <= 0 or level >= self.threshold:
            return None
        seconds = (self.threshold - level) / fit.slope
        if seconds > self.horizon:
            return None
        ahead = now + self.horizon
        if fit.at(ahead) - self.z * fit.stderr_at(ahead) < self.threshold:
            return None
        return seconds
