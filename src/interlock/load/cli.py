"""``interlock load SCENARIO``: run a scenario file with a k6 executor, live progress, a summary.

With no threshold from the scenario or --threshold, the run is gated on its iterations'
success rate: at least the project's performance_threshold (95 % by default, as for
'interlock run'); the summary says so. A run with no gate at all would pass whatever failed.

Exit codes: 0 every threshold held, 1 a threshold failed (or aborted the run), 2 bad input
(unknown executor, a negative rate, a scenario that does not import, a target that refuses),
printed as one line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interlock.errors import InterlockError, UsageError
from interlock.load.executors import (
    EXECUTORS,
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    PerVUIterations,
    RampingArrivalRate,
    RampingVUs,
    Stage,
)
from interlock.load.result import LoadResult
from interlock.load.scenario import Scenario, load_scenario
from interlock.load.summary import progress_line, summary
from interlock.load.think import parse_think
from interlock.load.thresholds import LoadThreshold, parse_load_thresholds

if TYPE_CHECKING:
    from interlock.config import Config

__all__ = ["add_parser", "build_executor", "parse_duration", "run"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RULE = re.compile(r"^(?:(?P<target>.+?):)?(?P<rule>(?:p\(|avg|min|med|max|rate|count).*)$")


def parse_duration(text: str) -> float:
    """``500ms``, ``30s``, ``2m``, ``1m30s``, ``1h`` or plain seconds -> seconds; UsageError."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"bad duration {text!r}: write e.g. 30s, 2m, 1m30s or 500ms")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _stages(text: str) -> tuple[Stage, ...]:
    stages = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        duration, sep, target = item.rpartition(":")
        if not sep:
            raise UsageError(f"bad stage {item!r}: write DURATION:TARGET, e.g. 30s:100")
        try:
            stages.append(Stage(parse_duration(duration), float(target)))
        except ValueError:
            raise UsageError(f"bad stage {item!r}: the target is a number") from None
    return tuple(stages)


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``load`` to a command line's subcommands (its handler is ``run``)."""
    p = subparsers.add_parser(
        "load",
        help="run a load scenario (k6 executors) against a target",
        description=__doc__,  # the command line's formatter keeps its examples' layout
    )
    configure(p)
    p.set_defaults(handler=run)


def configure(p: argparse.ArgumentParser) -> None:
    """The options of ``interlock load`` (shared by ``python -m interlock.load``)."""
    p.add_argument("scenario", help="a Python file defining `async def workflow(session)`")
    p.add_argument("--target", help="base URL of the system under load (default: the scenario's)")
    p.add_argument(
        "--executor",
        default="constant-vus",
        help=f"one of {', '.join(EXECUTORS)} (default constant-vus)",
    )
    p.add_argument("--rate", type=float, help="iterations per second (arrival-rate executors)")
    p.add_argument(
        "--duration",
        help="e.g. 30s, 2m (default 10s; for per-vu-iterations the longest it may take, 10m)",
    )
    p.add_argument("--vus", type=int, help="VUs (pre-allocated VUs for arrival-rate executors)")
    p.add_argument("--max-vus", type=int, help="most VUs an arrival-rate executor may use")
    p.add_argument("--iterations", type=int, help="iterations per VU (per-vu-iterations)")
    p.add_argument(
        "--stages", default="", help="ramping stages DURATION:TARGET,..., e.g. 30s:100,1m:0"
    )
    p.add_argument("--graceful-stop", default="30s", help="wait for running iterations (30s)")
    p.add_argument("--think", help="think time KIND[:A[,B]], e.g. uniform:0.5,1.5")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="[NAME:]RULE",
        help="k6 rule on the workflow (or on step NAME), e.g. 'p(95)<500' or "
        "'GET /:p(99)<800 over 30s'; repeatable (none given, in the scenario either: "
        "the workflow's rate>= the project's performance_threshold, 95%% by default)",
    )
    p.add_argument("--abort-on-fail", action="store_true", help="stop the run when one fails")
    p.add_argument("--abort-delay", default="0s", help="judge aborts only after this long")
    p.add_argument("--out", type=Path, help="write load.json here (default: a new run folder)")
    p.add_argument("--seed", type=int, help="seed of the VUs' random sources")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.add_argument("--scheduler", help="run as shards on this Dask scheduler (tcp://HOST:8786)")
    p.add_argument("--workers", type=int, help="start a local Dask cluster of N workers")


#: the options each executor takes (k6's: rate/startRate, preAllocatedVUs/vus/startVUs,
#: maxVUs, iterations, duration/maxDuration, stages); any other is refused, not ignored
_OPTIONS: dict[str, tuple[str, ...]] = {
    "constant-arrival-rate": ("rate", "duration", "vus", "max_vus"),
    "ramping-arrival-rate": ("rate", "stages", "vus", "max_vus"),
    "constant-vus": ("vus", "duration"),
    "ramping-vus": ("vus", "stages"),
    "per-vu-iterations": ("vus", "iterations", "duration"),
}


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _check_options(name: str, args: argparse.Namespace) -> None:
    """Every executor option given is one ``name`` takes; else UsageError naming who does."""
    for option in ("rate", "duration", "vus", "max_vus", "iterations", "stages"):
        if getattr(args, option, None) in (None, "") or option in _OPTIONS[name]:
            continue
        takers = [e for e, options in _OPTIONS.items() if option in options]
        raise UsageError(
            f"{_flag(option)} does not apply to the {name} executor "
            f"(it takes {', '.join(map(_flag, _OPTIONS[name]))})",
            hint=f"--executor {' or '.join(takers)}",
        )


def build_executor(args: argparse.Namespace) -> Executor:
    """The executor the options ask for; raises UsageError (one line)."""
    name = args.executor
    if name not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r}: one of {', '.join(EXECUTORS)}")
    _check_options(name, args)
    duration = parse_duration(args.duration or ("10m" if name == "per-vu-iterations" else "10s"))
    graceful = parse_duration(args.graceful_stop)
    stages = _stages(args.stages)
    executor: Executor
    if name == "constant-arrival-rate":
        if args.rate is None:
            raise UsageError("constant-arrival-rate needs --rate")
        vus = args.vus if args.vus is not None else max(1, min(100, int(args.rate)))
        executor = ConstantArrivalRate(
            rate=args.rate,
            duration=duration,
            pre_allocated_vus=vus,
            max_vus=args.max_vus if args.max_vus is not None else max(vus, 10 * vus),
            graceful_stop=graceful,
        )
    elif name == "ramping-arrival-rate":
        vus = args.vus if args.vus is not None else 10
        executor = RampingArrivalRate(
            start_rate=args.rate or 0.0,
            stages=stages,
            pre_allocated_vus=vus,
            max_vus=args.max_vus if args.max_vus is not None else max(vus, 100),
            graceful_stop=graceful,
        )
    elif name == "constant-vus":
        executor = ConstantVUs(
            vus=args.vus if args.vus is not None else 1, duration=duration, graceful_stop=graceful
        )
    elif name == "ramping-vus":
        executor = RampingVUs(start_vus=args.vus or 0, stages=stages, graceful_stop=graceful)
    else:
        executor = PerVUIterations(
            vus=args.vus if args.vus is not None else 1,
            iterations=args.iterations if args.iterations is not None else 1,
            max_duration=duration,
            graceful_stop=graceful,
        )
    executor.validate()
    return executor


def build_thresholds(
    args: argparse.Namespace,
    scenario: Scenario,
    *,
    performance_threshold: Callable[[], float] = lambda: 95.0,
) -> list[LoadThreshold]:
    """The scenario's thresholds plus the command line's; UsageError on a bad rule.

    With none at all, one rule on the scenario's iterations: ``rate>=`` the success rate
    ``performance_threshold()`` returns (percent; called only then, as it may read the
    project's configuration), marked with its origin for the summary.
    """
    rules: dict[str, list[str]] = {k: list(v) for k, v in scenario.thresholds.items()}
    for text in args.threshold:
        match = _RULE.match(text.strip())
        if not match:
            raise UsageError(f"bad threshold {text!r}: write [NAME:]RULE, e.g. p(95)<500")
        rules.setdefault(match["target"] or scenario.name, []).append(match["rule"])
    origin = None
    if not any(rules.values()):
        percent = performance_threshold()
        rules = {scenario.name: [f"rate>={percent / 100:g}"]}
        origin = f"default: no thresholds given, performance_threshold {percent:g} %"
    parsed = parse_load_thresholds(
        rules, abort_on_fail=args.abort_on_fail, delay=parse_duration(args.abort_delay)
    )
    return [replace(rule, origin=origin) for rule in parsed] if origin else parsed


def _project(config: object) -> Config:
    """The project's configuration: the one ``interlock`` read (with its --project), or
    the current directory's when run as ``python -m interlock.load``."""
    from interlock.config import Config, load_config

    return config if isinstance(config, Config) else load_config()


def _artifacts(args: argparse.Namespace, config: object) -> Path | None:
    """Where run folders go when --out is not given; read before the run, so that a bad
    configuration fails first rather than after minutes of load."""
    if args.out is not None:
        return None
    return _project(config).artifacts


def _output_path(args: argparse.Namespace, artifacts: Path | None) -> Path:
    if artifacts is None:
        return Path(args.out) / "load.json"
    from interlock.runs import new_run_dir

    return new_run_dir(artifacts) / "load.json"


def run(args: argparse.Namespace, config: object = None) -> int:
    """Handle ``interlock load``: 0 pass, 1 a threshold failed, 2 bad input (one line).

    ``config`` is the project's configuration as ``interlock`` read it; without one (run
    as ``python -m interlock.load``) the current directory's is read, when needed: for
    the run folder (no --out) and for the default success-rate gate (no thresholds).
    """
    try:
        executor = build_executor(args)
        scenario = load_scenario(args.scenario)
        if args.think:
            try:
                scenario = replace(scenario, think=parse_think(args.think))
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        thresholds = build_thresholds(
            args,
            scenario,
            performance_threshold=lambda: _project(config).thresholds.performance_threshold,
        )
        if args.workers is not None and args.workers < 1:
            raise UsageError("--workers must be at least 1")
        artifacts = _artifacts(args, config)
        result = _execute(args, scenario, executor, thresholds)
        out = _output_path(args, artifacts)
    except InterlockError as exc:
        print(f"interlock load: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interlock load: interrupted", file=sys.stderr)
        return 130
    result.write_json(out)
    print(summary(result))
    print(f"\n  results: {out}")
    return 0 if result.ok else 1


def _execute(
    args: argparse.Namespace,
    scenario: Scenario,
    executor: Executor,
    thresholds: list[LoadThreshold],
) -> LoadResult:
    def show(point: dict[str, Any], shards: int = 1) -> None:
        if not args.quiet:
            print(progress_line(point, shards=shards), file=sys.stderr, flush=True)

    if args.scheduler or args.workers:
        from interlock.load.distributed import run_distributed

        return run_distributed(
            Path(args.scenario),
            executor,
            target=args.target or scenario.target,
            thresholds=thresholds,
            scheduler=args.scheduler,
            workers=args.workers,
            on_point=show,
        )
    from interlock.load.engine import LoadRun

    return LoadRun(
        scenario,
        executor,
        target=args.target,
        thresholds=thresholds,
        on_second=lambda _second, point: show(point),
        seed=args.seed,
    ).run()
