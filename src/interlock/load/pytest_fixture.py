"""The ``load`` fixture: a scenario run against the stack inside a test, feeding the SLO report.

    def test_search_holds_its_slo(load):
        async def search(s):
            r = await s.get("/api/search?q=bins")
            s.check(r, {"200": lambda r: r.status == 200})

        result = load.run(search, ConstantArrivalRate(rate=20, duration=60),
                          thresholds=["p(95)<500"])
        assert result.ok, result.thresholds

Each run's workflow aggregate is merged into the session's SLO recorder under the
workflow's name (``name=`` or the function's), with its whole-run thresholds declared
there too, so the run's SLO table and gate include every iteration; no per-iteration
sample list is kept for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol, final

from interlock.load.engine import LoadRun, event_loop_factory, signals_stop
from interlock.load.executors import Executor
from interlock.load.result import LoadResult
from interlock.load.scenario import Scenario, Workflow
from interlock.load.thresholds import parse_load_thresholds
from interlock.slo.aggregate import Aggregate

__all__ = ["LoadFixture", "SloSink"]


class SloSink(Protocol):
    """What the fixture feeds: the session's SLO recorder (``merge`` and ``declare``)."""

    def merge(self, name: str, figures: Aggregate) -> None: ...

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
        slo: bool = True,
    ) -> LoadResult:
        """Run ``workflow`` (an ``async def (session)``, or a Scenario) under ``executor``.

        ``thresholds``: rules on the workflow, or ``{name: rules}`` for steps too. Raises
        UsageError on bad parameters, DependencyError when the target refuses; a breached
        threshold is in the result (``result.ok``), and in the SLO gate. ``slo=False``
        keeps the run out of the SLO gate (a run meant to be pushed past its SLO, such
        as a capacity search).
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
        )
        result = run.run()
        self.results.append(result)
        if slo:
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
        slo: bool = True,
    ) -> dict[str, LoadResult]:
        """Run several named streams at once on one event loop (a mixed load), each with its
        own executor and ``thresholds[name]``; returns each stream's result by name.

        ``slo=False`` keeps the streams out of the SLO gate (as for ``run``): a load that
        carries an outage on purpose is judged by its test, not by the run's gates.
        """
        runs = {
            name: LoadRun(
                Scenario(name=name, workflow=workflow),
                executor,
                target=self.base_url,
                thresholds=parse_load_thresholds(
                    {name: (thresholds or {}).get(name, ())}, abort_on_fail=abort_on_fail
                ),
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
            if slo:
                rules = [t.rule.expression for t in runs[name].thresholds if not t.window]
                self._report(result, rules)
        return finished

    def _scenario(self, workflow: Workflow | Scenario, name: str | None) -> Scenario:
        if isinstance(workflow, Scenario):
            return workflow
        return Scenario(name=name or str(getattr(workflow, "__name__", "load")), workflow=workflow)

    def _report(self, result: LoadResult, rules: list[str]) -> None:
        if self._slo is None:
            return
        if rules:
            self._slo.declare(result.scenario, *rules)
        self._slo.merge(result.scenario, result.workflow)
