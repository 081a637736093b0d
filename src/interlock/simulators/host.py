"""Serve several simulators from one process, each on its own port.

One process for all of them keeps a stack's start-up to one Python import instead of
one per service; each still has its own base URL, state, journal and faults.
Run as ``python -m interlock.simulators stripe=PORT sendgrid=PORT ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from interlock.aio import AppServer
from interlock.errors import ConfigError, InterlockError
from interlock.simulators import load_simulator, parse_fault_spec
from interlock.simulators.base import Simulator

__all__ = ["main", "serve"]


async def serve(
    services: dict[str, int],
    *,
    host: str = "127.0.0.1",
    seed: int = 0,
    faults: tuple[str, ...] = (),
    on_ready: Callable[[], None] | None = None,
    seed_data: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM and return that signal's number; ``on_ready`` runs once
    every port listens (default: one line saying what is served where).

    ``faults`` (``SERVICE:KIND...`` specs) are run-wide: a reset keeps them, and a
    test's own fault on the same calls takes precedence (see ``FaultPlan``). Raises
    InterlockError for seed data or faults of a service not served, OSError when a
    port is taken.
    """
    simulators: dict[str, Simulator] = {name: load_simulator(name)(seed=seed) for name in services}
    for name, data in (seed_data or {}).items():
        if name not in simulators:
            raise InterlockError(f"seed data for {name!r}, which is not being served")
        simulators[name].set_baseline(data)
    for spec in faults:
        name, rule = parse_fault_spec(spec)
        if name not in simulators:
            raise InterlockError(f"fault {spec!r} names {name!r}, which is not being served")
        simulators[name].faults.add(rule, run_wide=True)
    async with AsyncExitStack() as serving:
        for name, port in services.items():
            server = AppServer(
                simulators[name].build_app(), host=host, port=port, shutdown_timeout=0.5
            )
            await server.start()
            serving.push_async_callback(server.stop)
        stop = asyncio.Event()
        received: list[int] = []

        def stopped_by(signum: int) -> None:
            received.append(signum)
            stop.set()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped_by, signum)
        if on_ready is None:
            served = ", ".join(f"{n} on {host}:{p}" for n, p in services.items())
            print(f"serving {served}", flush=True)
        else:
            on_ready()
        await stop.wait()
    return received[0]


def _read_seed_data(path: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read seed data {path}: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ConfigError(f"seed data {path} must be a JSON object of objects, one per service")
    return data


def _service(text: str) -> tuple[str, int]:
    name, sep, port = text.partition("=")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, got {text!r}")
    return name, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m interlock.simulators",
        description="Serve external-service simulators, each on its own port.",
    )
    parser.add_argument("services", nargs="+", type=_service, metavar="NAME=PORT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0, help="seed for fault randomness")
    parser.add_argument(
        "--seed-data",
        metavar="FILE",
        help="JSON {service: seed document}: what each holds at the start and after a reset",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SERVICE:KIND[=V][,k=v]",
        help="a fault active from the start, e.g. stripe:status=500",
    )
    args = parser.parse_args(argv)
    try:
        seed_data = _read_seed_data(args.seed_data) if args.seed_data else None
        asyncio.run(
            serve(
                dict(args.services),
                host=args.host,
                seed=args.seed,
                faults=tuple(args.fault),
                seed_data=seed_data,
            )
        )
    except InterlockError as exc:
        print(f"simulators: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"simulators: cannot listen: {exc}", file=sys.stderr)
        return 2
    return 0
