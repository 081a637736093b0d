"""``interlock run [SUITE]``: the suites under pytest on a fresh stack, judged on their SLOs.

``--fuzz-examples N`` sets ``INTERLOCK_FUZZ_EXAMPLES`` (examples per operation of an API
fuzzing run) in pytest's environment, else the suite's ``fuzz_examples`` does; the tests
that fuzz read it, choosing their own default when it is unset (a quick one for everyday
runs; a nightly ``fuzz`` suite declares a deep one).

pytest runs in a child interpreter of its own. Interlock's plugin is then the first
Interlock module that interpreter imports, so pytest can rewrite it and never warns
that it was imported too early, whatever ``filterwarnings`` the project sets.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from interlock._entry import Terminated, interrupted
from interlock.cli._common import (
    check_dependencies,
    check_sim_faults,
    require_project,
    seed,
    short,
)
from interlock.cli.envstate import choose_env, live_envs, state_dir
from interlock.cli.report import add_run_report_options, run_report_args
from interlock.config import Config, Suite, override_thresholds
from interlock.errors import DependencyError, UsageError
from interlock.runs import MARKER, new_run_dir

__all__ = ["add_run_parser", "cmd_run", "pytest_exit_status"]

#: the threshold options: flag -> Thresholds field
THRESHOLD_OPTIONS = {
    "--performance-threshold": "performance_threshold",
    "--latency-threshold": "latency_threshold",
    "--integration-timeout": "integration_timeout",
}
#: the environment variable --fuzz-examples sets: examples per operation of API fuzzing
FUZZ_EXAMPLES_VAR = "INTERLOCK_FUZZ_EXAMPLES"
#: what a run folder holds when the run got that far
ARTIFACTS = ("report.html", "junit.xml", "slo.json", "logs")

# pytest's exit codes (pytest.ExitCode), without importing pytest in this process
_OK, _FAILED, _INTERRUPTED, _INTERNAL, _USAGE, _NO_TESTS = range(6)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    require_project(config)
    if (
        args.attach not in (None, "any")
        and not args.attach.isdigit()
        and args.suite == "comprehensive"  # none named
        and (config.suites.get(args.attach) or _path_suite(args.attach))
    ):
        # `run --attach tests/x.py`: --attach's optional PID took the suite
        args.suite, args.attach = args.attach, "any"
    suite = config.suites.get(args.suite) or _path_suite(args.suite)
    if suite is None:
        raise UsageError(
            f"no such file or suite: {args.suite!r}",
            hint=f"suites: {', '.join(config.suites)}; declare more in "
            "[tool.interlock.suites], or name a test file or folder",
        )
    for flag, key in THRESHOLD_OPTIONS.items():
        value = getattr(args, key)
        if value is not None:
            config = override_thresholds(config, flag, **{key: value})
    report_args = run_report_args(args)  # refuses before anything is made
    if args.fail_on_regression and not any(a.startswith("--baseline") for a in args.pytest_args):
        from interlock.report.baseline import baseline_path

        if not baseline_path(config.artifacts).is_file():
            raise UsageError(
                f"--fail-on-regression: no baseline at {short(baseline_path(config.artifacts))}",
                hint="interlock baseline save RUN makes one; -- --baseline FILE names another",
            )
    workers = _workers(_default_workers(args))
    env_pid = _attach(args, config, workers)
    check_sim_faults(args.sim_fault, config.simulators)
    paths = suite.paths or (config.tests,)
    for path in paths:
        if not path.exists():
            where = "[tool.interlock.suites]" if suite.paths else "[tool.interlock] tests"
            raise UsageError(f"suite {suite.name!r}: no tests at {path}", hint=f"fix {where}")
    if env_pid is None:  # an attached run starts nothing: the env has what it needs
        check_dependencies(config)

    run_dir = new_run_dir(config.artifacts)
    command = [
        sys.executable,
        "-P",  # the current directory stays off sys.path, as under the console script
        "-c",
        _PYTEST_MAIN,
        *map(str, paths),
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--interlock-run-dir={run_dir}",
        "-o",
        "junit_family=xunit2",
    ]
    if suite.marker:
        command += ["-m", suite.marker]
    if workers:
        command += ["-n", workers]
        if not _names_dist(args.pytest_args):
            # xdist's default (load) ignores xdist_group marks; loadgroup keeps tests that
            # share expensive state on one worker and spreads the rest as load does
            command += ["--dist", "loadgroup"]
    if env_pid is not None:
        command += [f"--interlock-attach={env_pid}"]
    for spec in args.sim_fault:
        command += ["--sim-fault", spec]
    if args.seed is not None:
        command += ["--interlock-seed", str(args.seed)]
    for flag, key in THRESHOLD_OPTIONS.items():
        if getattr(args, key) is not None:
            command += [flag, f"{getattr(config.thresholds, key):g}"]
    command += report_args
    command += args.pytest_args
    print(f"interlock run {suite.name}: artifacts in {short(run_dir)}", flush=True)
    env = None
    fuzz_examples = args.fuzz_examples or suite.fuzz_examples
    if fuzz_examples is not None:
        env = {**os.environ, FUZZ_EXAMPLES_VAR: str(fuzz_examples)}
    code, signalled = _run_child(command, env)
    made = [name for name in ARTIFACTS if (run_dir / name).exists()]
    if made:
        print(f"artifacts: {short(run_dir)} ({', '.join(made)})", flush=True)
    elif all(entry.name == MARKER for entry in run_dir.iterdir()):
        # ours (marked when made), and pytest stopped before writing anything into it
        shutil.rmtree(run_dir)
    if signalled:
        print(interrupted(signalled), file=sys.stderr)
        return 130
    if code == _NO_TESTS:
        print(f"interlock: no tests matched suite {suite.name!r}", file=sys.stderr)
        return 1
    return pytest_exit_status(code)


def _path_suite(name: str) -> Suite | None:
    """A test file or folder given instead of a suite: every test in it, e.g. to rerun it."""
    path = Path(name)
    if not path.exists():
        return None
    return Suite(name=name, paths=(path.resolve(),))


def pytest_exit_status(code: int) -> int:
    """Interlock's exit status for pytest's: 0 pass, 1 failure, 2 usage or internal, 128+N."""
    if code < 0:  # killed by signal -code
        return 128 - code
    if code in (_OK, _FAILED):
        return code
    if code in (_USAGE, _INTERNAL):
        return 2
    # INTERRUPTED without a signal to us: collection errors (a broken test module)
    return 1


def _names_dist(pytest_args: Sequence[str]) -> bool:
    """Whether the user chose xdist's distribution mode after ``--`` themselves."""
    return any(arg in ("--dist", "-d") or arg.startswith("--dist=") for arg in pytest_args)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def _default_workers(args: argparse.Namespace) -> str | None:
    """``-n`` as given, else every core (``auto``); serial for the options that run in one
    process (``--attach``: the env has one database; ``--repeat``: its rounds)."""
    if args.workers is not None:
        return str(args.workers)
    if args.attach is not None or args.repeat is not None:
        return None
    return "auto"


def _workers(value: str | None) -> str | None:
    """``-n``: a positive count, ``auto`` or ``logical``; and pytest-xdist must be there."""
    if value is None:
        return None
    if not (value in ("auto", "logical") or value.isdigit()):
        raise UsageError(f"-n {value!r}: expected a number of workers, 'auto' or 'logical'")
    if value.isdigit() and int(value) == 0:
        return None  # serial, in pytest's own process: no xdist at all
    if importlib.util.find_spec("xdist") is None:
        raise DependencyError("-n needs pytest-xdist", hint="pip install pytest-xdist")
    return value


def _attach(args: argparse.Namespace, config: Config, workers: str | None) -> int | None:
    """The pid of the env ``--attach`` means (checked now, for a one-line error), or None."""
    if args.attach is None:
        envs = live_envs(config)
        if envs:
            print(
                f"interlock: 'interlock env up' (pid {', '.join(map(str, envs))}) is up; "
                "'interlock run --attach' would reuse it instead of starting a stack",
                flush=True,
            )
        return None
    if workers:
        raise UsageError(
            "--attach runs serially: the env has one database, which parallel workers would share",
            hint="drop -n",
        )
    if args.sim_fault or args.seed is not None:
        raise UsageError(
            "--attach runs on the env as it was started: --sim-fault and --seed belong "
            "to 'interlock env up'"
        )
    if args.attach != "any" and not args.attach.isdigit():
        raise UsageError(f"--attach {args.attach!r}: expected the pid of an 'interlock env up'")
    wanted = None if args.attach == "any" else int(args.attach)
    pid = int(choose_env(config, wanted, flag="--attach")["pid"])
    from interlock.stack.attach import attach_lock  # not needed, nor imported, without --attach

    # the run's pytest takes the lock for good; trying it here too makes a run that is
    # refused say so in one line, before pytest starts
    with attach_lock(state_dir(config), pid):
        return pid


#: pytest's own main, run as ``python -c``: an interrupt while pytest is still being
#: imported or configured (before its session handles one itself) ends it quietly,
#: and a SIGTERM unwinds as a Ctrl-C does but is called what it was. Nothing of
#: Interlock is imported here: the plugin must be the first Interlock module pytest
#: sees, to rewrite it.
_PYTEST_MAIN = """\
import signal, sys
interrupted = []
class Terminated(KeyboardInterrupt):
    pass
def terminated(signum, frame):
    interrupted.append(signum)
    raise Terminated("SIGTERM")
def ctrl_c(signum, frame):
    interrupted.append(signum)
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, terminated)
signal.signal(signal.SIGINT, ctrl_c)
try:
    import pytest
    sys.exit(pytest.main())
except KeyboardInterrupt:  # before pytest's session, which handles its own
    sys.exit(2)
except Exception as exc:
    if not interrupted:
        raise  # not an interrupt's doing: the traceback is the report
    # a teardown that failed as the interrupted session unwound: one line, not a traceback
    first = next(iter(str(exc).splitlines()), "")
    print(f"interlock: a teardown failed after the interrupt: {type(exc).__name__}: {first}",
          file=sys.stderr)
    sys.exit(2)
"""


def _run_child(
    command: Sequence[str], env: dict[str, str] | None = None
) -> tuple[int, KeyboardInterrupt | None]:
    """Run pytest to its end; a SIGINT or SIGTERM to us is passed on to it.

    The child has a process group of its own, so a Ctrl-C reaches it once, through us:
    pytest then unwinds as on a Ctrl-C of its own, tearing down every stack. Returns
    (its exit status, the interrupt we received, if any: Terminated for a SIGTERM).
    """
    signalled: KeyboardInterrupt | None = None
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal signalled
        signalled = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if child is not None and child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            child = subprocess.Popen(
                command, env=env, process_group=0, preexec_fn=_interrupt_with_parent
            )
        except OSError as exc:
            raise DependencyError(f"cannot start pytest: {exc}") from None
        if signalled:  # a signal that came while the child was being created
            child.send_signal(
                signal.SIGTERM if isinstance(signalled, Terminated) else signal.SIGINT
            )
        status = child.wait()  # a handled signal does not interrupt the wait (PEP 475)
        return status, signalled
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_libc: Any = None
with contextlib.suppress(OSError):
    _libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _interrupt_with_parent() -> None:
    """In the child before exec: SIGINT (an orderly teardown) if we die without passing one."""
    if _libc is not None:
        _libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def add_run_parser(commands: Any, suites: dict[str, str]) -> None:
    """``suites``: name -> one line, listed in ``--help``."""
    width = max(map(len, suites), default=0)
    listing = "\n".join(f"  {name:<{width}}  {text}" for name, text in suites.items())
    run = commands.add_parser(
        "run",
        help="run integration suites and judge their SLOs",
        description="Run a suite under pytest on a fresh stack (PostgreSQL, Redis, the "
        "simulators and the app, as configured) and judge every workflow's SLOs.\n"
        "Artifacts (junit.xml, slo.json, logs/) go to <artifacts>/<run-id>/.\n\n"
        "Exit status: 0 every test passed and every SLO held; 1 a test failed or an SLO "
        "was breached;\n2 a usage, configuration or dependency error; 130 interrupted "
        "(Ctrl-C or SIGTERM).\n\n"
        f"Suites ([tool.interlock.suites] declares more):\n{listing}",
        epilog="examples:\n"
        "  interlock run                                    every suite\n"
        "  interlock run business -- -k onboarding -x       pytest's own options after --\n"
        "  interlock run --latency-threshold 1500 -n 0      stricter p95, serially\n"
        "  interlock run external --sim-fault stripe:status=500\n"
        "  interlock run --sim-fault twilio:latency=300,jitter_ms=50,rate=0.5 --seed 7\n"
        "  interlock run tests/test_billing.py --attach     one file, on a running env up",
    )
    run.add_argument(
        "suite",
        nargs="?",
        default="comprehensive",
        metavar="SUITE",
        help="a declared suite (default: comprehensive), or a test file or folder",
    )
    run.add_argument(
        "-n",
        "--workers",
        metavar="N",
        help="run in N parallel workers with pytest-xdist, each with a stack of its own "
        "(default 'auto': one per core; 0: serial, in one process, as --attach and "
        "--repeat always run)",
    )
    run.add_argument(
        "--performance-threshold",
        metavar="PCT",
        dest="performance_threshold",
        help="minimum success rate of a workflow, percent (default 95; $PERFORMANCE_THRESHOLD)",
    )
    run.add_argument(
        "--latency-threshold",
        metavar="MS",
        dest="latency_threshold",
        help="maximum p95 latency of a workflow, ms (default 2000; $LATENCY_THRESHOLD)",
    )
    run.add_argument(
        "--integration-timeout",
        metavar="MS",
        dest="integration_timeout",
        help="time limit of one test and of each wait in it, ms "
        "(default 60000; $INTEGRATION_TIMEOUT)",
    )
    run.add_argument(
        "--attach",
        nargs="?",
        const="any",
        metavar="PID",
        help="run on the stack a running 'interlock env up' keeps (PID: which one, when "
        "several are up): its data is reset first, nothing is started or stopped; serial",
    )
    run.add_argument(
        "--fuzz-examples",
        type=_positive_int,
        metavar="N",
        help=f"examples per operation in API fuzzing tests: sets ${FUZZ_EXAMPLES_VAR} for "
        "the suite to read (default: the suite's fuzz_examples, else the tests' own)",
    )
    add_stack_options(run)
    add_run_report_options(run)
    run.set_defaults(handler=cmd_run)


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    """The options ``run`` and ``env up`` share."""
    parser.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a simulator fault for the whole run, e.g. stripe:status=500 or "
        "twilio:latency=300,jitter_ms=50 (repeatable)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=None,
        metavar="N",
        help="seed of the simulators' randomness, to replay a run",
    )
