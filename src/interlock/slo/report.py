"""The SLO outcome of a session: figures and verdicts per workflow, as a table and as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interlock.slo.record import Recorder
from interlock.slo.stats import WorkflowStats, summarize
from interlock.slo.thresholds import Verdict, default_thresholds, evaluate, thresholds_for

__all__ = ["SloReport", "build_report"]


@dataclass(frozen=True, kw_only=True)
class SloReport:
    workflows: list[WorkflowStats]
    verdicts: list[Verdict]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    def breaches(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "workflows": [
                {
                    **w.to_dict(),
                    "thresholds": [
                        {"threshold": v.threshold, "actual": v.actual, "ok": v.ok}
                        for v in self.verdicts
                        if v.workflow == w.name
                    ],
                    "ok": all(v.ok for v in self.verdicts if v.workflow == w.name),
                }
                for w in self.workflows
            ],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)  # never a half-written report

    def table(self) -> str:
        header = ("workflow", "runs", "success", "p50 ms", "p95 ms", "p99 ms", "max ms", "verdict")
        rows = [header]
        for w in self.workflows:
            failed = [v for v in self.verdicts if v.workflow == w.name and not v.ok]
            verdict = (
                "PASS"
                if not failed
                else "FAIL " + ", ".join(f"{v.threshold} (was {_fmt(v)})" for v in failed)
            )
            rows.append(
                (
                    w.name,
                    str(w.runs),
                    f"{w.rate * 100:.1f}%",
                    f"{w.med:.0f}",
                    f"{w.p95:.0f}",
                    f"{w.p99:.0f}",
                    f"{w.max:.0f}",
                    verdict,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        lines = []
        for row in rows:
            cells = [row[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(row[1:-1], widths[1:], strict=True)
            ]
            lines.append("  ".join([*cells, row[-1]]))
        return "\n".join(lines)


def _fmt(verdict: Verdict) -> str:
    if verdict.threshold.startswith("rate"):
        return f"{verdict.actual:.3f}"
    if verdict.threshold.startswith("count"):
        return f"{verdict.actual:.0f}"
    return f"{verdict.actual:.0f} ms"


def build_report(recorder: Recorder, *, success_rate_pct: float, latency_ms: float) -> SloReport:
    names = sorted({s.name for s in recorder.samples})
    defaults = default_thresholds(success_rate_pct, latency_ms)
    verdicts: list[Verdict] = []
    for name in names:
        rules = thresholds_for(recorder.thresholds.get(name, ()), defaults)
        verdicts.extend(evaluate(name, recorder.samples, rules))
    return SloReport(workflows=[summarize(n, recorder.samples) for n in names], verdicts=verdicts)
