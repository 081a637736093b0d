"""A load run: drives an executor over a scenario on one event loop (uvloop where installed).

``LoadRun`` is single-use (running it twice raises). Each second it closes the open
second's figures, appends a time-series point, judges the thresholds (aborting on an
``abort_on_fail`` breach after its delay) and calls ``on_second``. Raises UsageError for
a bad executor parameter or target URL, DependencyError when the target refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, final

from interlock.errors import DependencyError, UsageError
from interlock.load.executors import Executor
from interlock.load.http import HttpError, Target
from interlock.load.metrics import Metrics, Second
from interlock.load.result import LoadResult
from interlock.load.scenario import Scenario
from interlock.load.session import CheckFailed, Session
from interlock.load.thresholds import Judge, LoadThreshold

__all__ = ["LoadRun", "event_loop_factory", "signals_stop"]

_now = time.perf_counter
OnSecond = Callable[[Second, dict[str, Any]], None]


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when it is installed (several times faster on the hot path), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


@final
class _VU:
    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session


@final
class LoadRun:
    """One run of ``scenario`` under ``executor`` against ``target`` (or the scenario's)."""

    def __init__(
        self,
        scenario: Scenario,
        executor: Executor,
        *,
        target: str | None = None,
        thresholds: Sequence[LoadThreshold] = (),
        on_second: OnSecond | None = None,
        start_at: float | None = None,
        seed: int | None = None,
        keep_samples: bool = False,
    ) -> None:
        url = target or scenario.target
        if not url:
            raise UsageError("no target: pass --target URL or set `target` in the scenario")
        try:
            self.target = Target(url)
        except ValueError as exc:
            raise UsageError(f"bad target: {exc}") from None
        executor.validate()
        self.url = url
        self.scenario = scenario
        self.executor = executor
        self.thresholds = list(thresholds)
        self._on_second = on_second
        self._start_at = start_at
        self._seed = seed
        self.metrics = Metrics(scenario.name)
        if keep_samples:
            self.metrics.samples = []
        self.t0 = 0.0
        self._vus: list[_VU] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._cache: dict[tuple[str, str], bytes] = {}
        self._abort: asyncio.Future[str] | None = None
        self._series: list[dict[str, Any]] = []
        self._state = "new"
        self._fatal: BaseException | None = None

    # what executors call ----------------------------------------------------------------
    def new_vu(self) -> _VU:
        vu = _VU(
            Session(
                vu=len(self._vus) + 1,
                target=self.target,
                metrics=self.metrics,
                think=self.scenario.think,
                timeout=self.scenario.timeout,
                cache=self._cache,
                seed=self._seed,
            )
        )
        self._vus.append(vu)
        return vu

    def spawn(self, vu: _VU, intended: float) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self.iterate(vu, intended))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return task

    def record_dropped(self) -> None:
        self.metrics.record_dropped()

    async def iterate(self, vu: _VU, intended: float) -> None:
        """One iteration on ``vu``, timed from ``intended`` (perf_counter seconds)."""
        # the loop's timers may wake a hair early: never time from a start still to come
        now = _now()
        origin = intended if intended < now else now
        metrics = self.metrics
        metrics.record_started()
        session = vu.session
        if self.scenario.feeder is not None:
            session.data = self.scenario.feeder.next_row()
        ok, error = True, None
        session.failure = None
        try:
            await self.scenario.workflow(session)
            if session.failure is not None:
                ok, error = False, session.failure
        except asyncio.CancelledError:
            metrics.interrupted += 1
            raise
        except HttpError as exc:
            ok, error = False, exc.kind
            metrics.record_message(error, exc)
        except CheckFailed as exc:
            ok, error = False, f"check failed: {exc}"
        except Exception as exc:
            ok, error = False, type(exc).__name__
            metrics.record_message(error, exc)
        metrics.record_iteration((_now() - origin) * 1000, ok, error)

    def abort(self, reason: str) -> None:
        """Stop the run now (running iterations are interrupted); ``reason`` is reported."""
        if self._abort is not None and not self._abort.done():
            self._abort.set_result(reason)

    # the run -----------------------------------------------------------------------------
    def run(self) -> LoadResult:
        """Run to the end on a fresh event loop (uvloop if installed); returns the result."""
        with (
            asyncio.Runner(loop_factory=event_loop_factory()) as runner,
            signals_stop(runner.get_loop(), [self]),
        ):
            return runner.run(self.arun())

    def fail(self, error: BaseException) -> None:
        """Stop the run now and make it raise ``error`` (a signal's exception, e.g. Ctrl-C)."""
        if self._fatal is None:
            self._fatal = error
        self.abort(f"{type(error).__name__}: {error}")

    async def arun(self) -> LoadResult:
        """Run to the end on the running loop; raises RuntimeError when run twice."""
        if self._state != "new":
            raise RuntimeError("a LoadRun runs once; make a new one for another run")
        self._state = "running"
        await self._preflight()
        loop = asyncio.get_running_loop()
        self._abort = loop.create_future()
        judge = Judge(self.thresholds, self.scenario.name)
        started_at = time.time()
        self.t0 = _now()
        if self._start_at is not None:
            # shards start together at an agreed wall-clock instant; a shard that arrives
            # late keeps the common clock and catches up (its delay shows in its figures)
            delay = self._start_at - started_at
            await asyncio.sleep(max(0.0, delay))
            self.t0 = _now() + min(0.0, delay)
            started_at = self._start_at
        driver = loop.create_task(self.executor.drive(self))
        ticker = loop.create_task(self._tick(judge))
        deadline = self.t0 + self.executor.planned_duration + self.executor.graceful_stop
        try:
            first: set[asyncio.Future[Any]] = {driver, self._abort}
            await asyncio.wait(
                first, timeout=max(0.0, deadline - _now()), return_when=asyncio.FIRST_COMPLETED
            )
            if not self._abort.done() and self._inflight:
                # graceful stop: let running iterations finish, unless a threshold aborts
                await asyncio.wait({*self._inflight}, timeout=max(0.0, deadline - _now()))
        finally:
            for task in (driver, ticker, *self._inflight):
                task.cancel()
            await asyncio.gather(driver, ticker, *self._inflight, return_exceptions=True)
            for vu in self._vus:
                vu.session.close()
            await asyncio.sleep(0)  # let the transports finish closing before the loop does
        if self._fatal is not None:
            raise self._fatal
        self._state = "done"
        if driver.done() and not driver.cancelled() and driver.exception() is not None:
            raise driver.exception()  # type: ignore[misc]
        elapsed = _now() - self.t0
        last = self.metrics.roll(int(elapsed) + 1)
        if last.workflow.count or last.steps or last.dropped or last.started:
            point = last.point(len(self._vus))
            self._series.append(point)
            if self._on_second is not None:
                self._on_second(last, point)
        judge.finish(self.metrics.totals(), elapsed)
        aborted = self._abort.result() if self._abort.done() else None
        return self._result(started_at, elapsed, judge, aborted)

    async def _preflight(self) -> None:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.target.host, self.target.port), timeout=10
            )
        except (OSError, TimeoutError) as exc:
            reason = getattr(exc, "strerror", None) or "no answer in 10 s"
            raise DependencyError(f"target {self.url} refuses connections: {reason}") from None
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _tick(self, judge: Judge) -> None:
        try:
            await self._ticks(judge)
        except Exception as exc:
            # a failing progress callback must not leave the run going unwatched
            self.fail(exc)
            raise

    async def _ticks(self, judge: Judge) -> None:
        k = 1
        while True:
            await asyncio.sleep(max(0.0, self.t0 + k - _now()))
            second = self.metrics.roll(k)
            point = second.point(len(self._vus))
            self._series.append(point)
            reason = judge.feed(second, float(k))
            if self._on_second is not None:
                self._on_second(second, point)
            if reason is not None:
                self.abort(reason)
            k += 1

    def _result(
        self, started_at: float, elapsed: float, judge: Judge, aborted: str | None
    ) -> LoadResult:
        m = self.metrics
        return LoadResult(
            scenario=self.scenario.name,
            executor=self.executor.name,
            plan=self.executor.describe(),
            target=self.url,
            started_at=started_at,
            elapsed=elapsed,
            workflow=m.workflow,
            steps=m.steps,
            checks={k: (m.checks[k], m.check_failures[k]) for k in m.checks | m.check_failures},
            started=m.started,
            dropped=m.dropped,
            interrupted=m.interrupted,
            thresholds=[s.to_dict() for s in judge.states],
            aborted=aborted,
            series=self._series,
            samples=m.samples,
            error_messages=dict(m.messages),
        )


@contextlib.contextmanager
def signals_stop(loop: asyncio.AbstractEventLoop, runs: Sequence[LoadRun]) -> Iterator[None]:
    """While ``loop`` drives ``runs``, a Python signal handler's exception stops them all.

    A handler that raises (Ctrl-C, a test's time limit on SIGALRM) raises wherever the main
    thread happens to be: inside a workflow it would count as a failed iteration, inside
    one of uvloop's callbacks it would only be logged, and the run would go on. Wrapped, its
    exception stops every run, and each run's ``arun`` raises it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(original: Any, signum: int, frame: Any) -> None:
        try:
            original(signum, frame)
        except BaseException as exc:
            for run in runs:
                loop.call_soon_threadsafe(run.fail, exc)

    wrapped = {}
    for sig in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM):
        original = signal.getsignal(sig)
        if callable(original):
            wrapped[sig] = original
            signal.signal(sig, functools.partial(on_signal, original))
    try:
        yield
    finally:
        for sig, original in wrapped.items():
            signal.signal(sig, original)
