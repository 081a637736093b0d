"""``interlock env up``: a stack kept up for manual work until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import ExitStack
from types import FrameType
from typing import Any

from interlock.cli._common import check_dependencies, check_sim_faults, require_project, short
from interlock.cli.envstate import published
from interlock.cli.run import add_stack_options
from interlock.config import Config
from interlock.errors import InterlockError
from interlock.runs import new_run_dir

__all__ = ["add_env_parser", "cmd_env_up"]


def cmd_env_up(args: argparse.Namespace, config: Config) -> int:
    """Bring the stack up, publish its addresses, wait for a signal, tear down; 130 then."""
    from interlock.stack import Stack, baseline

    require_project(config)
    check_sim_faults(args.sim_fault, config.simulators)
    check_dependencies(config)

    stop = threading.Event()
    starting = True

    def on_signal(signum: int, frame: FrameType | None) -> None:
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
            return 130
        if stack.postgres_url:  # what an attached run restores (interlock run --attach)
            try:
                baseline.snapshot(stack.postgres_url)
                cleanup.callback(baseline.discard, stack.postgres_url)
            except InterlockError as exc:
                print(f"interlock: {exc}; attached runs will empty the tables", file=sys.stderr)
        info = stack.describe()
        # the pids let an attached run (`interlock run --attach`) prove the env whole
        pids = {name: process.pid for name, process in stack.processes.items()}
        state = cleanup.enter_context(published(config, {**info, "pids": pids}))
        _announce(args, info, run_dir_logs=short(run_dir / "logs"), state=short(state))
        # a timed wait: a signal handler cannot wake an untimed Event.wait reliably
        while not stop.wait(1.0):
            pass
    return 130


def _announce(
    args: argparse.Namespace, info: dict[str, Any], run_dir_logs: str, state: str
) -> None:
    if args.json:
        print(json.dumps(info), flush=True)
        return
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


def add_env_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    env = commands.add_parser(
        "env",
        help="keep a stack up for manual work",
        description="Manage a stack for manual work: 'interlock env up' starts it and keeps "
        "it up until Ctrl-C or SIGTERM.",
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
        help='print one JSON line: {"postgres", "redis", "app", "simulators", "faults"}',
    )
    up.add_argument("--no-app", action="store_true", help="dependencies and simulators only")
    add_stack_options(up)
    up.set_defaults(handler=cmd_env_up)
