"""The load engine against a real server: open-model timing, drops, thresholds, aborts."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

import pytest

from interlock.errors import DependencyError, UsageError
from interlock.load import (
    ConstantArrivalRate,
    ConstantVUs,
    LoadRun,
    PerVUIterations,
    Scenario,
    Session,
    parse_load_thresholds,
)
from interlock.load.metrics import Second

from .conftest import Target


async def ping(s: Session) -> None:
    r = await s.get("/")
    s.check(r, {"status 200": lambda r: r.status == 200})


async def fail(s: Session) -> None:
    await s.get("/status/500")


def scenario(workflow: Any = ping, **kwargs: Any) -> Scenario:
    return Scenario(name="flow", workflow=workflow, **kwargs)


def test_a_paused_server_shows_in_the_percentiles_and_the_arrival_rate_holds(
    target: Target,
) -> None:
    loop_handles: list[asyncio.TimerHandle] = []

    def pause_in_second_three(second: Second, _point: dict[str, Any]) -> None:
        if second.t == 2:  # the third second has just begun
            target.pause()
            # the fault lasts one second (its duration, not a synchronisation)
            loop_handles.append(asyncio.get_running_loop().call_later(1.0, target.resume))

    # Five seconds at 100/s: the slowest 1 % (five iterations) are those that started in
    # the pause's first ~50 ms, each delayed by ~1 s. Over ten seconds p99 would be the
    # tenth slowest, started ~100 ms into the pause, and sit at 0.9 s by construction.
    executor = ConstantArrivalRate(rate=100, duration=5, pre_allocated_vus=150, max_vus=400)
    result = LoadRun(scenario(), executor, target=target.url, on_second=pause_in_second_three).run()

    assert loop_handles, "the server was never paused"
    assert result.workflow.failures == 0
    assert result.dropped == 0
    assert result.workflow.percentile(99) >= 900  # ms: the stall is not omitted
    assert result.workflow.max >= 950  # the first iteration in the pause waited it out
    assert result.started / executor.duration == pytest.approx(100, rel=0.02)
    for point in result.series[:5]:
        # iterations keep starting on schedule while the server is stopped (a second's
        # count may move by a few across its boundary when the tick is late)
        assert point["started"] == pytest.approx(100, rel=0.1), point


def test_iterations_without_a_free_vu_are_dropped(target: Target) -> None:
    async def slow(s: Session) -> None:
        await s.think(0.3)

    executor = ConstantArrivalRate(rate=50, duration=1, pre_allocated_vus=1, max_vus=2)
    result = LoadRun(scenario(slow), executor, target=target.url).run()

    assert result.started + result.dropped == 50
    assert 0 < result.started <= 2 * 4  # two VUs, at most four 0.3 s iterations each
    assert result.dropped == sum(p["dropped"] for p in result.series)


def test_failed_requests_count_by_kind_in_the_step_and_checks(target: Target) -> None:
    async def flow(s: Session) -> None:
        r = await s.get("/status/500", name="boom")
        s.check(r, {"is 200": lambda r: r.status == 200})

    result = LoadRun(scenario(flow), PerVUIterations(vus=2, iterations=5), target=target.url).run()

    boom = result.steps["boom"]
    assert (boom.count, boom.failures, dict(boom.errors)) == (10, 10, {"status 500": 10})
    assert result.checks == {"is 200": (0, 10)}
    # a failed check does not end the iteration (k6's check), the failed step fails it
    assert result.workflow.failures == 10
    assert dict(result.workflow.errors) == {"boom: status 500": 10}


def test_an_expected_status_is_a_success(target: Target) -> None:
    async def flow(s: Session) -> None:
        await s.get("/status/404", name="missing", expect={404})

    result = LoadRun(scenario(flow), PerVUIterations(vus=1, iterations=3), target=target.url).run()
    assert result.steps["missing"].failures == 0
    assert result.workflow.failures == 0


def test_a_failing_threshold_with_abort_on_fail_stops_the_run(target: Target) -> None:
    rules = parse_load_thresholds({"flow": ["rate>0.99"]}, abort_on_fail=True, delay=1)

    async def flow(s: Session) -> None:
        r = await s.get("/status/500")
        s.require(r, {"is 200": lambda r: r.status == 200})

    # planned for an hour: only the abort can end it within the test's own time limit
    executor = ConstantVUs(vus=2, duration=3600)
    result = LoadRun(scenario(flow), executor, target=target.url, thresholds=rules).run()

    assert result.aborted is not None
    assert "rate>0.99" in result.aborted
    assert result.elapsed < executor.duration  # the threshold ended it, not its plan
    assert not result.ok
    assert result.thresholds[0]["ok"] is False


def test_a_threshold_on_a_step_that_never_ran_is_a_breach(target: Target) -> None:
    rules = parse_load_thresholds({"never": ["count<1"]})
    result = LoadRun(
        scenario(), PerVUIterations(vus=1, iterations=3), target=target.url, thresholds=rules
    ).run()
    assert result.thresholds[0]["ok"] is False  # no runs prove nothing


def test_a_sustained_threshold_fails_when_one_window_breaches(target: Target) -> None:
    stalled: list[int] = []

    async def stall_the_first_iteration(s: Session) -> None:
        if not stalled:
            stalled.append(s.vu)
            await s.think(0.3)
        await s.get("/")

    rules = parse_load_thresholds({"flow": ["max<200 over 1s", "max<1000"]})
    result = LoadRun(
        scenario(stall_the_first_iteration),
        ConstantArrivalRate(rate=20, duration=3, pre_allocated_vus=1, max_vus=20),
        target=target.url,
        thresholds=rules,
    ).run()
    windowed, whole = result.thresholds
    assert windowed["ok"] is False
    assert windowed["actual"] >= 200
    assert windowed["failed_at_s"] == 1  # the first window is the one that breached
    assert whole["ok"] is True


def test_a_target_that_refuses_is_a_dependency_error() -> None:
    with pytest.raises(DependencyError, match="refuses connections"):
        LoadRun(scenario(), ConstantVUs(vus=1, duration=1), target="http://127.0.0.1:1").run()


def test_bad_executor_parameters_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="--rate must be > 0"):
        LoadRun(scenario(), ConstantArrivalRate(rate=-1, duration=1), target="http://x:1")


def test_a_run_runs_once(target: Target) -> None:
    run = LoadRun(scenario(), PerVUIterations(vus=1, iterations=1), target=target.url)
    run.run()
    with pytest.raises(RuntimeError, match="runs once"):
        run.run()


def test_an_exception_from_a_signal_handler_stops_the_run_and_is_raised(target: Target) -> None:
    class TimeLimit(Exception):
        pass

    def expire(signum: int, frame: object) -> None:
        raise TimeLimit("the test's time is up")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        run = LoadRun(scenario(), ConstantVUs(vus=1, duration=30), target=target.url)
        with pytest.raises(TimeLimit, match="time is up"):
            run.run()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert run.metrics.started > 0


def test_a_websocket_step_times_the_handshake_and_talks() -> None:
    from websockets.sync.server import ServerConnection, serve

    def echo(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]

        async def chat(s: Session) -> None:
            async with s.websocket("/ws", name="ws connect") as ws:
                await ws.send("hello")
                s.check(await ws.recv(), {"echoed": lambda m: m == "hello"})

        result = LoadRun(
            scenario(chat), PerVUIterations(vus=2, iterations=3), target=f"http://127.0.0.1:{port}"
        ).run()
        server.shutdown()
        thread.join(timeout=10)

    assert result.steps["ws connect"].count == 6
    assert result.steps["ws connect"].failures == 0
    assert result.checks == {"echoed": (6, 0)}
    assert result.workflow.failures == 0


def test_a_failing_progress_callback_stops_the_run_and_is_raised(target: Target) -> None:
    seconds: list[int] = []

    def broken(second: Second, _point: dict[str, Any]) -> None:
        seconds.append(second.t)
        raise LookupError("the monitor is gone")

    run = LoadRun(scenario(), ConstantVUs(vus=1, duration=30), target=target.url, on_second=broken)
    with pytest.raises(LookupError, match="monitor is gone"):
        run.run()
    assert seconds == [0]  # stopped at the first failure, not run to the end unwatched
    assert run.metrics.started > 0


def test_an_answer_to_head_ends_with_its_headers(target: Target) -> None:
    async def flow(s: Session) -> None:
        head = await s.head("/", timeout=5)
        s.check(head, {"no body": lambda r: r.body == b"" and r.headers["content-length"] == "2"})
        s.check(await s.get("/"), {"then a body": lambda r: r.body == b"ok"})

    result = LoadRun(scenario(flow), PerVUIterations(vus=1, iterations=3), target=target.url).run()
    assert result.checks == {"no body": (3, 0), "then a body": (3, 0)}
    assert result.steps["HEAD /"].failures == 0
