"""Business impact: a workflow may carry a weight (e.g. revenue at risk per hour), and the
report states the impact of each of its breaches.

Weights are configuration, one line each in the ``interlock_impact`` ini option
(``[tool.pytest.ini_options]``)::

    interlock_impact = [
        "billing = 1200 USD/h",
        "onboarding = 300 USD/h",
    ]

A breached success rate puts the failing share of the weight at risk (a workflow that
fails 20 % of its runs: 20 % of 1200 USD/h); a breached latency or count objective puts
the whole weight at risk while it lasts. Written to ``impact.json`` (shown in the HTML
report) and the terminal.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, final

import pytest

from interlock.slo.report import SloReport, WorkflowResult

__all__ = ["IMPACT_FILE", "Weight", "impact_lines", "parse_weights"]

IMPACT_FILE: Final = "impact.json"
_LINE = re.compile(r"^\s*([\w.\-]+)\s*=\s*(\d+(?:\.\d+)?)\s*([A-Za-z$€£]*)\s*/\s*h\s*$")


@final
@dataclass(frozen=True)
class Weight:
    """What an hour of a workflow is worth: ``amount`` ``unit`` per hour."""

    amount: float
    unit: str


def parse_weights(lines: list[str]) -> dict[str, Weight]:
    """``["billing = 1200 USD/h"]`` -> {"billing": Weight(1200, "USD")}; ValueError otherwise."""
    weights = {}
    for line in lines:
        match = _LINE.match(line)
        if not match:
            raise ValueError(
                f"interlock_impact {line!r}: expected WORKFLOW = AMOUNT UNIT/h, "
                "e.g. billing = 1200 USD/h"
            )
        weights[match[1]] = Weight(float(match[2]), match[3])
    return weights


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


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "interlock_impact",
        "workflow weights, 'WORKFLOW = AMOUNT UNIT/h' each: what a breach puts at risk",
        type="linelist",
        default=[],
    )


_WEIGHTS = pytest.StashKey[dict[str, Weight]]()


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[_WEIGHTS] = parse_weights(config.getini("interlock_impact"))
    except ValueError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None


@pytest.hookimpl(trylast=True)  # after the SLO table, which it annotates
def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    weights = config.stash.get(_WEIGHTS, {})
    if not weights:
        return
    lines = impact_lines(report, weights)
    document = {"summary": f"{len(lines)} weighted workflows breached", "lines": lines}
    path = run_dir / IMPACT_FILE
    tmp = path.with_name(f".{IMPACT_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        for line in lines:
            terminal.write_line(f"impact: {line}", red=True)
