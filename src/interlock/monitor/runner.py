"""The monitor: runs every probe on its interval, keeps the history, raises the alerts.

``await Monitor(config).run(stop)`` watches until ``stop`` is set, then shuts down in
well under 2 s: no new checks start, checks in flight get ``grace`` seconds to finish
(and are stored), open alerts end as "monitor stopped", and the history is closed.
Every sample taken is stored: ``monitor.taken == history.count()`` at the end.

``run`` raises DependencyError when the history cannot be opened, and re-raises (after
the same shutdown) whatever made a probe or background loop die, e.g. a history that
can no longer be written: a monitor that silently stopped watching would lie.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, final

import aiohttp

from interlock.monitor.alerts import Alert, AlertEngine, AlertEvent, Breach
from interlock.monitor.config import MonitorConfig
from interlock.monitor.history import History
from interlock.monitor.notifiers import (
    ConsoleNotifier,
    JsonlNotifier,
    Notifier,
    WebhookNotifier,
)
from interlock.monitor.probes import Sample, check
from interlock.monitor.store import HISTORY_ERRORS
from interlock.monitor.system import SystemSampler, Usage
from interlock.monitor.windows import ProbeState, breaches

__all__ = ["Monitor"]

#: how long checks in flight may finish after a stop, s (the whole stop stays under 2 s)
GRACE = 1.0


@final
class Monitor:
    """One monitor run; ``run`` may be called once."""

    def __init__(self, config: MonitorConfig, *, grace: float = GRACE) -> None:
        self.config = config
        self.grace = grace
        # a little more than the longest window, so the oldest sample kept still covers it
        slowest = max(spec.interval for spec in config.probes)
        keep = max(config.window, config.error_window, *(b[0] for b in config.burn_rate))
        keep += 2 * slowest
        self.probes = {spec.name: ProbeState(spec, keep) for spec in config.probes}
        self.engine = AlertEngine(
            for_s=config.alerts.for_s, remind_every=config.alerts.remind_every
        )
        self.system: list[Usage] = []
        #: rules broken, as of each probe's latest sample, and of the latest host reading:
        #: each is recomputed when its own figures change, not on every sample of any probe
        self._broken: dict[str, list[Breach]] = {}
        self._broken_system: list[Breach] = []
        self._sampler = SystemSampler(config.processes)
        self.faults: list[dict[str, Any]] = []
        #: checks finished, and samples stored
        self.taken = 0
        self.stored = 0
        #: called with each sample and each change of state (the dashboard, /metrics)
        self.listeners: list[Callable[[str, Any], None]] = []
        self.history: History | None = None
        self._notifiers: list[Notifier] = []
        self._session: aiohttp.ClientSession | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._ran = False
        #: what ended the run early (the history could not be written, a bug): raised by run
        self._failure: BaseException | None = None

    # -- lifecycle ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, ready: Callable[[], None] | None = None) -> None:
        """Watch until ``stop`` is set; see the module docstring."""
        if self._ran:
            raise RuntimeError("a Monitor runs once; make a new one")
        self._ran = True
        config = self.config
        with History(config.history) as history:
            self.history = history
            history.compact(
                time.time(),
                raw_retention=config.raw_retention,
                retention=config.retention,
                width=config.rollup,
            )
            self._warm(history)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
                self._session = session
                self._notifiers = self._make_notifiers(session)
                tasks = [
                    asyncio.create_task(self._probe_loop(state, stop), name=name)
                    for name, state in self.probes.items()
                ]
                background = [
                    # CPU figures are "since the last reading": the first comes a moment later
                    asyncio.create_task(
                        self._every(config.interval, stop, self._sample_system, first=0.5)
                    ),
                    asyncio.create_task(self._every(3600, stop, self._compact)),
                ]
                if config.faults_url:
                    background.append(
                        asyncio.create_task(self._every(config.interval, stop, self._read_faults))
                    )
                for task in [*tasks, *background]:
                    task.add_done_callback(lambda t: self._failed(t, stop))
                if ready is not None:
                    ready()
                await stop.wait()
                await self._drain(tasks, background)
                events, stopped = self.engine.stop(time.time())
                try:
                    self._persist(stopped)
                except HISTORY_ERRORS as exc:  # the notices still go out; the error is raised
                    self._failure = self._failure or exc
                for event in events:
                    self._notify(event)
                if self._sends:
                    await asyncio.wait(self._sends, timeout=0.5)
                for task in self._sends:
                    task.cancel()
                self._emit("stopped", None)
        if self._failure is not None:
            raise self._failure

    def _failed(self, task: asyncio.Task[None], stop: asyncio.Event) -> None:
        """A loop that dies ends the run: watching on without it would be a silent lie."""
        if task.cancelled() or task.exception() is None:
            return
        if self._failure is None:
            self._failure = task.exception()
        stop.set()

    async def _drain(
        self, tasks: list[asyncio.Task[None]], background: list[asyncio.Task[None]]
    ) -> None:
        for task in background:
            task.cancel()
        # checks in flight get a grace period: a sample taken is a sample stored
        _, pending = await asyncio.wait(tasks, timeout=self.grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, *background, return_exceptions=True)

    def _warm(self, history: History) -> None:
        """Windows start from the stored samples, so a restart keeps its trends."""
        now = time.time()
        for name, state in self.probes.items():
            for sample, outage in history.recent(name, now - state.keep):
                state.samples.append((sample, outage))

    def _make_notifiers(self, session: aiohttp.ClientSession) -> list[Notifier]:
        settings = self.config.alerts
        notifiers: list[Notifier] = []
        if settings.console:
            notifiers.append(ConsoleNotifier())
        if settings.jsonl is not None:
            notifiers.append(JsonlNotifier(settings.jsonl))
        if settings.webhook is not None:
            notifiers.append(WebhookNotifier(settings.webhook, session))
        return notifiers

    # -- the loops ---------------------------------------------------------------------
    async def _probe_loop(self, state: ProbeState, stop: asyncio.Event) -> None:
        assert self._session is not None
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not stop.is_set():
            sample = await check(state.spec, self._session)
            self.record(sample)
            due = max(due + state.spec.interval, loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due - loop.time())

    async def _every(
        self, seconds: float, stop: asyncio.Event, work: Callable[[], Any], first: float = 0
    ) -> None:
        if first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), first)
        while not stop.is_set():
            result = work()
            if asyncio.iscoroutine(result):
                await result
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)

    def record(self, sample: Sample) -> None:
        """Store ``sample``, update its probe, and re-evaluate the alerts."""
        assert self.history is not None
        self.taken += 1
        state = self.probes[sample.probe]
        outage = state.apply(sample)
        self.history.add(sample, outage=outage)
        self.stored += 1
        self._broken[sample.probe] = breaches(time.time(), self.config, [state], [])
        self._emit("sample", sample)
        self._evaluate()

    def _sample_system(self) -> None:
        assert self.history is not None
        self.system = self._sampler.sample()
        now = time.time()
        for usage in self.system:
            self.history.add_system(now, usage.source, usage.cpu, usage.memory)
        self._broken_system = breaches(now, self.config, [], self.system)
        self._emit("system", self.system)
        self._evaluate()

    def _compact(self) -> None:
        assert self.history is not None
        config = self.config
        self.history.compact(
            time.time(),
            raw_retention=config.raw_retention,
            retention=config.retention,
            width=config.rollup,
        )

    async def _read_faults(self) -> None:
        """Active faults of the watched stack: proxies down or with toxics."""
        assert self._session is not None
        assert self.config.faults_url
        url = self.config.faults_url.rstrip("/") + "/proxies"
        try:
            async with asyncio.timeout(self.config.timeout):
                async with self._session.get(url) as response:
                    body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return
        if not isinstance(body, dict):
            return
        faults = []
        for name, proxy in body.items():
            if not isinstance(proxy, dict):
                continue
            if proxy.get("enabled") is False:
                faults.append({"proxy": name, "fault": "down"})
            for toxic in proxy.get("toxics") or []:
                if isinstance(toxic, dict):
                    faults.append({"proxy": name, "fault": str(toxic.get("type", "?"))})
        if faults != self.faults:
            self.faults = faults
            self._emit("faults", faults)

    # -- alerts ------------------------------------------------------------------------
    def _evaluate(self) -> None:
        now = time.time()
        found = [*self._broken_system, *(b for found in self._broken.values() for b in found)]
        views = {name: state.view() for name, state in self.probes.items()}
        events, changed = self.engine.evaluate(now, found, views)
        self._persist(changed)
        for event in events:
            self._notify(event)
        if changed:
            self._emit("alerts", None)

    def _persist(self, alerts: list[Alert]) -> None:
        history = self.history
        assert history is not None
        for alert in alerts:
            if not alert.id:
                alert.id = history.open_alert(
                    alert.key, alert.rule, alert.subject, alert.message, alert.since
                )
            if alert.ended_at is not None:
                history.end_alert(alert.id, alert.state, alert.ended_at, alert.reason)
            else:
                history.update_alert(alert.id, alert.state, alert.message, alert.fired_at)

    def _notify(self, event: AlertEvent) -> None:
        for notifier in self._notifiers:
            task = asyncio.create_task(notifier.send(event))
            self._sends.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _warn(f"an alert notice was not delivered: {task.exception()!r}")

    def _emit(self, kind: str, payload: Any) -> None:
        for listener in list(self.listeners):
            try:
                listener(kind, payload)
            except Exception as exc:  # a broken view must not stop the watching
                self.listeners.remove(listener)
                _warn(f"a view of the monitor failed and was detached: {exc!r}")


def _warn(text: str) -> None:
    print(f"monitor: {text}", file=sys.stderr, flush=True)
