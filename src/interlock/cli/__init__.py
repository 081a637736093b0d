"""The ``interlock`` command: run suites, keep a stack up, serve simulators, drive faults.

One module a command (``run``, ``env``, ``sims``, ``faults``, ``doctor``; ``load`` and
``monitor`` live with their packages); the checks they share are in ``_common``. Every
error a user can act on is one ``interlock:`` line on stderr and exit status 2, before
anything is created.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from interlock._entry import interrupted, raise_terminated
from interlock.cli._common import Parser
from interlock.config import DEFAULT_SUITES, Config, load_config
from interlock.errors import ConfigError, InterlockError

__all__ = ["COMMANDS", "OVERVIEW", "build_parser", "command_of", "main"]

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


#: every command, in the order 'interlock --help' lists them: name -> (the module that
#: adds its parser, the one line 'interlock --help' gives it). A command's module (and
#: what it imports) is imported only when that command runs or its own help is asked
#: for; the lines are kept here so the overview needs none of them (a test holds them
#: equal to the modules' own).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("interlock.cli.run", "run integration suites and judge their SLOs"),
    "env": ("interlock.cli.env", "keep a stack up for manual work"),
    "sims": ("interlock.cli.sims", "serve the external-service simulators alone, for manual use"),
    "faults": (
        "interlock.cli.faults",
        "list and apply network faults on a running 'interlock env up'",
    ),
    "doctor": ("interlock.cli.doctor", "check binaries, servers, ports and folders a run needs"),
    "load": ("interlock.load.cli", "run a load scenario (k6 executors) against a target"),
    "monitor": (
        "interlock.monitor.cli",
        "watch a running system: probes, alerts, history, dashboard, /metrics",
    ),
    "report": (
        "interlock.cli.report",
        "merge the run folders of CI shards; render a run's report.html",
    ),
    "baseline": (
        "interlock.cli.baseline",
        "save the run later runs' latencies are compared with",
    ),
    "runs": ("interlock.cli.runs", "list, show and clean run folders"),
}


#: ``build_parser(command=OVERVIEW)``: no command built, each only its line in the overview
OVERVIEW = ""


def build_parser(
    suites: dict[str, str] | None = None, command: str | None = None
) -> argparse.ArgumentParser:
    """The parser; ``suites`` (name -> one line) are those ``run --help`` lists.

    With ``command`` (a name in COMMANDS) only that command's parser is built in full:
    the others are their one line in ``interlock --help``, and parsing them would find
    no options; with OVERVIEW, none is (enough for ``interlock --help``). Without it,
    every command is built.
    """
    if suites is None:
        suites = {name: suite.description for name, suite in DEFAULT_SUITES.items()}
    parser = Parser(prog="interlock", description=DESCRIPTION, epilog=EPILOG)
    _project_option(parser)
    parser.set_defaults(handler=None, usage_of=parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module, line) in COMMANDS.items():
        if command in (None, name):
            _add_command(name, importlib.import_module(module), commands, suites)
        else:
            commands.add_parser(name, help=line)
    return parser


def _add_command(name: str, module: Any, commands: Any, suites: dict[str, str]) -> None:
    """Add command ``name`` from ``module`` (its entry in COMMANDS) to ``commands``."""
    adders: dict[str, Callable[[], None]] = {
        "run": lambda: module.add_run_parser(commands, suites),
        "env": lambda: module.add_env_parser(commands, Parser),
        "sims": lambda: module.add_sims_parser(commands),
        "faults": lambda: module.add_faults_parser(commands, Parser),
        "doctor": lambda: module.add_doctor_parser(commands),
        "load": lambda: module.add_parser(commands),
        "monitor": lambda: module.add_parser(commands),
        "report": lambda: module.add_report_parser(commands),
        "baseline": lambda: module.add_baseline_parser(commands),
        "runs": lambda: module.add_runs_parser(commands),
    }
    adders[name]()
    if name == "monitor":  # the monitor's package leaves dispatch to the command line
        commands.choices["monitor"].set_defaults(handler=module.run)


class _NotACommand(Exception):
    """The command line does not name a command plainly enough to build it alone."""


class _Finder(argparse.ArgumentParser):
    """Finds the command a command line names; its errors are left to the full parser."""

    def error(self, message: str) -> NoReturn:
        raise _NotACommand(message)


def command_of(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (a key of COMMANDS); OVERVIEW when it names none (as
    ``interlock --help``); None when it is not understood (the full parser, built whole,
    then says what is wrong)."""
    finder = _Finder(add_help=False)
    _project_option(finder)
    finder.add_argument("command", nargs="?")
    try:
        known, _ = finder.parse_known_args(argv)
    except _NotACommand:
        return None
    if known.command is None:
        return OVERVIEW
    return known.command if known.command in COMMANDS else None


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
    parser = build_parser(suites, command_of(argv))
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
