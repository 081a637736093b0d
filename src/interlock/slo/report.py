"""The SLO outcome of a run: each workflow's figures and verdicts, as data and as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from interlock.slo.aggregate import Aggregate
from interlock.slo.tally import Tally
from interlock.slo.thresholds import Threshold, Verdict, evaluate, resolve

__all__ = ["SloReport", "WorkflowResult", "build_report"]

#: the percentiles every workflow shows, in the table and in slo.json
SHOWN_PERCENTILES = (50, 90, 95, 99)


@final
@dataclass(frozen=True, kw_only=True)
class WorkflowResult:
    """One workflow: its figures (no runs: an empty aggregate) and its verdicts.

    ``not_judged`` says why its verdicts do not count (a configured workflow with no data
    in a partial run); such a workflow is neither ok-by-verdict nor a breach.
    """

    name: str
    figures: Aggregate
    verdicts: tuple[Verdict, ...]
    not_judged: str | None = None

    @property
    def ok(self) -> bool:
        return self.not_judged is not None or all(v.ok for v in self.verdicts)

    @property
    def no_data(self) -> bool:
        return self.figures.runs == 0

    def breaches(self) -> list[Verdict]:
        if self.not_judged is not None:
            return []
        return [v for v in self.verdicts if not v.ok]

    def to_dict(self) -> dict[str, Any]:
        f = self.figures
        judged = self.not_judged is None
        errors = [text for text, _ in f.errors.most_common()]
        return {
            "name": self.name,
            "runs": f.runs,
            "failures": f.failures,
            "rate": f.rate,
            "avg": round(f.avg, 3),
            "min": round(f.min_ms, 3),
            "med": round(f.percentile(50), 3),
            **{f"p{p}": round(f.percentile(p), 3) for p in SHOWN_PERCENTILES if p != 50},
            "max": round(f.max_ms, 3),
            "errors": errors,
            "error_counts": dict(f.errors.most_common()),
            "no_data": self.no_data,
            "not_judged": self.not_judged,
            # the thresholds stay listed when not judged, so a merge of every shard judges them
            "thresholds": [
                {
                    "threshold": v.threshold.expression,
                    "actual": v.actual,
                    "ok": v.ok if judged else None,
                }
                for v in self.verdicts
            ],
            "ok": self.ok,
            # the exact aggregate, so that slo.json files of CI shards merge exactly
            "aggregate": f.to_dict(),
        }


@final
@dataclass(frozen=True, kw_only=True)
class SloReport:
    """Every workflow that ran or was declared, sorted by name."""

    workflows: tuple[WorkflowResult, ...]

    @property
    def ok(self) -> bool:
        return all(w.ok for w in self.workflows)

    @property
    def verdicts(self) -> list[Verdict]:
        """The verdicts that count: those of every judged workflow."""
        return [v for w in self.workflows if w.not_judged is None for v in w.verdicts]

    def breaches(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "workflows": [w.to_dict() for w in self.workflows]}


def build_report(
    tally: Tally,
    *,
    defaults: tuple[Threshold, ...],
    configured: Mapping[str, tuple[Threshold, ...]] | None = None,
    partial: str | None = None,
) -> SloReport:
    """Judge ``tally``: each workflow by test > configured > default thresholds, per kind.

    Every workflow that ran, was declared by a test or is configured is judged; one
    that never ran breaches every threshold ("no data"). ``partial`` (why the run
    selected only part of its tests, None for a complete run) leaves a workflow that is
    only configured, and has no data, not judged: the tests that run it were not
    selected. A workflow with data, or declared by a test that ran, is judged as always.
    """
    configured = configured or {}
    names = sorted(set(tally.figures) | set(tally.declared) | set(configured))
    results = []
    for name in names:
        figures = tally.figures.get(name, Aggregate())
        rules = resolve([defaults, configured.get(name, ()), tally.declared.get(name, ())])
        unselected = figures.runs == 0 and name not in tally.declared
        results.append(
            WorkflowResult(
                name=name,
                figures=figures,
                verdicts=tuple(evaluate(name, figures, rules)),
                not_judged=partial if partial is not None and unselected else None,
            )
        )
    return SloReport(workflows=tuple(results))
