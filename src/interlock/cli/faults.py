"""``interlock faults``: list and apply network faults on a running ``interlock env up``."""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx

from interlock.cli.envstate import choose_env
from interlock.config import Config
from interlock.errors import DependencyError, UsageError

__all__ = ["add_faults_parser"]


def _control_url(args: argparse.Namespace, config: Config) -> str:
    if args.url:
        if args.env is not None:
            raise UsageError("--url and --env each name a stack: give one of them")
        if not str(args.url).startswith(("http://", "https://")):
            raise UsageError(f"--url must be an http:// address, got {args.url!r}")
        return str(args.url).rstrip("/")
    url = choose_env(config, args.env).get("faults")
    if not url:
        raise UsageError(
            "the running stack has no fault proxies", hint="set [tool.interlock] faults = true"
        )
    return str(url)


def _call(method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = httpx.request(method, url, timeout=10, **kwargs)
    except httpx.HTTPError as exc:
        raise DependencyError(
            f"fault control API at {url} is not reachable: {exc}",
            hint="is 'interlock env up' still running?",
        ) from None
    try:
        body = response.json() if response.content else {}
    except ValueError:
        raise DependencyError(
            f"{url} answered {response.status_code} with a body that is not JSON",
            hint="is --url the fault control API of an 'interlock env up'?",
        ) from None
    if response.status_code >= 400:
        raise UsageError(str(body.get("error", response.text)))
    return body


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    proxies = _call("GET", f"{_control_url(args, config)}/proxies")
    if args.json:
        print(json.dumps(proxies))
        return 0
    for name, proxy in sorted(proxies.items()):
        state = "up" if proxy["enabled"] else "DOWN"
        print(f"{name:<12} {state:<5} {proxy['listen']} -> {proxy['upstream']}")
        for toxic in proxy["toxics"]:
            attrs = " ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in toxic["attributes"].items()
            )
            print(
                f"{'':<12} {toxic['name']}: {toxic['type']} {toxic['stream']} "
                f"toxicity={toxic['toxicity']:g} {attrs}".rstrip()
            )
    return 0


def cmd_add(args: argparse.Namespace, config: Config) -> int:
    attributes: dict[str, float | str] = {}
    for item in args.attributes:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"expected KEY=VALUE, got {item!r}")
        attributes[key] = _value(value)
    body: dict[str, Any] = {
        "type": args.type,
        "attributes": attributes,
        "stream": args.direction,
        "toxicity": args.toxicity,
    }
    if args.name:
        body["name"] = args.name
    toxic = _call("POST", f"{_control_url(args, config)}/proxies/{args.proxy}/toxics", json=body)
    print(f"added {toxic['name']} to {args.proxy}")
    return 0


def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    _call("DELETE", f"{_control_url(args, config)}/proxies/{args.proxy}/toxics/{args.name}")
    print(f"removed {args.name} from {args.proxy}")
    return 0


def cmd_down(args: argparse.Namespace, config: Config) -> int:
    enabled = args.faults_command == "up"
    _call("POST", f"{_control_url(args, config)}/proxies/{args.proxy}", json={"enabled": enabled})
    print(f"{args.proxy} is {'up' if enabled else 'down'}")
    return 0


def cmd_reset(args: argparse.Namespace, config: Config) -> int:
    _call("POST", f"{_control_url(args, config)}/reset")
    print("every proxy up, every toxic removed")
    return 0


def add_faults_parser(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    faults = commands.add_parser(
        "faults",
        help="list and apply network faults on a running 'interlock env up'",
        description="Drive the fault proxies that sit between the system under test and each "
        "dependency (postgres, redis, every simulator) of a running 'interlock env up'.\n"
        "Toxics: latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data.\n"
        "The stack is the project's only running env up, the one --env names when several "
        "are up, or the control API --url names.",
        epilog="examples:\n"
        "  interlock faults list\n"
        "  interlock faults add postgres latency latency=200 jitter=50\n"
        "  interlock faults add redis bandwidth rate=10 --direction upstream --toxicity 0.5\n"
        "  interlock faults down redis && interlock faults up redis\n"
        "  interlock faults --env 4242 reset",
    )
    faults.set_defaults(handler=None, usage_of=faults)
    faults.add_argument(
        "--url", help="control API of the proxies (default: that of the running env up)"
    )
    faults.add_argument(
        "--env",
        type=_pid,
        metavar="PID",
        help="which running env up, when several are (its pid, as 'env up' prints it)",
    )
    actions = faults.add_subparsers(
        dest="faults_command", metavar="ACTION", parser_class=parser_class
    )
    listing = actions.add_parser("list", help="proxies and their toxics")
    listing.add_argument("--json", action="store_true", help="print the raw JSON")
    listing.set_defaults(handler=cmd_list)
    add = actions.add_parser(
        "add",
        help="add a toxic to a proxy",
        epilog="examples:\n"
        "  interlock faults add postgres latency latency=200 jitter=50\n"
        "  interlock faults add stripe timeout timeout=0 --name blackhole",
    )
    add.add_argument("proxy", help="postgres, redis, or a simulator's name")
    add.add_argument(
        "type", help="latency, bandwidth, slow_close, timeout, reset_peer, slicer or limit_data"
    )
    add.add_argument(
        "attributes",
        nargs="*",
        metavar="KEY=VALUE",
        help="the toxic's attributes, e.g. latency=200 jitter=50 or rate=100",
    )
    add.add_argument(
        "--direction",
        choices=("downstream", "upstream"),
        default="downstream",
        help="answers (downstream, default) or requests (upstream)",
    )
    add.add_argument(
        "--toxicity",
        type=_fraction,
        default=1.0,
        help="share of connections affected, 0..1 (default 1)",
    )
    add.add_argument("--name", help="the toxic's name (default: TYPE_DIRECTION)")
    add.set_defaults(handler=cmd_add)
    remove = actions.add_parser(
        "remove",
        help="remove a toxic from a proxy",
        epilog="example: interlock faults remove postgres latency_downstream",
    )
    remove.add_argument("proxy")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_remove)
    for action, text in (
        ("down", "refuse new connections and close open ones"),
        ("up", "accept connections again"),
    ):
        sub = actions.add_parser(
            action, help=text, epilog=f"example: interlock faults {action} redis"
        )
        sub.add_argument("proxy")
        sub.set_defaults(handler=cmd_down)
    reset = actions.add_parser("reset", help="every proxy up, every toxic removed")
    reset.set_defaults(handler=cmd_reset)


def _pid(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected the pid of an env up, got {text!r}")
    return int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {text!r}")
    return value
