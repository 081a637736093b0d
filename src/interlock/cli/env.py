"""``interlock env up``: a stack kept up for manual work until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from contextlib import ExitStack
from types import FrameType
from typing import Any

import psutil

from interlock._entry import signal_line
from interlock.cli._common import (
    ENV_UP_FILE,
    check_dependencies,
    check_sim_faults,
    require_project,
    short,
)
from interlock.cli.envstate import choose_env, published
from interlock.cli.run import add_stack_options
from interlock.config import Config
from interlock.errors import InterlockError, UsageError
from interlock.runs import new_run_dir

__all__ = ["add_env_parser", "cmd_env_down", "cmd_env_up"]


def cmd_env_up(args: argparse.Namespace, config: Config) -> int:
    """Bring the stack up, publish its addresses, wait for a signal, tear down; 130 then."""
    from interlock.stack import Stack, baseline

    require_project(config)
    check_sim_faults(args.sim_fault, config.simulators)
    check_dependencies(config)

    stop = threading.Event()
    starting = True
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        # An exception raised at an arbitrary point of the start can land between a
        # process's spawn and the registration of its stop, or where Python swallows it
        # (an at-fork hook), and leave something behind. So the first signal only asks
        # to stop once the start is complete; a second one abandons the start at once.
        if starting and stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    run_dir = new_run_dir(config.artifacts)
    (run_dir / ENV_UP_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
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
        starting = False
        if stop.is_set():  # a signal came during the start: nothing is announced
            print(signal_line(received[0]), file=sys.stderr)
            return 130
        if stack.postgres_url:  # what an attached run restores (interlock run --attach)
            try:
                baseline.snapshot(stack.postgres_url)
                cleanup.callback(baseline.discard, stack.postgres_url)
            except InterlockError as exc:
                print(f"interlock: {exc}; attached runs will empty the tables", file=sys.stderr)
        info = {"pid": os.getpid(), **stack.describe()}
        # the pids let an attached run (`interlock run --attach`) prove the env whole;
        # our start time lets 'env down' prove the pid is still us, not a reuse
        pids = {name: process.pid for name, process in stack.processes.items()}
        started = psutil.Process().create_time()
        state = cleanup.enter_context(published(config, {**info, "pids": pids, "started": started}))
        _announce(args, info, run_dir_logs=short(run_dir / "logs"), state=short(state))
        # a timed wait: a signal handler cannot wake an untimed Event.wait reliably
        while not stop.wait(1.0):
            pass
    # after the teardown, as every command ends on a signal (env down sends SIGTERM)
    print(signal_line(received[0]), file=sys.stderr)
    return 130


def _announce(
    args: argparse.Namespace, info: dict[str, Any], run_dir_logs: str, state: str
) -> None:
    if args.json:
        print(json.dumps(info), flush=True)
        return
    print(f"pid         {info['pid']}  (interlock env down {info['pid']})")
    if info["postgres"]:
        print(f"postgres    {info['postgres']}")
    if info["redis"]:
        print(f"redis       {info['redis']}")
    if info["app"]:
        print(f"app         {info['app']}")
    for name, url in info["simulators"].items():
        print(f"{name:<11} {url}")
    if info.get("faults"):
        print(f"faults      {info['faults']}  (interlock faults --help)")
    print(f"logs        {run_dir_logs}")
    print(f"state       {state}")
    print("up; press Ctrl-C to stop", flush=True)


def cmd_env_down(args: argparse.Namespace, config: Config) -> int:
    """SIGTERM to the ``env up`` of this project the state file names; wait for its end.

    Its state file (locked by a live owner, in this project) must name the pid, and the
    process must have the start time it recorded: a pid proves nothing alone (reuse).
    """
    require_project(config)
    info = choose_env(config, args.pid, flag="env down")
    pid = int(info["pid"])
    try:
        process = psutil.Process(pid)
        started = info.get("started")
        if not isinstance(started, float) or abs(started - process.create_time()) > 0.001:
            raise UsageError(
                f"env down {pid}: that pid is no longer the 'interlock env up' that "
                "published its state; nothing stopped"
            )
        process.terminate()
    except psutil.NoSuchProcess:
        print(f"env up (pid {pid}) had already stopped")
        return 0
    if not _ended(process, args.timeout):
        raise InterlockError(
            f"env up (pid {pid}) is still stopping after {args.timeout:g} s",
            hint=f"its logs are in {short(config.artifacts)}; wait, or run 'env down' again",
        )
    print(f"stopped env up (pid {pid})")
    return 0


def _ended(process: psutil.Process, timeout: float) -> bool:
    """Whether ``process`` ends within ``timeout`` s; a zombie has ended (its parent reaps)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
            process.wait(timeout=0.1)
            return True
        except psutil.NoSuchProcess:
            return True
        except psutil.TimeoutExpired:
            if time.monotonic() >= deadline:
                return False


def _pid(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"expected the pid 'interlock env up' printed, got {text!r}"
        )
    return int(text)


def add_env_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    from interlock.argtypes import seconds

    env = commands.add_parser(
        "env",
        help="keep a stack up for manual work",
        description="Manage a stack for manual work: 'interlock env up' starts it and keeps "
        "it up until Ctrl-C, SIGTERM or 'interlock env down'.",
        epilog="example:\n  interlock env up --no-app --json",
    )
    env.set_defaults(handler=None, usage_of=env)
    actions = env.add_subparsers(dest="env_command", metavar="ACTION", parser_class=parser_class)
    up = actions.add_parser(
        "up",
        help="bring the stack up and keep it up until Ctrl-C / SIGTERM",
        description="Start PostgreSQL, Redis, the simulators and the app (as configured), "
        "print their addresses, and tear everything down on SIGINT or SIGTERM (during the "
        "start: once it is complete; a second signal abandons it at once).\n"
        "Each env up publishes its addresses in .interlock/env/<pid>.json for "
        "'interlock faults'; several may run in one project.\n\n"
        "Exit status: 130 after the signal that stopped it; 2 a usage, configuration "
        "or dependency error (nothing is left started).",
        epilog="examples:\n"
        "  interlock env up                       addresses as a table\n"
        "  interlock env up --json --no-app       one JSON line; dependencies and simulators\n"
        "  interlock env up --sim-fault stripe:status=500,rate=0.3",
    )
    up.add_argument(
        "--json",
        action="store_true",
        help='print one JSON line: {"pid", "postgres", "redis", "app", "simulators", "faults"}',
    )
    up.add_argument("--no-app", action="store_true", help="dependencies and simulators only")
    add_stack_options(up)
    up.set_defaults(handler=cmd_env_up)
    down = actions.add_parser(
        "down",
        help="stop a running 'interlock env up' of this project",
        description="Send SIGTERM to the 'interlock env up' of this project whose pid its "
        "state file (.interlock/env/<pid>.json) proves, and wait until it has torn its "
        "stack down. Without PID: the only one running.\n\n"
        "Exit status: 0 stopped (or had already stopped); 2 no such env, or several and "
        "no PID; 1 still stopping after --timeout.",
        epilog="example:\n  interlock env down 41234",
    )
    down.add_argument("pid", nargs="?", type=_pid, metavar="PID", help="the pid env up printed")
    down.add_argument(
        "--timeout",
        type=seconds,
        default=120.0,
        metavar="S",
        help="how long to wait for the teardown, seconds (default 120)",
    )
    down.set_defaults(handler=cmd_env_down)
