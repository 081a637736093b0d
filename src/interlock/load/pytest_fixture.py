"""The ``load`` fixture: a scenario run against the stack inside a test, feeding the SLO report.

    def test_search_holds_its_slo(load):
        async def search(s):
            r = await s.get("/api/search?q=bins")
            s.check(r, {"200": lambda r: r.status == 200})

        result = load.run(search, ConstantArrivalRate(rate=20, duration=60),
                          thresholds=["p(95)<500"])
        assert result.ok, result.thresholds

Each run's workflow figures go to the session's SLO recorder under the workflow's name
(``name=`` or the function's), with its whole-run thresholds declared there too, so the
run's SLO table and gate include them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, final

from interlock.load.engine import LoadRun, event_loop_factory, signals_stop
from interlock.load.executors import Executor
from interlock.load.result import LoadResult
from interlock.load.scenario import Scenario, Workflow
from interlock.load.thresholds import parse_load_thresholds

__all__ = ["LoadFixture", "load"]


class SloSink(Protocol):
    """What the fixture feeds: the ``slo`` fixture's recorder (``add`` and ``declare``)."""

    def add(
        self, name: str, *, start: float, duration_ms: float, ok: bool, error: str | None = None
    ) -> None: ...

    def declare(self, name: str, *rules: str) -> None: ...


@final
class LoadFixture:
    """Runs load scenarios against ``base_url`` and reports each to ``slo`` (if given)."""

    def __init__(self, *, base_url: str | None, slo: SloSink | None = None) -> None:
        self.base_url = base_url
        self._slo = slo
        self.results: list[LoadResult] = []

    def run(
        self,
        workflow: Workflow | Scenario,
        executor: Executor,
        *,
        name: str | None = None,
        thresholds: Sequence[str] | Mapping[str, Sequence[str]] = (),
        abort_on_fail: bool = False,
        target: str | None = None,
    ) -> LoadResult:
        """Run ``workflow`` (an ``async def (session)``, or a Scenario) under ``executor``.

        ``thresholds``: rules on the workflow, or ``{name: rules}`` for steps too. Raises
        UsageError on bad parameters, DependencyError when the target refuses; a breached
        threshold is in the result (``result.ok``), and in the SLO gate.
        """
        scenario = self._scenario(workflow, name)
        rules = thresholds if isinstance(thresholds, Mapping) else {scenario.name: thresholds}
        parsed = parse_load_thresholds(
            {**scenario.thresholds, **rules}, abort_on_fail=abort_on_fail
        )
        run = LoadRun(
            scenario,
            executor,
            target=target or scenario.target or self.base_url,
            thresholds=parsed,
            # the SLO recorder still takes samples; it will take the aggregate itself
            keep_samples=self._slo is not None,
        )
        result = run.run()
        self.results.append(result)
        self._report(
            result,
            [t.rule.expression for t in parsed if not t.window and t.target == scenario.name],
        )
        return result

    def run_together(
        self,
        streams: Mapping[str, tuple[Workflow, Executor]],
        *,
        thresholds: Mapping[str, Sequence[str]] | None = None,
        abort_on_fail: bool = False,
    ) -> dict[str, LoadResult]:
        """Run several named streams at once on one event loop (a mixed load), each with its
        own executor and ``thresholds[name]``; returns each stream's result by name."""
        runs = {
            name: LoadRun(
                Scenario(name=name, workflow=workflow),
                executor,
                target=self.base_url,
                thresholds=parse_load_thresholds(
                    {name: (thresholds or {}).get(name, ())}, abort_on_fail=abort_on_fail
                ),
                keep_samples=self._slo is not None,
            )
            for name, (workflow, executor) in streams.items()
        }

        async def together() -> list[LoadResult]:
            return list(await asyncio.gather(*(run.arun() for run in runs.values())))

        with (
            asyncio.Runner(loop_factory=event_loop_factory()) as runner,
            signals_stop(runner.get_loop(), list(runs.values())),
        ):
            finished = dict(zip(runs, runner.run(together()), strict=True))
        for name, result in finished.items():
            self.results.append(result)
            rules = [t.rule.expression for t in runs[name].thresholds if not t.window]
            self._report(result, rules)
        return finished

    def _scenario(self, workflow: Workflow | Scenario, name: str | None) -> Scenario:
        if isinstance(workflow, Scenario):
            return workflow
        return Scenario(name=name or str(getattr(workflow, "__name__", "load")), workflow=workflow)

    def _report(self, result: LoadResult, rules: list[str]) -> None:
        if self._slo is None or result.samples is None:
            return
        if rules:
            self._slo.declare(result.scenario, *rules)
        for duration, error in result.samples:
            self._slo.add(
                result.scenario,
                start=result.started_at,
                duration_ms=duration,
                ok=error is None,
                error=error,
            )


def load(stack: Any, slo: Any) -> LoadFixture:
    """The ``load`` fixture's body: a LoadFixture aimed at the stack's app, feeding ``slo``.

    Register with ``pytest.fixture(load)`` (function scope): ``stack`` and ``slo`` are
    Interlock's fixtures of those names.
    """
    return LoadFixture(base_url=getattr(stack, "app_url", None), slo=slo)
