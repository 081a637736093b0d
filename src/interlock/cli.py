"""The ``interlock`` command: run suites, bring a stack up, check the machine."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

from interlock.cli_faults import add_faults_parser, env_state_path
from interlock.cli_sims import add_sims_parser
from interlock.config import Config, load_config
from interlock.errors import InterlockError, UsageError
from interlock.runs import new_run_dir

__all__ = ["main"]

SUITES = {
    "comprehensive": None,
    "workflow": "workflow",
    "business": "business",
    "external": "external",
    "performance": "performance",
}
DESCRIPTION = """\
Interlock: integration testing for cross-system workflows.

Brings up real dependencies (PostgreSQL, Redis), simulators of external APIs and the
system under test as local processes, runs the pytest suites against them, and gates
the run on service-level objectives (success rate, latency percentiles).
Configuration comes from [tool.interlock] in pyproject.toml; environment variables
(INTERLOCK_DATABASE_URL, INTERLOCK_REDIS_URL, INTEGRATION_TIMEOUT, PERFORMANCE_THRESHOLD,
LATENCY_THRESHOLD, COVERAGE_THRESHOLD) override it."""


def _terminate_as_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C, so every fixture and stack is torn down."""

    def handler(signum: int, frame: object) -> NoReturn:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


# -- interlock run -----------------------------------------------------------------------
def _preflight(config: Config, sim_faults: Sequence[str]) -> None:
    """Fail fast, before pytest starts, on a dependency or an option that cannot work."""
    from interlock.doctor import run_checks
    from interlock.simulators import parse_fault_spec

    for spec in sim_faults:
        name, _ = parse_fault_spec(spec)
        if name not in config.simulators:
            raise UsageError(
                f"--sim-fault {spec!r} names {name!r}, which is not a configured simulator",
                hint=f"configured: {', '.join(config.simulators)}",
            )

    for check in run_checks(config):
        if not check.ok and check.name in ("postgres", "redis", "simulators", "app", "artifacts"):
            raise InterlockError(check.detail, hint=check.fix or None)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    import pytest

    marker = SUITES[args.suite]
    _preflight(config, args.sim_fault)
    if not config.tests.exists():
        raise UsageError(f"no tests at {config.tests}", hint="set [tool.interlock] tests")
    run_dir = new_run_dir(config.artifacts)
    pytest_args = [
        str(config.tests),
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--interlock-run-dir={run_dir}",
        "-o",
        "junit_family=xunit2",
    ]
    if marker:
        pytest_args += ["-m", marker]
    if args.workers:
        pytest_args += ["-n", args.workers]
    for spec in args.sim_fault:
        pytest_args += ["--sim-fault", spec]
    if args.seed is not None:
        pytest_args += ["--interlock-seed", str(args.seed)]
    pytest_args += args.pytest_args
    print(f"interlock run {args.suite}: artifacts in {_short(run_dir)}", flush=True)
    _terminate_as_interrupt()
    code = int(pytest.main(pytest_args))
    print(f"artifacts: {_short(run_dir)} (junit.xml, slo.json, logs/)", flush=True)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(f"interlock: no tests matched suite {args.suite!r}", file=sys.stderr)
        return 1
    if code == pytest.ExitCode.INTERRUPTED:
        return 130
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        return 2
    return min(code, 2)


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- interlock env up --------------------------------------------------------------------
def cmd_env_up(args: argparse.Namespace, config: Config) -> int:
    from interlock.stack import Stack

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, f: stop.set())
    _preflight(config, args.sim_fault)
    run_dir = new_run_dir(config.artifacts)
    with ExitStack() as cleanup:
        stack = cleanup.enter_context(
            Stack(
                config,
                run_dir=run_dir,
                sim_faults=tuple(args.sim_fault),
                seed=args.seed or 0,
                with_app=not args.no_app,
            )
        )
        info = stack.describe()
        # other commands (interlock faults) find the running stack here
        state = env_state_path(config)
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({**info, "pid": os.getpid()}))
        cleanup.callback(state.unlink, missing_ok=True)
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            print(f"postgres    {info['postgres']}")
            print(f"redis       {info['redis']}")
            if info["app"]:
                print(f"app         {info['app']}")
            for name, url in info["simulators"].items():
                print(f"{name:<11} {url}")
            if info.get("faults"):
                print(f"faults      {info['faults']}  (interlock faults --help)")
            print(f"logs        {_short(run_dir / 'logs')}")
            print("up; press Ctrl-C to stop", flush=True)
        while not stop.is_set():
            stop.wait(1.0)
    return 0


# -- interlock doctor --------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from interlock.doctor import run_checks

    checks = run_checks(config)
    for check in checks:
        print(check.line())
    failed = [c for c in checks if not c.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


# -- parser ------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="interlock",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        metavar="DIR",
        help="project folder holding pyproject.toml (default: nearest above cwd)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        help="run integration suites and judge their SLOs",
        description="Run the suites under pytest on a fresh stack. Artifacts (junit.xml, "
        "slo.json, logs/) go to .interlock/runs/<run-id>/. Exit 0 when every test "
        "passes and every SLO holds, 1 on a failure or breach, 2 on a usage, "
        "configuration or dependency error.",
        epilog="Arguments after -- go to pytest, e.g.: interlock run business -- -k onboarding -x",
    )
    run.add_argument(
        "suite",
        nargs="?",
        default="comprehensive",
        choices=list(SUITES),
        metavar="SUITE",
        help=f"one of {', '.join(SUITES)} (default: comprehensive)",
    )
    run.add_argument(
        "-n",
        "--workers",
        metavar="N",
        help="run in N parallel workers with pytest-xdist ('auto' = one per core)",
    )
    _stack_options(run)
    run.set_defaults(handler=cmd_run)

    env = commands.add_parser("env", help="manage a stack for manual use")
    env_commands = env.add_subparsers(dest="env_command", metavar="ACTION", parser_class=_Parser)
    up = env_commands.add_parser(
        "up",
        help="bring the stack up and keep it up until Ctrl-C / SIGTERM",
        description="Start PostgreSQL, Redis, the simulators and the app; print their "
        "addresses; tear everything down on SIGINT or SIGTERM.",
    )
    up.add_argument(
        "--json",
        action="store_true",
        help='print one JSON line: {"postgres", "redis", "app", "simulators"}',
    )
    up.add_argument("--no-app", action="store_true", help="dependencies and simulators only")
    _stack_options(up)
    up.set_defaults(handler=cmd_env_up)

    doctor = commands.add_parser(
        "doctor",
        help="check binaries, servers, ports and folders a run needs",
        description="One line per check; exit 0 when all pass, 1 otherwise, with the fix.",
    )
    doctor.set_defaults(handler=cmd_doctor)

    add_faults_parser(commands, _Parser)
    add_sims_parser(commands)
    return parser


def _stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a simulator fault for the whole run, e.g. stripe:status=500 or "
        "twilio:latency=300,jitter_ms=50 (repeatable)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the simulators' randomness, to replay a run"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    parser = build_parser()
    args = parser.parse_args(argv)
    args.pytest_args = pytest_args
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        config = load_config(args.project)
        code: int = args.handler(args, config)
        return code
    except InterlockError as exc:
        print(f"interlock: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interlock: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
