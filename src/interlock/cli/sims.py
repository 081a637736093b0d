"""``interlock sims``: serve the external-service simulators alone, for manual use.

Without PostgreSQL, Redis or the app: for pointing an SDK, a notebook or an app under
development at faithful fakes of Stripe, Twilio, ... and watching their journals.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

from interlock._entry import signal_line
from interlock.cli._common import check_sim_faults, seed
from interlock.config import Config
from interlock.errors import DependencyError, UsageError
from interlock.simulators import REGISTRY, load_simulator
from interlock.simulators.base import CONTROL_PREFIX

__all__ = ["add_sims_parser"]


def _wanted(text: str) -> tuple[str, int | None]:
    name, sep, port = text.partition("=")
    if not name or (sep and not port.isdigit()):
        raise argparse.ArgumentTypeError(f"expected NAME or NAME=PORT, got {text!r}")
    if sep and not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: port out of range (1 to 65535)")
    return name, int(port) if sep else None


def cmd_sims(args: argparse.Namespace, config: Config) -> int:
    from interlock.ports import free_port
    from interlock.simulators.host import serve

    wanted: list[tuple[str, int | None]] = args.services or [
        (name, None) for name in (config.simulators or sorted(REGISTRY))
    ]
    names = [name for name, _ in wanted]
    for name in names:
        load_simulator(name)  # an unknown name fails here, with the list of known ones
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise UsageError(f"{', '.join(twice)} named more than once: each is served once")
    check_sim_faults(args.fault, names, flag="--fault", role="being served")
    _check_host(args.host)
    ports = {name: port if port is not None else free_port(args.host) for name, port in wanted}
    urls = {name: f"http://{args.host}:{port}" for name, port in ports.items()}

    def announce() -> None:
        if args.json:
            print(json.dumps({"simulators": urls}), flush=True)
            return
        for name, url in urls.items():
            print(f"{name:<11} {url}   (control: {url}{CONTROL_PREFIX}/journal, /faults, ...)")
        print("up; press Ctrl-C to stop", flush=True)

    try:
        signum = asyncio.run(
            serve(
                ports, host=args.host, seed=args.seed, faults=tuple(args.fault), on_ready=announce
            )
        )
    except OSError as exc:
        raise DependencyError(
            f"cannot listen: {exc}", hint="choose other ports (NAME=PORT) or stop what holds them"
        ) from None
    # stopped, as asked, by a signal: said as every command says it (exit 130)
    print(signal_line(signum), file=sys.stderr)
    return 130


def _check_host(host: str) -> None:
    """``--host`` is an address of this machine: binding it is the one sure test."""
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host!r} is not a known address: {exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(
                f"--host {host}: cannot listen there: {exc.strerror}",
                hint="use an address of this machine, e.g. 127.0.0.1 or 0.0.0.0",
            ) from None


def add_sims_parser(commands: Any) -> None:
    sims = commands.add_parser(
        "sims",
        help="serve the external-service simulators alone, for manual use",
        description="Serve simulators (no database, cache or app) until Ctrl-C / SIGTERM. "
        "Each has its own base URL for the service's official SDK and, under "
        f"{CONTROL_PREFIX}/, its journal, state, seed and faults (see README).",
        epilog="examples:\n"
        "  interlock sims                              the project's simulators (else all)\n"
        "  interlock sims stripe=12111 twilio          Stripe on port 12111, Twilio anywhere\n"
        "  interlock sims stripe --fault stripe:status=500,rate=0.3 --json",
    )
    sims.add_argument(
        "services",
        nargs="*",
        type=_wanted,
        metavar="NAME[=PORT]",
        help=f"which to serve (default: the project's [tool.interlock] simulators; "
        f"without a project or with none configured, every one); "
        f"known: {', '.join(sorted(REGISTRY))}",
    )
    sims.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sims.add_argument("--seed", type=seed, default=0, help="seed of their randomness, to replay")
    sims.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a fault active from the start, e.g. twilio:latency=300 (repeatable)",
    )
    sims.add_argument("--json", action="store_true", help='print one JSON line: {"simulators"}')
    sims.set_defaults(handler=cmd_sims)
