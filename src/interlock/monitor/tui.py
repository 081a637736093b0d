"""``interlock monitor --tui``: the dashboard's grid and alerts, redrawn in the terminal."""

from __future__ import annotations

import time
from typing import Any, TextIO, final

from interlock.monitor.runner import Monitor
from interlock.monitor.snapshot import snapshot

__all__ = ["Terminal", "render_screen"]

_COLOURS = {"up": "\x1b[32m", "down": "\x1b[31m", "unknown": "\x1b[33m"}
_RESET = "\x1b[0m"
#: at most this many redraws a second: a burst of samples is drawn once
_MIN_GAP = 0.25


def render_screen(state: dict[str, Any], *, colour: bool = True, url: str = "") -> str:
    """The screen for a snapshot: one line per probe, then the open and recent alerts."""
    head = f"interlock monitor   {len(state['probes'])} probes   {state['taken']} checks"
    lines = [f"{head}   {url}".rstrip(), ""]
    lines.append(f"  {'probe':<14} {'status':<8} {'last ms':>8} {'p95 ms':>8} {'ok %':>6}  error")
    for probe in state["probes"]:
        status = probe["status"]
        shown = f"{status:<8}"
        if colour:
            shown = f"{_COLOURS[status]}{shown}{_RESET}"
        rate = probe["success_rate"]
        p95 = probe["p95_ms"]
        lines.append(
            f"  {probe['name']:<14} {shown} {_num(probe['latency_ms']):>8} {_num(p95):>8} "
            f"{_num(rate):>6}  {(probe['error'] or '')[:60]}"
        )
    for usage in state["system"]:
        lines.append(
            f"  {usage['source']:<14} cpu {usage['cpu']:5.1f}%  mem {usage['memory']:5.1f}%"
        )
    lines += ["", "alerts"]
    open_alerts = state["alerts"]["open"]
    for alert in open_alerts:
        note = f" ({alert['reason']})" if alert["reason"] else ""
        lines.append(f"  {alert['state']:<10} {alert['key']:<26} {alert['message']}{note}")
    if not open_alerts:
        lines.append("  none open")
    for alert in state["alerts"]["ended"][:5]:
        lines.append(f"  {alert['state']:<10} {alert['key']:<26} {alert['reason']}")
    for fault in state["faults"]:
        lines.append(f"  fault      {fault['proxy']}: {fault['fault']}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


@final
class Terminal:
    """Redraws the screen on the monitor's changes, at most every ``_MIN_GAP`` s."""

    def __init__(self, monitor: Monitor, stream: TextIO, url: str = "") -> None:
        self.monitor = monitor
        self.stream = stream
        self.url = url
        self._drawn = 0.0

    def attach(self) -> None:
        self.monitor.listeners.append(self._changed)

    def _changed(self, kind: str, payload: Any) -> None:
        now = time.monotonic()
        if kind != "alerts" and kind != "stopped" and now - self._drawn < _MIN_GAP:
            return
        self._drawn = now
        screen = render_screen(snapshot(self.monitor), colour=self.stream.isatty(), url=self.url)
        # home and clear, then the screen: no flicker of a scrolled terminal
        self.stream.write("\x1b[H\x1b[2J" + screen + "\n")
        self.stream.flush()
