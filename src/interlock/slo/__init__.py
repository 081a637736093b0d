"""Service-level objectives: record workflow runs, compute their figures, judge thresholds."""

from __future__ import annotations

from interlock.slo.record import Recorder, Sample
from interlock.slo.stats import WorkflowStats, summarize
from interlock.slo.thresholds import Threshold, Verdict, evaluate, parse_threshold

__all__ = [
    "Recorder",
    "Sample",
    "Threshold",
    "Verdict",
    "WorkflowStats",
    "evaluate",
    "parse_threshold",
    "summarize",
]
