"""The ``interlock`` command: run suites, keep a stack up, serve simulators, drive faults.

One module a command (``run``, ``env``, ``sims``, ``faults``, ``doctor``; ``load`` and
``monitor`` live with their packages); the checks they share are in ``_common``. Every
error a user can act on is one ``interlock:`` line on stderr and exit status 2, before
anything is created.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from interlock._entry import interrupted, raise_terminated
from interlock.cli._common import Parser
from interlock.cli.baseline import add_baseline_parser
from interlock.cli.doctor import add_doctor_parser
from interlock.cli.env import add_env_parser
from interlock.cli.faults import add_faults_parser
from interlock.cli.report import add_report_parser
from interlock.cli.run import add_run_parser
from interlock.cli.runs import add_runs_parser
from interlock.cli.sims import add_sims_parser
from interlock.config import DEFAULT_SUITES, Config, load_config
from interlock.errors import ConfigError, InterlockError
from interlock.load.cli import add_parser as add_load_parser
from interlock.monitor.cli import add_parser as add_monitor_parser
from interlock.monitor.cli import run as run_monitor

__all__ = ["build_parser", "main"]

DESCRIPTION = """\
Interlock: integration testing for cross-system workflows.

Brings up real dependencies (PostgreSQL, Redis), simulators of external APIs and the \
system under test as local processes, runs the pytest suites against them, and gates \
the run on service-level objectives (success rate, latency percentiles).

Configuration comes from [tool.interlock] in pyproject.toml; environment variables \
(INTERLOCK_DATABASE_URL, INTERLOCK_REDIS_URL, INTERLOCK_ARTIFACTS, INTEGRATION_TIMEOUT, \
PERFORMANCE_THRESHOLD, LATENCY_THRESHOLD, COVERAGE_THRESHOLD) override it, and the \
command line overrides both."""

EPILOG = """\
examples:
  interlock run                               every suite, on a fresh stack
  interlock run business -- -k onboarding     one suite, pytest's options after --
  interlock env up                            a stack for manual work, until Ctrl-C
  interlock env down                          stop it from another terminal
  interlock faults add postgres latency latency=200
  interlock sims stripe twilio                simulators alone
  interlock doctor                            what is missing on this machine
  interlock load scenario.py --rate 50 --duration 30s
  interlock monitor                           watch a running 'env up'

'interlock COMMAND --help' explains each command."""


def build_parser(suites: dict[str, str] | None = None) -> argparse.ArgumentParser:
    """The full parser; ``suites`` (name -> one line) are those ``run --help`` lists."""
    if suites is None:
        suites = {name: suite.description for name, suite in DEFAULT_SUITES.items()}
    parser = Parser(prog="interlock", description=DESCRIPTION, epilog=EPILOG)
    _project_option(parser)
    parser.set_defaults(handler=None, usage_of=parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_run_parser(commands, suites)
    add_env_parser(commands, Parser)
    add_sims_parser(commands)
    add_faults_parser(commands, Parser)
    add_doctor_parser(commands)
    add_load_parser(commands)
    add_monitor_parser(commands)
    commands.choices["monitor"].set_defaults(handler=run_monitor)
    add_report_parser(commands)
    add_baseline_parser(commands)
    add_runs_parser(commands)
    return parser


def _project_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        metavar="DIR",
        help="project folder holding pyproject.toml (default: the nearest at or above cwd)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    # until a command installs its own handling, SIGTERM ends us as Ctrl-C does: 130
    signal.signal(signal.SIGTERM, raise_terminated)
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    # the configuration is read before the full parse: 'run --help' lists its suites
    config, problem = _configuration(argv)
    suites = None if config is None else {n: s.description for n, s in config.suites.items()}
    parser = build_parser(suites)
    args = parser.parse_args(argv)
    args.pytest_args = pytest_args
    if pytest_args and args.command != "run":
        parser.error("arguments after -- go to pytest, and only 'interlock run' runs it")
    if args.handler is None:  # a command group without its action: its own help
        args.usage_of.print_help(sys.stderr)
        return 2
    try:
        if problem is not None:
            raise problem
        assert config is not None
        code: int = args.handler(args, config)
        return code
    except InterlockError as exc:
        print(f"interlock: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(interrupted(exc), file=sys.stderr)
        return 130


def _configuration(argv: Sequence[str]) -> tuple[Config | None, InterlockError | None]:
    """The project's configuration, or the error that keeps it from loading."""
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _project_option(early)
    known, _ = early.parse_known_args(argv)
    project: Path | None = known.project
    if project is not None and not project.is_dir():
        return None, ConfigError(f"--project {project}: not a folder")
    try:
        return load_config(project), None
    except InterlockError as exc:
        return None, exc
