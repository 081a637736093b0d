"""``interlock baseline save [RUN] | show``: the run that later runs are compared with."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from interlock.cli._common import require_project, resolve_run, short
from interlock.config import Config
from interlock.errors import UsageError
from interlock.report.baseline import baseline_path
from interlock.runs import MARKER, is_run_dir
from interlock.slo.aggregate import Aggregate

__all__ = ["add_baseline_parser", "cmd_save", "newest_run"]


def newest_run(artifacts: Path) -> Path | None:
    """The newest marked run folder of ``artifacts`` that has an ``slo.json``."""
    if not artifacts.is_dir():
        return None
    runs = [p for p in artifacts.iterdir() if is_run_dir(p) and (p / "slo.json").is_file()]
    return max(runs, key=lambda p: ((p / MARKER).stat().st_mtime_ns, p.name), default=None)


def _read_slo(path: Path) -> str:
    """The text of an ``slo.json`` whose aggregates all decode; else one UsageError."""
    try:
        text = path.read_text(encoding="utf-8")
        for workflow in json.loads(text)["workflows"]:
            Aggregate.from_dict(workflow["aggregate"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not an slo.json Interlock wrote ({exc})") from None
    return text


def cmd_save(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    run = (
        resolve_run(config, args.run, file_ok=True)
        if args.run is not None
        else newest_run(config.artifacts)
    )
    if run is None:
        raise UsageError(
            f"no run with an slo.json in {short(config.artifacts)}", hint="name a run folder"
        )
    text = _read_slo(run if run.is_file() else run / "slo.json")
    target = baseline_path(config.artifacts)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    (target.parent / "source").write_text(f"{run.resolve()}\n", encoding="utf-8")
    print(f"baseline: {short(run)} -> {short(target)}")
    return 0


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    target = baseline_path(config.artifacts)
    if not target.is_file():
        raise UsageError(f"no baseline at {short(target)}", hint="interlock baseline save [RUN]")
    source = target.parent / "source"
    origin = source.read_text(encoding="utf-8").strip() if source.is_file() else "unknown"
    print(f"baseline {short(target)} (from {origin})")
    for workflow in json.loads(_read_slo(target))["workflows"]:
        print(f"  {workflow['name']}: {workflow['runs']} runs, p50 {workflow['med']:g} ms")
    return 0


def add_baseline_parser(commands: Any) -> None:
    baseline = commands.add_parser(
        "baseline",
        help="save the run later runs' latencies are compared with",
        description="Every run compares each workflow's latency distribution with the "
        "baseline (Mann-Whitney U, Cliff's delta) and says regressed, improved or "
        "unchanged; 'interlock run --fail-on-regression' makes a regression exit 1.",
    )
    baseline.set_defaults(handler=None, usage_of=baseline)
    actions = baseline.add_subparsers(dest="action", metavar="ACTION", parser_class=type(baseline))
    save = actions.add_parser("save", help="make a run (default: the newest) the baseline")
    save.add_argument(
        "run",
        nargs="?",
        default=None,
        metavar="RUN",
        help="a run id (runs list), a run folder or an slo.json (default: the newest run)",
    )
    save.set_defaults(handler=cmd_save)
    show = actions.add_parser("show", help="the baseline's workflows")
    show.set_defaults(handler=cmd_show)
