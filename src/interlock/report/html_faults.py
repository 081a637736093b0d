"""The HTML report's fault timeline: every fault that was active, one row per thing it hit.

A row is a proxy, a process or a simulator (``proxy postgres``, ``process redis``,
``simulator stripe``); a bar runs from when its fault began to when it ended, or to the
end of the run ("until the end"). Below it, the same faults as a table (start and end in
seconds from when the stack was up, the test that set it), then the simulator calls a
fault hit.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Final

from interlock.report.faultlog import FaultLogData, Interval, read_fault_log

__all__ = ["faults_section"]

_W: Final = 720
_ROW: Final = 22
_LEFT: Final = 170
_SOURCES: Final = ("proxy", "process", "simulator")


def _order(interval: Interval) -> tuple[str, int, str]:
    source = interval.source
    rank = _SOURCES.index(source) if source in _SOURCES else len(_SOURCES)
    return (interval.process, rank, interval.target)


def _span(log: FaultLogData) -> tuple[float, float]:
    """(when the stack was up, or the first fault; the end of the run) in epoch s."""
    times = [i.start for i in log.intervals] + [i.end for i in log.intervals if i.end is not None]
    times += [float(h["first"]) for h in log.hits] + [float(h["last"]) for h in log.hits]
    times += [t for t in (log.run_start, log.run_end) if t is not None]
    return min(times), max(times)


def _until(interval: Interval, start: float) -> str:
    return "until the end" if interval.end is None else f"{interval.end - start:.2f} s"


def _timeline(log: FaultLogData, start: float, end: float) -> str:
    rows = list(dict.fromkeys(i.row for i in sorted(log.intervals, key=_order)))
    span = max(end - start, 1e-3)
    width = _W - _LEFT - 10
    height = _ROW * len(rows) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" role="img" aria-label="faults active over the run">'
    ]
    for index, row in enumerate(rows):
        parts.append(
            f'<text x="{_LEFT - 6}" y="{index * _ROW + 18}" text-anchor="end" font-size="11">'
            f"{escape(row)}</text>"
        )
    for i in log.intervals:
        finish = end if i.end is None else i.end
        x = _LEFT + width * (i.start - start) / span
        w = max(width * (finish - i.start) / span, 3.0)
        setter = i.test or "the whole run"
        parts.append(
            f'<rect class="fault" data-source="{escape(i.source)}" '
            f'data-target="{escape(i.target)}" data-fault="{escape(i.fault)}" '
            f'data-until-end="{"true" if i.end is None else "false"}" x="{x:.1f}" '
            f'y="{rows.index(i.row) * _ROW + 4}" width="{w:.1f}" height="{_ROW - 6}" '
            f'fill="{"#dd6b20" if i.end is None else "#c53030"}">'
            f"<title>{escape(i.row)}: {escape(i.fault)} from {i.start - start:.2f} s "
            f"{escape(_until(i, start))}, set by {escape(setter)}</title></rect>"
        )
    parts.append(
        f'<text x="{_LEFT}" y="{height - 4}" font-size="10">0 s: stack up</text>'
        f'<text x="{_W - 10}" y="{height - 4}" font-size="10" text-anchor="end">'
        f"{span:.1f} s</text></svg>"
    )
    return "".join(parts)


def _active_table(log: FaultLogData, start: float) -> str:
    rows = "".join(
        f'<tr data-target="{escape(i.row)}"><td>{escape(i.row)}</td><td>{escape(i.fault)}</td>'
        f'<td class="num">{i.start - start:.2f} s</td><td class="num">{_until(i, start)}</td>'
        f"<td>{escape(i.test or 'the whole run')}</td></tr>"
        for i in log.intervals
    )
    return (
        '<table class="active"><thead><tr><th>on</th><th>fault</th><th>from</th><th>to</th>'
        f"<th>set by</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _hits_table(log: FaultLogData) -> str:
    if not log.hits:
        return ""
    rows = "".join(
        f"<tr><td>{escape(str(e['service']))}</td><td>{escape(str(e['fault']))}</td>"
        f'<td class="num">{e.get("calls", 1)}</td><td>{escape(str(e.get("test", "")))}</td></tr>'
        for e in log.hits
    )
    return (
        "<h3>Simulator calls a fault hit</h3>"
        '<table class="hits"><thead><tr><th>simulator</th><th>fault</th><th>calls</th>'
        f"<th>test</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def faults_section(run_dir: Path) -> str:
    """The timeline and tables of the run's faults (none recorded: the empty string)."""
    log = read_fault_log(run_dir)
    if not log.intervals and not log.hits:
        return ""
    start, end = _span(log)
    timeline = (
        f'<figure class="timeline">{_timeline(log, start, end)}</figure>'
        + _active_table(log, start)
        if log.intervals
        else "<p>No fault was set; simulator faults hit these calls:</p>"
    )
    return (
        '<section id="faults"><h2>Faults that were active</h2>'
        f"{timeline}{_hits_table(log)}</section>"
    )
