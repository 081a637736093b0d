"""Breach prediction on error-rate series, driven by simulated time (no clock is read)."""

from __future__ import annotations

import pytest
from tests.unit.error_rates import BREACH_AT, THRESHOLD, ramped, steady

from wms.coordination.forecast import BreachPrediction, HoltForecaster


def first_prediction(series: object) -> BreachPrediction | None:
    forecaster = HoltForecaster(threshold=THRESHOLD)
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


@pytest.mark.parametrize("rate", [0.01, 0.02])
@pytest.mark.parametrize("seed", range(10))
def test_steady_noisy_load_raises_no_prediction(seed: int, rate: float) -> None:
    # at 2 % the noise alone (sd 1.4 points a second) crosses the 5 % line now and then:
    # only the noise gate and the persistence keep the forecaster quiet
    assert first_prediction(steady(seed, rate=rate)) is None


def test_one_rise_gives_one_prediction() -> None:
    forecaster = HoltForecaster(threshold=THRESHOLD)
    predictions = [
        p for at, v in ramped(0, seconds=int(BREACH_AT)) if (p := forecaster.observe(at, v))
    ]
    assert len(predictions) == 1


def test_a_level_already_past_the_threshold_is_a_breach_not_a_prediction() -> None:
    forecaster = HoltForecaster(threshold=THRESHOLD, warmup=2, confirm=1)
    assert [forecaster.observe(float(t), 0.5 + t / 100) for t in range(50)] == [None] * 50


def test_observations_out_of_time_order_are_refused() -> None:
    forecaster = HoltForecaster(threshold=THRESHOLD)
    forecaster.observe(10.0, 0.01)
    with pytest.raises(ValueError, match="not after"):
        forecaster.observe(10.0, 0.01)
