"""Breach prediction on error-rate series, driven by simulated time (no clock is read)."""

from __future__ import annotations

import pytest
from tests.unit.error_rates import BREACH_AT, THRESHOLD, ramped, steady

from wms.coordination.forecast import BreachPrediction, TrendForecaster


def first_prediction(series: object) -> BreachPrediction | None:
    forecaster = TrendForecaster(threshold=THRESHOLD)
    for at, value in series:  # type: ignore[attr-defined]
        prediction = forecaster.observe(at, value)
        if prediction is not None:
            return prediction
    return None


@pytest.mark.parametrize("seed", range(10))
def test_a_slowly_ramped_error_rate_is_predicted_before_it_breaches(seed: int) -> None:
    prediction = first_prediction(ramped(seed))
    assert prediction is not None, "the ramp was never predicted"
    assert prediction.at < BREACH_AT
    # not during the steady first two minutes: the rise itself was seen
    assert prediction.at > 120
    # the expected time to breach points at the real one, give or take the noise: a
    # straight line through a noisy level errs early more often than late
    assert BREACH_AT - 120 <= prediction.at + prediction.seconds_to_breach <= BREACH_AT + 60


@pytest.mark.parametrize("rate", [0.01, 0.02, 0.03])
@pytest.mark.parametrize("seed", range(10))
def test_steady_noisy_load_raises_no_prediction(seed: int, rate: float) -> None:
    # at 3 % the noise alone (sd 1.7 points a second) crosses the 5 % line every few
    # seconds, and a trend fitted to a few minutes of it points up half the time: only a
    # trend whose confidence band clears the threshold counts
    assert first_prediction(steady(seed, rate=rate)) is None


def test_a_series_far_from_time_zero_is_judged_as_one_near_it() -> None:
    # a process up for decades of seconds: the window's sums must not lose the trend in
    # the size of its timestamps
    near = first_prediction(ramped(3))
    far = first_prediction((at + 3e9, value) for at, value in ramped(3))
    assert near is not None
    assert far is not None
    assert far.at - 3e9 == near.at
    assert far.seconds_to_breach == pytest.approx(near.seconds_to_breach, rel=1e-6)


def test_one_rise_gives_one_prediction() -> None:
    forecaster = TrendForecaster(threshold=THRESHOLD)
    predictions = [
        p for at, v in ramped(0, seconds=int(BREACH_AT)) if (p := forecaster.observe(at, v))
    ]
    assert len(predictions) == 1


def test_a_level_already_past_the_threshold_is_a_breach_not_a_prediction() -> None:
    forecaster = TrendForecaster(threshold=THRESHOLD, window=5, confirm=1)
    assert [forecaster.observe(float(t), 0.5 + t / 100) for t in range(50)] == [None] * 50


def test_observations_out_of_time_order_are_refused() -> None:
    forecaster = TrendForecaster(threshold=THRESHOLD)
    forecaster.observe(10.0, 0.01)
    with pytest.raises(ValueError, match="not after"):
        forecaster.observe(10.0, 0.01)


def test_a_rise_the_noise_could_explain_is_not_predicted() -> None:
    # the fitted line reaches 10 within 120 s (9 now, rising 0.01 a second), but the
    # series swings 6 either side of it: its confidence band does not clear the threshold
    forecaster = TrendForecaster(threshold=10.0, window=240, confirm=1)
    predictions = [
        forecaster.observe(float(t), 9 - 0.01 * (239 - t) + (6 if t % 2 else -6))
        for t in range(240)
    ]
    assert predictions == [None] * 240
    # the same line without the noise is a prediction
    forecaster = TrendForecaster(threshold=10.0, window=240, confirm=1)
    quiet = [forecaster.observe(float(t), 9 - 0.01 * (239 - t)) for t in range(240)]
    assert quiet[-1] is not None
