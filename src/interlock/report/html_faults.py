"""The HTML report's timeline of the simulator faults that fired, one row per simulator."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Final

from interlock.plugin.faultlog import read_fault_log

__all__ = ["faults_section"]

_W: Final = 640
_ROW: Final = 22
_LEFT: Final = 110


def _timeline(entries: list[dict[str, Any]]) -> str:
    services = sorted({str(e["service"]) for e in entries})
    start = min(float(e["first"]) for e in entries)
    span = max(max(float(e["last"]) for e in entries) - start, 1e-3)
    width = _W - _LEFT - 10
    height = _ROW * len(services) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" role="img" aria-label="faults over the run">'
    ]
    for row, service in enumerate(services):
        y = row * _ROW + 4
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 14}" text-anchor="end" font-size="11">'
            f"{escape(service)}</text>"
        )
    for e in entries:
        row = services.index(str(e["service"]))
        x = _LEFT + width * (float(e["first"]) - start) / span
        w = max(width * (float(e["last"]) - float(e["first"])) / span, 3.0)
        parts.append(
            f'<rect class="fault" data-service="{escape(str(e["service"]))}" x="{x:.1f}" '
            f'y="{row * _ROW + 4}" width="{w:.1f}" height="{_ROW - 6}" fill="#c53030">'
            f"<title>{escape(str(e['fault']))} x{e.get('calls', 1)} during "
            f"{escape(str(e.get('test', '')))}</title></rect>"
        )
    parts.append(
        f'<text x="{_LEFT}" y="{height - 4}" font-size="10">0 s</text>'
        f'<text x="{_W - 10}" y="{height - 4}" font-size="10" text-anchor="end">'
        f"{span:.1f} s</text></svg>"
    )
    return "".join(parts)


def faults_section(run_dir: Path) -> str:
    """The timeline and a list of the faults that fired (none: the empty string)."""
    entries = read_fault_log(run_dir)
    if not entries:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(e['service']))}</td><td>{escape(str(e['fault']))}</td>"
        f'<td class="num">{e.get("calls", 1)}</td><td>{escape(str(e.get("test", "")))}</td></tr>'
        for e in entries
    )
    return (
        '<section id="faults"><h2>Simulator faults that fired</h2>'
        f'<figure class="timeline">{_timeline(entries)}</figure>'
        "<table><thead><tr><th>simulator</th><th>fault</th><th>calls</th><th>test</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></section>"
    )
