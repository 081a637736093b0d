"""Probe state and windowed rules: retries before down, outages, burn rates, system limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interlock.monitor.config import parse_monitor_config
from interlock.monitor.probes import Sample
from interlock.monitor.system import Usage
from interlock.monitor.windows import ProbeState, breaches, percentile


def _config(**top: Any) -> Any:
    probe = {"type": "http", "url": "http://h/", "failure_threshold": 3, "slo": 99, "interval": 1}
    return parse_monitor_config(Path("/p"), {"probes": {"web": probe}, **top})


def _sample(at: float, ok: bool, ms: float = 10) -> Sample:
    return Sample("web", at, ok, ms, None if ok else "boom")


def test_probe_goes_down_only_after_failure_threshold_consecutive_failures() -> None:
    state = ProbeState(_config().probes[0], keep=600)
    state.apply(_sample(1, True))
    assert [state.apply(_sample(t, False)) for t in (2, 3, 4)] == [False, False, True]
    assert state.status == "down"
    state.apply(_sample(5, True))
    assert state.status == "up"


def test_flapping_below_the_down_threshold_breaks_the_success_rate_rule() -> None:
    config = _config(window=100, error_window=100, burn_rate=[])
    state = ProbeState(config.probes[0], keep=600)
    for t in range(10):
        state.apply(_sample(t, t % 3 != 0))  # one failure in three, never three in a row
    found = {b.rule for b in breaches(10, config, [state], [])}
    assert found == {"success_rate", "error_rate"}


def test_outage_samples_do_not_count_in_the_success_rate() -> None:
    config = _config(window=100, burn_rate=[])
    state = ProbeState(config.probes[0], keep=600)
    for t in range(5):
        state.apply(_sample(t, False))
    for t in range(5, 20):
        state.apply(_sample(t, True))
    # two failures before the threshold count; the outage ones belong to the down alert
    assert state.success_rate(20, 100) == 100 * 15 / 17


def test_burn_rate_fires_when_both_windows_burn_too_fast() -> None:
    config = _config(burn_rate=[[60, 10, 10]], window=1, error_window=1)
    state = ProbeState(config.probes[0], keep=600)
    for t in range(50):
        state.apply(_sample(t, True))
    for t in range(50, 60):
        state.apply(_sample(t, t % 2 == 0))  # 50 % errors: 50x the 1 % budget in 10 s
    assert "burn_rate" not in {b.rule for b in breaches(60, config, [state], [])}  # 5/60: 8x
    for t in range(60, 70):
        state.apply(_sample(t, t % 2 == 0))
    assert "burn_rate" in {b.rule for b in breaches(70, config, [state], [])}  # 10/60: 16x


def test_slow_answers_break_the_response_time_rule() -> None:
    config = _config(thresholds={"response_time": 100}, burn_rate=[])
    state = ProbeState(config.probes[0], keep=600)
    for t in range(20):
        state.apply(_sample(t, True, ms=150 if t >= 10 else 5))
    assert [b.rule for b in breaches(20, config, [state], [])] == ["response_time"]


def test_host_cpu_and_memory_limits() -> None:
    config = _config(thresholds={"cpu": 50, "memory": 90})
    found = breaches(0, config, [], [Usage("host", 60, 95, 1), Usage("stack", 99, 99, 1)])
    assert [(b.rule, b.subject) for b in found] == [("cpu", "host"), ("memory", "host")]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 95) == 0
    assert percentile(list(range(1, 101)), 95) == 95


def test_burn_rate_waits_until_the_samples_cover_the_long_window() -> None:
    config = _config(burn_rate=[[60, 10, 10]], window=1, error_window=1)
    state = ProbeState(config.probes[0], keep=600)
    for t in range(30, 60):
        state.apply(_sample(t, False))  # every check failed, but only for 30 s of 60
    assert "burn_rate" not in {b.rule for b in breaches(60, config, [state], [])}
