"""``interlock runs list | show RUN | clean [--keep N] [--older-than AGE]``: the run folders.

Only folders Interlock marked as run folders (``interlock.runs.MARKER``) are listed or
removed; anything else in the artifacts folder, and symbolic links, are never touched.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from interlock.cli._common import ENV_UP_FILE, require_project, resolve_run, short
from interlock.config import Config
from interlock.errors import UsageError
from interlock.runs import KEEP_RUNS, MARKER, is_run_dir, remove_run_dir

__all__ = ["add_runs_parser", "marked_runs", "parse_age", "select_for_removal"]

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``"90m"``, ``"2h"``, ``"7d"``, ``"1w"`` -> seconds; raises ValueError otherwise."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(f"{text!r}: expected a number and a unit (s, m, h, d, w), e.g. 7d")
    return float(match[1]) * _UNIT_S[match[2]]


def marked_runs(artifacts: Path) -> list[tuple[Path, float]]:
    """(folder, when it was made: epoch s) of each marked run folder, oldest first."""
    if not artifacts.is_dir():
        return []
    runs = [(p, (p / MARKER).stat().st_mtime) for p in artifacts.iterdir() if is_run_dir(p)]
    return sorted(runs, key=lambda r: (r[1], r[0].name))


def select_for_removal(
    runs: list[tuple[Path, float]], *, keep: int | None, older_than_s: float | None, now: float
) -> list[Path]:
    """Runs beyond the newest ``keep`` and/or made more than ``older_than_s`` ago (both: either)."""
    chosen: set[Path] = set()
    if keep is not None:
        chosen |= {path for path, _ in (runs[:-keep] if keep > 0 else runs)}
    if older_than_s is not None:
        chosen |= {path for path, made in runs if now - made > older_than_s}
    return [path for path, _ in runs if path in chosen]


def _summary(run: Path) -> str:
    """The run's verdict (verdict.json, never re-derived), its tests and its load runs."""
    from interlock.report.verdict import VERDICT_FILE, describe

    load = run / "load.json"
    tests = run / "tests.json"
    if not (run / VERDICT_FILE).is_file() and not tests.is_file():
        if (run / ENV_UP_FILE).is_file():
            return "env up (logs only)"
        if load.is_file():
            return _load_summary(load)  # `interlock load` alone: its own verdict
    parts = [describe(run)]
    if tests.is_file():
        try:
            counts = json.loads(tests.read_text(encoding="utf-8"))["counts"]
            parts.append(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no tests")
        except (ValueError, KeyError, TypeError):
            parts.append("tests.json unreadable")
    if load.is_file():
        parts.append(_load_summary(load))
    return "; ".join(parts)


def _load_summary(load: Path) -> str:
    try:
        return "load PASS" if json.loads(load.read_text())["ok"] else "load FAIL"
    except (ValueError, KeyError, TypeError):
        return "load.json unreadable"


def _resolve(config: Config, name: str) -> Path:
    run = resolve_run(config, name)
    if not is_run_dir(run):
        raise UsageError(f"{name}: not a run folder Interlock made (no {MARKER} in it)")
    return run


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    for path, made in marked_runs(config.artifacts):
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(made))
        print(f"{path.name}  {stamp}  {_summary(path)}")
    return 0


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    run = _resolve(config, args.run)
    print(f"{short(run)}: {_summary(run)}")
    for child in sorted(run.iterdir()):
        if child.name != MARKER:
            print(f"  {child.name}{'/' if child.is_dir() else ''}")
    return 0


def cmd_clean(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    keep: int | None = args.keep
    older: float | None = args.older_than
    if keep is None and older is None:
        keep = KEEP_RUNS
    doomed = select_for_removal(
        marked_runs(config.artifacts), keep=keep, older_than_s=older, now=time.time()
    )
    removed = 0
    for path in doomed:
        # the marker is the proof, checked at the moment of removal, under its lock
        if remove_run_dir(path):
            removed += 1
            print(f"removed {short(path)}")
        elif is_run_dir(path):
            print(f"kept {short(path)}: a run or env up still uses it")
    print(f"{removed} run folders removed")
    return 0


def _keep(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number of runs (0 or more), got {text!r}")
    return int(text)


def _age(text: str) -> float:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_runs_parser(commands: Any) -> None:
    runs = commands.add_parser("runs", help="list, show and clean run folders", description=__doc__)
    runs.set_defaults(handler=None, usage_of=runs)
    actions = runs.add_subparsers(dest="action", metavar="ACTION", parser_class=type(runs))
    actions.add_parser("list", help="every run folder, oldest first").set_defaults(handler=cmd_list)
    show = actions.add_parser("show", help="a run's results and files")
    show.add_argument("run", metavar="RUN", help="a run id or folder")
    show.set_defaults(handler=cmd_show)
    clean = actions.add_parser(
        "clean",
        help="remove old run folders",
        description="Remove marked run folders beyond the newest N and/or older than AGE "
        f"(with neither: keep the newest {KEEP_RUNS}).",
    )
    clean.add_argument("--keep", type=_keep, metavar="N", help="keep the newest N runs")
    clean.add_argument(
        "--older-than", type=_age, metavar="AGE", help="remove runs older than AGE (e.g. 7d, 12h)"
    )
    clean.set_defaults(handler=cmd_clean)
