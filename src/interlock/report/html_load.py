"""The HTML report's section for a load run's ``load.json``: its figures and its seconds."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from interlock.report.svg import line_chart

__all__ = ["load_section"]

_COLUMNS = ("count", "rate", "med", "p95", "p99", "max")


def _row(name: str, figures: dict[str, Any]) -> str:
    cells = [f"<td>{escape(name)}</td>"]
    for key in _COLUMNS:
        value = figures.get(key)
        if key == "rate" and isinstance(value, int | float):
            shown = f"{value * 100:.1f}%"
        elif isinstance(value, int | float):
            shown = f"{value:g}"
        else:
            shown = "-"
        cells.append(f'<td class="num">{shown}</td>')
    return f'<tr data-step="{escape(name)}">{"".join(cells)}</tr>'


def _one(path: Path, result: dict[str, Any]) -> str:
    verdict = "PASS" if result.get("ok") else "FAIL"
    iterations = result.get("iterations", {})
    head = "".join(
        f"<th>{h}</th>"
        for h in ("step", "count", "success", "p50 ms", "p95 ms", "p99 ms", "max ms")
    )
    rows = [_row("(workflow)", result.get("workflow", {}))]
    rows += [_row(name, figures) for name, figures in sorted(result.get("steps", {}).items())]
    series = [p for p in result.get("series", []) if isinstance(p, dict)]
    chart = ""
    if series:
        labels = [f"{p.get('t', i)}s" for i, p in enumerate(series)]
        chart = line_chart(
            f"{result.get('scenario', path.stem)}: workflow p95 per second",
            labels,
            {"p95": [p.get("p95_ms") for p in series]},
        )
    return (
        f'<article class="load" data-file="{escape(path.name)}">'
        f"<h3>{escape(str(result.get('scenario', path.stem)))} "
        f'<span class="{verdict}">{verdict}</span></h3>'
        f"<p>{escape(str(result.get('executor', '')))}, "
        f"{float(result.get('elapsed_s', 0)):.1f} s, "
        f"{iterations.get('started', 0)} iterations started, "
        f"{iterations.get('dropped', 0)} dropped</p>"
        f'<table class="load-steps"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<figure class="chart load-chart">{chart}</figure></article>'
    )


def load_section(run_dir: Path) -> str:
    """A section per ``load*.json`` in ``run_dir`` (none: the empty string)."""
    parts = []
    for path in sorted(run_dir.glob("load*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            parts.append(f"<p>{escape(path.name)}: unreadable</p>")
            continue
        if isinstance(result, dict):
            parts.append(_one(path, result))
    if not parts:
        return ""
    return f'<section id="load"><h2>Load results</h2>{"".join(parts)}</section>'
