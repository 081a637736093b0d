"""The HTML report's continuity matrix: what each workflow does while a dependency is away.

Any suite may leave ``continuity.json`` in the run folder: a JSON list of cells, each

    {"dependency": "redis", "workflow": "announce_invoice",
     "declared": "degrades", "measured": "works", "detail": "created, event published"}

``declared`` is what the system promises while ``dependency`` is unavailable,
``measured`` what a run saw; both are free words (e.g. works, degrades, fails), and
``detail`` is optional. The matrix has a row per dependency and a column per workflow,
each in the order first met; a cell whose measured outcome differs from the declared one
is a mismatch, marked and counted (the report works it out: a ``matches`` field in the
file is not trusted). A file that is not such a list is named as unreadable, never
skipped in silence.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any, Final

__all__ = ["CONTINUITY_FILE", "continuity_section", "merge_continuity", "write_continuity"]

CONTINUITY_FILE: Final = "continuity.json"
_FIELDS: Final = ("dependency", "workflow", "declared", "measured")


def _cells(document: Any) -> list[dict[str, str]] | None:
    if not isinstance(document, list):
        return None
    cells = []
    for cell in document:
        if not isinstance(cell, dict) or not all(isinstance(cell.get(k), str) for k in _FIELDS):
            return None
        cells.append({k: str(cell.get(k, "")) for k in (*_FIELDS, "detail")})
    return cells


def _cell(cell: dict[str, str]) -> str:
    ok = cell["measured"] == cell["declared"]
    state = "match" if ok else "mismatch"
    detail = f'<div class="detail">{escape(cell["detail"])}</div>' if cell["detail"] else ""
    declared = "" if ok else f' <span class="declared">(declared {escape(cell["declared"])})</span>'
    return (
        f'<td class="{state}" data-dependency="{escape(cell["dependency"])}" '
        f'data-workflow="{escape(cell["workflow"])}" data-measured="{escape(cell["measured"])}" '
        f'data-declared="{escape(cell["declared"])}">{escape(cell["measured"])}{declared}'
        f"{detail}</td>"
    )


def continuity_section(run_dir: Path) -> str:
    """The matrix of ``run_dir/continuity.json``; the empty string when there is none."""
    path = run_dir / CONTINUITY_FILE
    if not path.is_file():
        return ""
    try:
        cells = _cells(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        cells = None
    if cells is None:
        return (
            '<section id="continuity"><h2>Continuity matrix</h2><p class="FAIL">'
            f"{CONTINUITY_FILE} is not a list of cells with dependency, workflow, declared "
            "and measured: not shown</p></section>"
        )
    workflows = list(dict.fromkeys(c["workflow"] for c in cells))
    dependencies = list(dict.fromkeys(c["dependency"] for c in cells))
    by = {(c["dependency"], c["workflow"]): c for c in cells}
    mismatches = sum(1 for c in by.values() if c["measured"] != c["declared"])
    head = "".join(f"<th>{escape(w)}</th>" for w in workflows)
    rows = []
    for dependency in dependencies:
        found = [by.get((dependency, w)) for w in workflows]
        tds = "".join(
            '<td class="unmeasured">not measured</td>' if c is None else _cell(c) for c in found
        )
        name = escape(dependency)
        rows.append(f'<tr data-dependency="{name}"><th>{name}</th>{tds}</tr>')
    verdict = (
        f'<p class="{"FAIL" if mismatches else "PASS"}" id="continuity-summary">'
        f"{mismatches} of {len(by)} cells differ from what was declared</p>"
    )
    return (
        '<section id="continuity"><h2>Continuity matrix</h2>'
        "<p>Each dependency made unavailable in turn (rows); what each workflow (columns) "
        f"did, against what was declared.</p>{verdict}"
        f'<table class="continuity"><thead><tr><th>unavailable</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def merge_continuity(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """The cells of every run's ``continuity.json``, a cell measured by a later run
    replacing the same cell of an earlier one (none: an empty list). Raises ValueError
    naming a file that is not a list of cells."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        path = run / CONTINUITY_FILE
        if not path.is_file():
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
        if _cells(document) is None:
            raise ValueError(f"{path}: not a list of continuity cells")
        for cell in document:
            merged[(cell["dependency"], cell["workflow"])] = cell
    return list(merged.values())


def write_continuity(cells: list[dict[str, Any]], out: Path) -> None:
    """``cells`` as ``out/continuity.json`` (whole or not at all); nothing when empty."""
    if not cells:
        return
    target = out / CONTINUITY_FILE
    tmp = target.with_name(f".{CONTINUITY_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(cells, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
