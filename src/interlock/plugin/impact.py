"""Business impact: workflows carry a weight (e.g. revenue at risk per hour), and the report
states the impact of each of their breaches.

Weights are configuration, in ``[tool.interlock.impact]`` beside the SLOs::

    [tool.interlock.impact]
    billing = "1200 USD/h"
    onboarding = "300 USD/h"

(checked when the configuration is read: a bad weight is one line, exit 2). The older
``interlock_impact`` ini option (``"billing = 1200 USD/h"`` lines) is still read; for a
workflow named in both, ``[tool.interlock.impact]`` wins. The lines go to ``impact.json``
(shown in the HTML report) and the terminal, with a note for a weight that names no
workflow of the run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from interlock.errors import ConfigError
from interlock.plugin.run import run_context
from interlock.report.impact import IMPACT_FILE, Weight, impact_lines, parse_weight, unmatched_lines
from interlock.slo.report import SloReport

__all__ = ["parse_weights"]

_LINE = re.compile(r"^\s*([\w.\-]+)\s*=(.*)$")


def parse_weights(lines: list[str]) -> dict[str, Weight]:
    """``["billing = 1200 USD/h"]`` -> {"billing": Weight(1200, "USD")}; ConfigError otherwise."""
    weights = {}
    for line in lines:
        match = _LINE.match(line)
        if not match:
            raise ConfigError(
                f"interlock_impact {line!r}: expected WORKFLOW = AMOUNT UNIT/h, "
                "e.g. billing = 1200 USD/h"
            )
        weights[match[1]] = parse_weight(f"interlock_impact {match[1]}", match[2])
    return weights


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "interlock_impact",
        "older form of [tool.interlock.impact]: 'WORKFLOW = AMOUNT UNIT/h' lines",
        type="linelist",
        default=[],
    )


_WEIGHTS = pytest.StashKey[dict[str, Weight]]()


def pytest_configure(config: pytest.Config) -> None:
    configured = run_context(config).config.impact
    try:
        weights = parse_weights(config.getini("interlock_impact"))
        for name, text in configured.items():
            weights[name] = parse_weight(f"[tool.interlock.impact] {name}", text)
    except ConfigError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None
    config.stash[_WEIGHTS] = weights


@pytest.hookimpl(trylast=True)  # after the SLO table, which it annotates
def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    weights = config.stash.get(_WEIGHTS, {})
    if not weights:
        return
    lines = impact_lines(report, weights)
    unmatched = unmatched_lines(report, weights)
    document = {
        "summary": f"{len(lines)} weighted workflows breached",
        "lines": lines + unmatched,
    }
    path = run_dir / IMPACT_FILE
    tmp = path.with_name(f".{IMPACT_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        for line in lines:
            terminal.write_line(f"impact: {line}", red=True)
        for line in unmatched:
            terminal.write_line(f"impact: {line}", yellow=True)
