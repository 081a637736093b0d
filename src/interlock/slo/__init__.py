"""Service-level objectives: mergeable aggregates of workflow runs, thresholds, verdicts.

Aggregate   one workflow's runs: HDR histogram, counts, errors by kind; a + b merges
Tally       a process's aggregates and test-declared thresholds
Recorder    records runs into a Tally, streaming each to a Journal in the run folder
collect     merges every journal and tally found in a folder
build_report  judges a Tally against test > configuration > default thresholds
"""

from __future__ import annotations

from interlock.slo.aggregate import Aggregate
from interlock.slo.journal import Journal, collect
from interlock.slo.record import Recorder
from interlock.slo.report import SloReport, WorkflowResult, build_report
from interlock.slo.tally import Tally
from interlock.slo.thresholds import (
    Threshold,
    Verdict,
    default_thresholds,
    evaluate,
    parse_threshold,
    parse_thresholds,
    resolve,
)

__all__ = [
    "Aggregate",
    "Journal",
    "Recorder",
    "SloReport",
    "Tally",
    "Threshold",
    "Verdict",
    "WorkflowResult",
    "build_report",
    "collect",
    "default_thresholds",
    "evaluate",
    "parse_threshold",
    "parse_thresholds",
    "resolve",
]
