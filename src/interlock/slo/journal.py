"""What a process records, streamed to the run folder as it goes, and gathered at the end.

Each process (the pytest controller, each xdist worker) appends one JSON line per run,
per merged aggregate and per declaration to ``<folder>/<who>.jsonl``, flushed at once:
a process killed mid-run loses nothing it had recorded. When it ends cleanly it writes
its tally to ``<who>.json`` and removes the lines. ``collect`` merges what it finds: a
tally where there is one, else the replayed lines (a torn last line, cut by the kill,
is skipped).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, final

from interlock.errors import ConfigError
from interlock.slo.aggregate import Aggregate
from interlock.slo.tally import Tally
from interlock.slo.thresholds import Threshold, parse_threshold

__all__ = ["Journal", "collect"]


@final
class Journal:
    """Append-only record of one process's runs under ``folder``; created on first write."""

    def __init__(self, folder: Path, who: str) -> None:
        self.folder = folder
        self.lines_path = folder / f"{who}.jsonl"
        self.tally_path = folder / f"{who}.json"
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def run(self, name: str, duration_ms: float, *, ok: bool, error: str | None) -> None:
        self._append({"run": name, "ms": duration_ms, "ok": ok, "error": error})

    def merge(self, name: str, figures: Aggregate) -> None:
        self._append({"merge": name, "aggregate": figures.to_dict()})

    def declare(self, name: str, rules: tuple[Threshold, ...]) -> None:
        self._append({"declare": name, "rules": [r.expression for r in rules]})

    def _append(self, entry: dict[str, object]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._file = self.lines_path.open("a", encoding="utf-8")
            # one write and a flush per entry: once in the kernel, a SIGKILL cannot lose it
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Close the file, leaving the lines (what a process that dies leaves behind)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def compact(self, tally: Tally) -> None:
        """Replace the lines with the process's tally (written whole, then the lines go)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            if not self.lines_path.exists() and not tally.figures and not tally.declared:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.tally_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(tally.to_dict()), encoding="utf-8")
            os.replace(tmp, self.tally_path)
            self.lines_path.unlink(missing_ok=True)


def replay(path: Path) -> Tally:
    """The tally of a journal's lines; raises ValueError on a malformed line but the last."""
    tally = Tally()
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            if "run" in entry:
                tally.record(
                    str(entry["run"]),
                    float(entry["ms"]),
                    ok=bool(entry["ok"]),
                    error=entry["error"],
                )
            elif "merge" in entry:
                tally.merge(str(entry["merge"]), Aggregate.from_dict(entry["aggregate"]))
            else:
                rules = tuple(parse_threshold(r) for r in entry["rules"])
                tally.declare(str(entry["declare"]), rules)
        except (ValueError, KeyError, TypeError, ConfigError) as exc:
            if number == len(lines):
                break  # the write the process died in
            raise ValueError(f"{path}:{number}: malformed SLO journal line: {exc}") from None
    return tally


def collect(folder: Path) -> Tally:
    """Everything recorded under ``folder``, merged; raises ValueError on a corrupt file."""
    total = Tally()
    if not folder.is_dir():
        return total
    tallies = {p.stem: p for p in folder.glob("*.json")}
    for path in sorted(tallies.values()):
        try:
            total += Tally.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON: {exc}") from None
    for path in sorted(folder.glob("*.jsonl")):
        if path.stem not in tallies:  # crashed before it could write its tally
            total += replay(path)
    return total
