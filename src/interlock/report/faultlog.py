"""The run's fault log, read back: when each fault was active, and the calls faults hit.

``<run>/faults/<process>.jsonl`` (one file per pytest process: ``main`` or the xdist
worker's id) holds one JSON object per line, of three types:

- ``{"type": "event", "phase": "start"|"end", "source": "proxy"|"process"|"simulator",
  "target": str, "fault": str, "key": str, "time": epoch s, "test": nodeid or ""}``:
  a fault began or ended (see :mod:`interlock.faults.events`); ``test`` is empty for
  what no test set (a run-wide ``--sim-fault``).
- ``{"type": "hits", "test", "service", "fault", "calls", "first", "last"}``: calls a
  simulator answered with a fault during a test, from its journal.
- ``{"type": "begin", "time"}``: the process's stack was up (the timeline's origin).
- ``{"type": "end", "time"}``: the process's run ended; a fault still open then was
  active "until the end".

Lines that do not parse (a process killed mid-write) are skipped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, final

__all__ = ["FAULTS_DIR", "FaultLogData", "Interval", "copy_fault_logs", "read_fault_log"]

FAULTS_DIR: Final = "faults"


@final
@dataclass(frozen=True, kw_only=True)
class Interval:
    """A fault that was active from ``start`` to ``end`` (epoch s; None: until the end)."""

    source: str
    target: str
    fault: str
    #: the test that set it ("" when no test did: a run-wide fault)
    test: str
    start: float
    end: float | None
    #: the pytest process ("main" or an xdist worker id) whose stack it acted on
    process: str

    @property
    def row(self) -> str:
        """The timeline row: what it acted on, e.g. ``proxy postgres``, ``process redis``;
        ``gw1: proxy redis`` for another process's stack (an xdist worker, a shard)."""
        where = "" if self.process == "main" else f"{self.process}: "
        return f"{where}{self.source} {self.target}"


@final
@dataclass(frozen=True, kw_only=True)
class FaultLogData:
    intervals: list[Interval]
    #: simulator calls a fault hit, one dict per (test, simulator, fault kind)
    hits: list[dict[str, Any]]
    #: when the first process's stack was up (epoch s); None when none recorded it
    run_start: float | None
    #: when the last process's run ended (epoch s); None when none recorded its end
    run_end: float | None


def _lines(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def read_fault_log(run_dir: Path) -> FaultLogData:
    """Every fault of ``run_dir`` (each worker's file), intervals by start time."""
    intervals: list[Interval] = []
    hits: list[dict[str, Any]] = []
    ends: list[float] = []
    begins: list[float] = []
    for path in sorted((run_dir / FAULTS_DIR).glob("*.jsonl")):
        process = path.stem
        open_: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for entry in _lines(path):
            kind = entry.get("type", "hits")
            if kind in ("begin", "end") and isinstance(entry.get("time"), int | float):
                (begins if kind == "begin" else ends).append(float(entry["time"]))
            elif kind == "hits" and {"service", "fault", "first", "last"} <= set(entry):
                hits.append(entry)
            elif kind == "event":
                ident = (str(entry["source"]), str(entry["target"]), str(entry["key"]))
                if entry["phase"] == "start":
                    open_.setdefault(ident, []).append(entry)
                elif open_.get(ident):
                    start = open_[ident].pop()
                    intervals.append(_interval(start, float(entry["time"]), process))
        for starts in open_.values():
            intervals.extend(_interval(start, None, process) for start in starts)
    intervals.sort(key=lambda i: (i.start, i.row))
    hits.sort(key=lambda e: (e["first"], e["service"]))
    return FaultLogData(
        intervals=intervals,
        hits=hits,
        run_start=min(begins) if begins else None,
        run_end=max(ends) if ends else None,
    )


def _interval(start: dict[str, Any], end: float | None, process: str) -> Interval:
    return Interval(
        source=str(start["source"]),
        target=str(start["target"]),
        fault=str(start["fault"]),
        test=str(start.get("test", "")),
        start=float(start["time"]),
        end=end,
        process=process,
    )


def copy_fault_logs(runs: Sequence[Path], out: Path) -> None:
    """Each run's fault logs into ``out/faults``, as ``shard<N>-<process>.jsonl``: a
    merged report draws every shard's faults (each file is still paired on its own)."""
    for index, run in enumerate(runs, 1):
        for path in sorted((run / FAULTS_DIR).glob("*.jsonl")):
            folder = out / FAULTS_DIR
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / f"shard{index}-{path.name}")
