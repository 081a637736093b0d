"""The outcome of a load run: figures, verdicts, time series; JSON and an exact merge of shards."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.slo.aggregate import Aggregate

__all__ = ["LoadResult"]


@dataclass(kw_only=True)
class LoadResult:
    """Figures of one run (or of its shards merged); durations in ms, times in seconds.

    ``workflow`` times whole iterations (open model: from their intended start); ``steps``
    times each named request or step; ``thresholds`` are verdict dicts (target, threshold,
    ok, actual, failed_at_s, origin); ``series`` has one point a second; ``error_messages``
    holds the first message seen of each error kind (kind -> ``"Type: message"``).
    """

    scenario: str
    executor: str
    plan: str
    target: str
    started_at: float
    elapsed: float
    workflow: Aggregate
    steps: dict[str, Aggregate]
    checks: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (passes, fails)
    started: int = 0
    dropped: int = 0
    interrupted: int = 0
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    aborted: str | None = None
    series: list[dict[str, Any]] = field(default_factory=list)
    shards: int = 1
    samples: list[tuple[float, str | None]] | None = None
    error_messages: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every threshold held and nothing aborted the run."""
        return self.aborted is None and all(t["ok"] for t in self.thresholds)

    @property
    def iteration_rate(self) -> float:
        """Iterations started per second of the run."""
        return self.started / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self, *, encoded: bool = False) -> dict[str, Any]:
        """A JSON-able dict; ``encoded`` adds the histograms (to merge or re-judge later)."""
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "executor": self.executor,
            "plan": self.plan,
            "target": self.target,
            "started_at": self.started_at,
            "elapsed_s": self.elapsed,
            "ok": self.ok,
            "aborted": self.aborted,
            "iterations": {
                "started": self.started,
                "dropped": self.dropped,
                "interrupted": self.interrupted,
                "rate_per_s": self.iteration_rate,
            },
            "workflow": self.workflow.summary(),
            "steps": {name: agg.summary() for name, agg in sorted(self.steps.items())},
            "checks": {k: {"passes": p, "fails": f} for k, (p, f) in sorted(self.checks.items())},
            "error_messages": dict(sorted(self.error_messages.items())),
            "thresholds": self.thresholds,
            "series": self.series,
            "shards": self.shards,
        }
        if encoded:
            data["encoded"] = {
                "workflow": self.workflow.encode(),
                "steps": {name: agg.encode() for name, agg in self.steps.items()},
            }
            data["samples"] = self.samples
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadResult:
        """The inverse of ``to_dict(encoded=True)``; raises KeyError/ValueError otherwise."""
        return cls(
            scenario=data["scenario"],
            executor=data["executor"],
            plan=data["plan"],
            target=data["target"],
            started_at=data["started_at"],
            elapsed=data["elapsed_s"],
            workflow=Aggregate.decode(data["encoded"]["workflow"]),
            steps={k: Aggregate.decode(v) for k, v in data["encoded"]["steps"].items()},
            checks={k: (v["passes"], v["fails"]) for k, v in data["checks"].items()},
            started=data["iterations"]["started"],
            dropped=data["iterations"]["dropped"],
            interrupted=data["iterations"]["interrupted"],
            thresholds=data["thresholds"],
            aborted=data["aborted"],
            series=data["series"],
            shards=data["shards"],
            samples=None
            if data.get("samples") is None
            else [(float(d), e) for d, e in data["samples"]],
            error_messages=dict(data.get("error_messages", {})),
        )

    def write_json(self, path: Path) -> None:
        """Write ``to_dict`` to ``path`` atomically (never a half-written file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def merge_shards(parts: list[LoadResult], *, plan: str) -> LoadResult:
    """One result from shards' results: histograms and counts add exactly; the series adds
    counts per second (its per-second p95 is the shards' worst, an upper bound). Thresholds
    are not merged: the caller judges the merged figures."""
    workflow = Aggregate()
    steps: dict[str, Aggregate] = {}
    checks: Counter[str] = Counter()
    fails: Counter[str] = Counter()
    series: dict[int, dict[str, Any]] = {}
    samples: list[tuple[float, str | None]] | None = (
        [] if all(p.samples is not None for p in parts) else None
    )
    messages: dict[str, str] = {}
    for part in parts:
        for kind, message in part.error_messages.items():
            messages.setdefault(kind, message)
        workflow += part.workflow
        for name, agg in part.steps.items():
            steps.setdefault(name, Aggregate()).__iadd__(agg)
        for name, (passes, failures) in part.checks.items():
            checks[name] += passes
            fails[name] += failures
        for point in part.series:
            into = series.setdefault(point["t"], {"t": point["t"]})
            for key, value in point.items():
                if key == "p95_ms":
                    into[key] = max(into.get(key, 0.0), value)
                elif key != "t":
                    into[key] = into.get(key, 0) + value
        if samples is not None and part.samples is not None:
            samples.extend(part.samples)
    first = parts[0]
    return LoadResult(
        scenario=first.scenario,
        executor=first.executor,
        plan=plan,
        target=first.target,
        started_at=min(p.started_at for p in parts),
        elapsed=max(p.elapsed for p in parts),
        workflow=workflow,
        steps=steps,
        checks={k: (checks[k], fails[k]) for k in checks.keys() | fails.keys()},
        started=sum(p.started for p in parts),
        dropped=sum(p.dropped for p in parts),
        interrupted=sum(p.interrupted for p in parts),
        aborted=next((p.aborted for p in parts if p.aborted), None),
        series=[series[t] for t in sorted(series)],
        shards=len(parts),
        samples=samples,
        error_messages=messages,
    )
