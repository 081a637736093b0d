"""Business impact: what a workflow's breach puts at risk, from its weight per hour.

A weight is written ``"AMOUNT UNIT/h"`` (``"1200 USD/h"``; the unit may be left out:
``"3.5/h"``). A breached success rate puts the failing share of the weight at risk (a
workflow failing 20 % of its runs: 20 % of 1200 USD/h); a breached latency or count
objective puts the whole weight at risk while it lasts; a weighted workflow that never
ran leaves its whole weight unguarded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, final

from interlock.errors import ConfigError
from interlock.slo.report import SloReport, WorkflowResult
from interlock.suggest import nearest

__all__ = ["IMPACT_FILE", "Weight", "impact_lines", "parse_weight", "unmatched_lines"]

IMPACT_FILE: Final = "impact.json"
_WEIGHT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z$€£]*)\s*/\s*h\s*$")


@final
@dataclass(frozen=True)
class Weight:
    """What an hour of a workflow is worth: ``amount`` ``unit`` per hour."""

    amount: float
    unit: str


def parse_weight(where: str, text: object) -> Weight:
    """``"1200 USD/h"`` -> Weight(1200, "USD"); ConfigError (one line, naming ``where``)."""
    match = _WEIGHT.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"{where} must be a weight per hour, AMOUNT UNIT/h, got {text!r}",
            hint='e.g. "1200 USD/h"',
        )
    return Weight(float(match[1]), match[2])


def _impact(result: WorkflowResult, weight: Weight) -> str:
    unit = f" {weight.unit}" if weight.unit else ""
    kinds = {v.threshold.kind for v in result.breaches()}
    if result.no_data:
        return f"{result.name}: never ran: {weight.amount:g}{unit}/h is unguarded"
    if kinds == {"rate"}:
        failing = 1 - result.figures.rate
        return (
            f"{result.name}: {failing * 100:.1f}% of runs fail: about "
            f"{weight.amount * failing:,.2f}{unit}/h at risk (of {weight.amount:g}{unit}/h)"
        )
    broken = ", ".join(v.describe() for v in result.breaches())
    return f"{result.name}: {broken}: up to {weight.amount:,.2f}{unit}/h at risk while it lasts"


def impact_lines(report: SloReport, weights: dict[str, Weight]) -> list[str]:
    """One line per breached workflow that carries a weight."""
    return [_impact(w, weights[w.name]) for w in report.workflows if not w.ok and w.name in weights]


def unmatched_lines(report: SloReport, weighted: Iterable[str]) -> list[str]:
    """One line per weight that names no workflow of the run (a typo weighs nothing)."""
    names = [w.name for w in report.workflows]
    lines = []
    for name in sorted(set(weighted) - set(names)):
        close = nearest(name, names)
        hint = f" (did you mean {close!r}?)" if close else ""
        lines.append(f"the weight of {name!r} names no workflow of this run{hint}")
    return lines
