"""``interlock monitor``: watch a system; ``interlock monitor history``: its trends.

``add_parser(subparsers)`` adds the ``monitor`` command to a CLI; ``run(args)`` carries it
out and returns the exit code: 0 after a clean stop (SIGTERM, Ctrl-C, ``--duration``),
2 for bad input or an unusable history file or port (one line on stderr, nothing
started), 1 when the history can no longer be written while watching.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from interlock.argtypes import seconds
from interlock.errors import ConfigError, InterlockError, UsageError
from interlock.monitor.config import (
    DEFAULT_HISTORY,
    MonitorConfig,
    history_target,
    parse_monitor_config,
)
from interlock.monitor.discovery import find_env_state, read_project_table
from interlock.monitor.history import History
from interlock.monitor.runner import Monitor
from interlock.monitor.store import HISTORY_ERRORS, is_database_url, redacted
from interlock.monitor.trends import parse_duration, render, trend
from interlock.monitor.web import DashboardServer

__all__ = ["add_parser", "build_config", "run"]


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``monitor`` (and ``monitor history``) to ``subparsers``; ``run(args)`` carries
    out what it parsed. No handler is set: how a CLI dispatches is its own business."""
    parser = subparsers.add_parser(
        "monitor",
        help="watch a running system: probes, alerts, history, dashboard, /metrics",
        description="Run the probes of [tool.interlock.monitor] (or, without any, watch the "
        "running 'interlock env up') every interval; alert on thresholds; keep the history "
        "in SQLite; serve a live dashboard and Prometheus /metrics. Stops cleanly on "
        "SIGTERM or Ctrl-C (exit 0); bad configuration exits 2.",
    )
    _common(parser)
    # checked here, so its error names the option, not the config table
    parser.add_argument("--interval", type=seconds, metavar="S", help="default probe interval (s)")
    parser.add_argument("--host", help="dashboard address (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, help="dashboard port (default: a free one)")
    parser.add_argument("--tui", action="store_true", help="draw the dashboard in the terminal")
    parser.add_argument(
        "--duration", metavar="TIME", help="stop after TIME (e.g. 90s, 10m); default: run on"
    )
    commands = parser.add_subparsers(dest="monitor_command", metavar="ACTION")
    history = commands.add_parser(
        "history",
        help="print the stored trends (or export them as CSV / JSON)",
        description="Checks stored by the monitor, per probe and time bucket, with the rate "
        "of change of response time (ms/min) and success rate (points/h).",
    )
    _common(history)
    history.add_argument("--probe", action="append", help="only this probe (repeatable)")
    history.add_argument("--since", default="1h", metavar="TIME", help="how far back (1h)")
    history.add_argument("--bucket", default="1m", metavar="TIME", help="bucket width (1m)")
    history.add_argument("--format", choices=("table", "csv", "json"), default="table")
    history.add_argument("--output", type=Path, metavar="FILE", help="write there, not stdout")


def _port(text: str) -> int:
    """``--port``: 0 (any free one) to 65535."""
    if not (text.isdigit() and int(text) < 65536):
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        dest="monitor_project",
        type=Path,
        metavar="DIR",
        help="project folder holding pyproject.toml (default: the current one)",
    )
    parser.add_argument(
        "--history-db",
        metavar="TARGET",
        help="where the history is kept: a SQLite file, a postgresql:// URL, or 'stack' "
        "(the PostgreSQL of the running 'interlock env up')",
    )


def _root(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "monitor_project", None) or getattr(args, "project", None)
    root = Path(chosen or Path.cwd()).resolve()
    if not root.is_dir():
        raise UsageError(f"--project {root}: no such folder")
    return root


def build_config(args: argparse.Namespace) -> MonitorConfig:
    """The run's configuration: pyproject, the running stack, then the command line."""
    root = _root(args)
    table, health = read_project_table(root)
    table = dict(table)
    for key in ("interval", "host", "port"):
        if getattr(args, key, None) is not None:
            table[key] = getattr(args, key)
    state = find_env_state(root)
    table["history"] = _history_value(args, table)
    return parse_monitor_config(
        root,
        table,
        default_probes=(lambda i, t: state.probes(i, t, health)) if state else lambda i, t: (),
        faults_url=state.faults if state else None,
        processes=state.processes() if state else None,
        # straight to the server, not through its fault proxy: a fault must not stop the
        # recording of what it does
        stack_database=state.postgres if state else None,
    )


def _history_value(args: argparse.Namespace, table: dict[str, Any]) -> str:
    """``--history-db`` (a path resolved from the current folder) or the file's value."""
    chosen = getattr(args, "history_db", None)
    value = chosen if chosen is not None else table.get("history", DEFAULT_HISTORY)
    if not isinstance(value, str) or not value:
        raise ConfigError("[tool.interlock.monitor] history must be a path, a URL or 'stack'")
    if chosen is not None and value != "stack" and not is_database_url(value):
        path = Path(value).resolve()
        # a path typed on the command line: a typo in it must not scatter folders around
        _existing_folder(path, "--history-db")
        return str(path)
    return value


def _existing_folder(path: Path, option: str) -> None:
    """``path``'s folder exists; else UsageError (exit 2): nothing is made for a typo."""
    if not path.parent.is_dir():
        raise UsageError(
            f"{option} {path}: no folder {path.parent}", hint="create it first, or fix the path"
        )


def run(args: argparse.Namespace, config: object = None) -> int:
    """Carry out ``monitor`` / ``monitor history``; returns the exit code.

    ``config`` (the project's configuration, passed by ``interlock``) is not needed: this
    command reads its own section of the project.
    """
    try:
        if getattr(args, "monitor_command", None) == "history":
            return _history(args)
        config = build_config(args)
        duration = parse_duration(args.duration, "--duration") if args.duration else None
        return asyncio.run(_watch(config, duration=duration, tui=bool(args.tui)))
    except InterlockError as exc:
        print(f"interlock monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except HISTORY_ERRORS as exc:  # the history could no longer be written
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"interlock monitor: error: {reason}", file=sys.stderr)
        return 1


async def _watch(config: MonitorConfig, *, duration: float | None, tui: bool) -> int:
    if tui:  # alerts are on the screen; lines printed over it would garble it
        config = replace(config, alerts=replace(config.alerts, console=False))
    monitor = Monitor(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    async with DashboardServer(monitor, config.host, config.port) as server:

        def started() -> None:
            # only once the history is open and the probes scheduled: before, an error
            # leaves nothing on stdout but its one line on stderr
            if tui:
                from interlock.monitor.tui import Terminal

                Terminal(monitor, sys.stdout, server.url).attach()
                return
            print(
                f"monitor     {len(config.probes)} probes: "
                f"{', '.join(p.name for p in config.probes)}"
            )
            print(f"dashboard   {server.url}")
            print(f"metrics     {server.url}metrics")
            print(f"history     {redacted(config.history)}", flush=True)

        await monitor.run(stop, ready=started)
    print(f"monitor stopped: {monitor.taken} samples taken, {monitor.stored} stored", flush=True)
    return 0


def _history(args: argparse.Namespace) -> int:
    root = _root(args)
    if args.output is not None:
        _existing_folder(args.output.resolve(), "--output")
    since = time.time() - parse_duration(args.since, "--since")
    width = parse_duration(args.bucket, "--bucket")
    table, _ = read_project_table(root)
    state = find_env_state(root)
    target = history_target(root, _history_value(args, table), state.postgres if state else None)
    if isinstance(target, Path) and not target.is_file():
        raise UsageError(f"no monitor history at {target}", hint="run 'interlock monitor' first")
    with History(target) as history:
        names = args.probe or history.probes()
        unknown = set(names) - set(history.probes())
        if unknown:
            raise UsageError(
                f"--probe: no history of {', '.join(sorted(unknown))}",
                hint=f"stored: {', '.join(history.probes()) or 'none'}",
            )
        trends = [trend(name, history.buckets(name, since, width)) for name in names]
    text = render(trends, args.format)
    if args.output is not None:
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m interlock.monitor``: the ``monitor`` command on its own."""
    parser = argparse.ArgumentParser(prog="interlock")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["monitor", *(sys.argv[1:] if argv is None else argv)]))
