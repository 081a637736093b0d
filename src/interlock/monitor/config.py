"""``[tool.interlock.monitor]``: probes, thresholds, alerting and history, as code.

Every value is checked once, here; a bad one raises ConfigError with one line naming
the key. Durations are seconds, response times milliseconds, rates and loads percent.
Without any probe, the monitor watches the running ``interlock env up``. E.g.::

    [tool.interlock.monitor]
    interval = 30                    # s, each probe's default
    timeout = 10                     # s
    alerts = { for = 0, remind_every = 3600, webhook = "http://hooks.internal/monitor" }
    burn_rate = [[3600, 300, 14.4], [21600, 1800, 6]]   # [long s, short s, factor]

    [tool.interlock.monitor.thresholds]   # the seed's; percent, response time in ms
    success_rate = 95
    response_time = 2000
    error_rate = 5
    memory = 80
    cpu = 70

    [tool.interlock.monitor.probes.db]
    type = "postgres"
    url = "postgresql://wms@127.0.0.1:5432/wms"

    [tool.interlock.monitor.probes.api]
    type = "http"
    url = "http://127.0.0.1:8000/health/ready"
    conditions = ["[STATUS] == 200", "[RESPONSE_TIME] < 500"]
    depends_on = ["db"]
    failure_threshold = 3            # retries before "down"

    [tool.interlock.monitor.probes.integrations]
    type = "http"
    url = "http://127.0.0.1:8000/api/v1/integrations"
    headers = { Authorization = "Bearer ..." }
    conditions = ['$[?breaker == "open"].length == 0']
    metrics = { open_breakers = '$[?breaker == "open"].length', shed = "$[*].shed.sum" }

    [tool.interlock.monitor.probes.checkout]
    type = "synthetic"               # async def checkout(session: aiohttp.ClientSession)
    function = "myproject.synthetic:checkout"
    interval = 60
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from interlock.errors import ConfigError
from interlock.monitor.conditions import Condition, JsonPath, parse_condition, parse_path
from interlock.monitor.store import is_database_url

__all__ = [
    "DEFAULT_HISTORY",
    "PROBE_KINDS",
    "AlertSettings",
    "MonitorConfig",
    "MonitorThresholds",
    "ProbeSpec",
    "history_target",
    "parse_monitor_config",
    "parse_probe",
]

DEFAULT_HISTORY = ".interlock/monitor/history.db"

#: the kinds of probe, with the key that names their target
PROBE_KINDS = {
    "http": "url",
    "tcp": "address",
    "postgres": "url",
    "redis": "url",
    "websocket": "url",
    "simulator": "url",
    "synthetic": "function",
}
_PROBE_KEYS = {
    "type",
    "url",
    "address",
    "function",
    "interval",
    "timeout",
    "conditions",
    "depends_on",
    "failure_threshold",
    "success_threshold",
    "query",
    "metrics",
    "slo",
    "method",
    "headers",
}
_TOP_KEYS = {
    "interval",
    "timeout",
    "history",
    "raw_retention",
    "retention",
    "rollup",
    "host",
    "port",
    "thresholds",
    "alerts",
    "probes",
    "window",
    "error_window",
    "burn_rate",
}
_URL_SCHEMES = {
    "http": ("http", "https"),
    "simulator": ("http", "https"),
    "websocket": ("ws", "wss", "http", "https"),
    "postgres": ("postgresql", "postgres"),
    "redis": ("redis", "rediss"),
}


@dataclass(frozen=True, kw_only=True)
class MonitorThresholds:
    """The seed's alert thresholds (defaults): what a healthy target stays within."""

    #: minimum share of successful checks over the window, percent
    success_rate: float = 95
    #: maximum p95 response time over the window, ms
    response_time: float = 2000
    #: maximum share of failed checks over the error window, percent
    error_rate: float = 5
    #: maximum memory in use on the host, percent
    memory: float = 80
    #: maximum CPU busy on the host, percent
    cpu: float = 70


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    """How alerts are raised and sent."""

    #: seconds a condition must hold before its alert fires
    for_s: float = 0
    #: seconds between reminders of a firing alert (0: never)
    remind_every: float = 3600
    #: print alerts on the console
    console: bool = True
    #: JSON-lines log of alert events (None: none)
    jsonl: Path | None = None
    #: URL that receives each alert event as a JSON POST (None: none)
    webhook: str | None = None


Synthetic = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class ProbeSpec:
    """One probe: what to check, how often, and what it depends on."""

    name: str
    kind: str
    #: URL, ``host:port`` or ``module:function``, per kind
    target: str
    interval: float
    timeout: float
    conditions: tuple[Condition, ...] = ()
    depends_on: tuple[str, ...] = ()
    #: consecutive failures before the probe is down (retries before "down")
    failure_threshold: int = 1
    #: consecutive successes before a down probe is up again
    success_threshold: int = 1
    query: str = "SELECT 1"
    #: numbers read from a JSON answer: metric name -> JSON path
    metrics: Mapping[str, JsonPath] = field(default_factory=dict)
    #: objective: share of successful checks, percent (burn-rate alerts)
    slo: float = 95
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the synthetic workflow, loaded at start
    function: Synthetic | None = None


@dataclass(frozen=True, kw_only=True)
class MonitorConfig:
    """Everything a monitor run needs."""

    root: Path
    probes: tuple[ProbeSpec, ...]
    interval: float = 30
    timeout: float = 10
    #: a SQLite file, or a PostgreSQL URL (``"stack"`` in the file: the watched stack's)
    history: Path | str = Path(".interlock/monitor/history.db")
    #: seconds raw samples are kept before they are folded into rollups
    raw_retention: float = 86400
    #: seconds rollups are kept
    retention: float = 30 * 86400
    #: width of a rollup bucket, seconds
    rollup: float = 60
    #: window of success rate and response time, seconds
    window: float = 300
    #: window of the error rate, seconds
    error_window: float = 60
    #: multi-window burn-rate pairs: (long window s, short window s, burn factor)
    burn_rate: tuple[tuple[float, float, float], ...] = ((3600, 300, 14.4), (21600, 1800, 6))
    thresholds: MonitorThresholds = MonitorThresholds()
    alerts: AlertSettings = AlertSettings()
    host: str = "127.0.0.1"
    port: int = 0
    #: fault control API of the watched stack, for the dashboard's list of active faults
    faults_url: str | None = None
    #: processes watched for CPU and memory: name -> pid (their children count too)
    processes: Mapping[str, int] = field(default_factory=dict)


def _number(where: str, value: Any, *, positive: bool = True, percent: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    if percent and not 0 <= value <= 100:
        raise ConfigError(f"{where} must be a percentage between 0 and 100, got {value:g}")
    if not percent and (value <= 0 if positive else value < 0):
        kind = "a positive number" if positive else "a number >= 0"
        raise ConfigError(f"{where} must be {kind}, got {value:g}")
    return float(value)


def _count(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a whole number >= 1, got {value!r}")
    return value


def _strings(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {value!r}")
    return value


def _unknown(where: str, table: Mapping[str, Any], known: set[str]) -> None:
    unknown = set(table) - known
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(known))}",
        )


def load_synthetic(reference: str, where: str) -> Synthetic:
    """Import ``module:function``; it must be ``async def f(session) -> None``."""
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{where}: function must be 'module:function', got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the user's to fix, in one line
        raise ConfigError(f"{where}: cannot import {module_name!r}: {exc}") from None
    function = getattr(module, attr, None)
    if function is None or not inspect.iscoroutinefunction(function):
        raise ConfigError(f"{where}: {reference!r} is not an async function (async def f(session))")
    return function  # type: ignore[no-any-return]


def _check_target(where: str, kind: str, target: str) -> None:
    if kind == "tcp":
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{where}: address must be 'host:port', got {target!r}")
        return
    parts = urlsplit(target)
    if parts.scheme not in _URL_SCHEMES[kind] or not parts.hostname:
        raise ConfigError(
            f"{where}: url {target!r} is not a {kind} URL",
            hint=f"scheme one of {', '.join(_URL_SCHEMES[kind])}, with a host",
        )
    try:
        parts.port  # noqa: B018  (a malformed port raises here, not at run time)
    except ValueError:
        raise ConfigError(f"{where}: url {target!r} has a malformed port") from None


def parse_probe(name: str, table: Any, *, interval: float, timeout: float) -> ProbeSpec:
    """One ``[tool.interlock.monitor.probes.NAME]`` table; raises ConfigError."""
    where = f"[tool.interlock.monitor.probes.{name}]"
    table = _table(where, table)
    _unknown(where, table, _PROBE_KEYS)
    kind = table.get("type")
    if kind not in PROBE_KINDS:
        raise ConfigError(
            f"{where}: unknown probe type {kind!r}", hint=f"one of {', '.join(PROBE_KINDS)}"
        )
    target_key = PROBE_KINDS[kind]
    target = table.get(target_key)
    if not isinstance(target, str) or not target:
        raise ConfigError(f'{where}: a {kind} probe needs {target_key} = "..."')
    function = load_synthetic(target, where) if kind == "synthetic" else None
    if kind != "synthetic":
        _check_target(where, kind, target)
    conditions = tuple(
        parse_condition(text, f"{where} conditions")
        for text in _strings(f"{where} conditions", table.get("conditions", []))
    )
    if conditions and kind not in ("http", "simulator"):
        raise ConfigError(f"{where}: conditions apply to http probes only")
    metric_paths = _table(f"{where} metrics", table.get("metrics", {}))
    if not all(isinstance(path, str) for path in metric_paths.values()):
        raise ConfigError(f"{where} metrics must map names to JSON paths ('$.field')")
    metrics = {
        metric: parse_path(path, f"{where} metrics.{metric}")
        for metric, path in metric_paths.items()
    }
    headers = _table(f"{where} headers", table.get("headers", {}))
    if not all(isinstance(v, str) for v in headers.values()):
        raise ConfigError(f"{where} headers must be a table of strings")
    query = table.get("query", "SELECT 1")
    method = table.get("method", "GET")
    if not isinstance(query, str) or not isinstance(method, str):
        raise ConfigError(f"{where} query and method must be strings")
    return ProbeSpec(
        name=name,
        kind=kind,
        target=target,
        interval=_number(f"{where} interval", table.get("interval", interval)),
        timeout=_number(f"{where} timeout", table.get("timeout", timeout)),
        conditions=conditions,
        depends_on=_strings(f"{where} depends_on", table.get("depends_on", [])),
        failure_threshold=_count(f"{where} failure_threshold", table.get("failure_threshold", 1)),
        success_threshold=_count(f"{where} success_threshold", table.get("success_threshold", 1)),
        query=query,
        metrics=metrics,
        slo=_number(f"{where} slo", table.get("slo", 95), percent=True),
        method=method.upper(),
        headers=headers,
        function=function,
    )


def parse_monitor_config(
    root: Path,
    table: Mapping[str, Any],
    *,
    default_probes: Callable[[float, float], tuple[ProbeSpec, ...]] = lambda i, t: (),
    faults_url: str | None = None,
    processes: Mapping[str, int] | None = None,
    stack_database: str | None = None,
) -> MonitorConfig:
    """Check ``table`` (``[tool.interlock.monitor]``) and build the run's configuration.

    Without probes in ``table``, ``default_probes(interval, timeout)`` supplies them (the
    watched ``interlock env up``); ``history = "stack"`` means ``stack_database``.
    Raises ConfigError for anything malformed, including a probe that depends on a probe
    that does not exist, or no probes at all.
    """
    where = "[tool.interlock.monitor]"
    _unknown(where, table, _TOP_KEYS)
    interval = _number(f"{where} interval", table.get("interval", 30))
    timeout = _number(f"{where} timeout", table.get("timeout", 10))
    probe_tables = _table(f"{where} probes", table.get("probes", {}))
    probes = tuple(
        parse_probe(name, spec, interval=interval, timeout=timeout)
        for name, spec in probe_tables.items()
    ) or default_probes(interval, timeout)
    if not probes:
        raise ConfigError(
            "nothing to monitor: no probes configured and no running 'interlock env up'",
            hint="declare [tool.interlock.monitor.probes.NAME] or start 'interlock env up'",
        )
    names = {probe.name for probe in probes}
    for probe in probes:
        for dep in probe.depends_on:
            if dep not in names or dep == probe.name:
                raise ConfigError(
                    f"[tool.interlock.monitor.probes.{probe.name}] depends_on {dep!r}, "
                    "which is not another probe",
                    hint=f"probes: {', '.join(sorted(names))}",
                )
    thresholds_table = _table(f"{where} thresholds", table.get("thresholds", {}))
    _unknown(f"{where} thresholds", thresholds_table, set(MonitorThresholds.__dataclass_fields__))
    thresholds = MonitorThresholds(
        **{
            key: _number(f"{where} thresholds.{key}", value, percent=key not in ("response_time",))
            for key, value in thresholds_table.items()
        }
    )
    alerts = _alert_settings(root, _table(f"{where} alerts", table.get("alerts", {})))
    burn = table.get("burn_rate", [[3600, 300, 14.4], [21600, 1800, 6]])
    if not isinstance(burn, list) or not all(isinstance(b, list) and len(b) == 3 for b in burn):
        raise ConfigError(f"{where} burn_rate must be a list of [long_s, short_s, factor]")
    burn_rate = tuple(
        (
            _number(f"{where} burn_rate long", long_s),
            _number(f"{where} burn_rate short", short_s),
            _number(f"{where} burn_rate factor", factor),
        )
        for long_s, short_s, factor in burn
    )
    history = table.get("history", DEFAULT_HISTORY)
    host = table.get("host", "127.0.0.1")
    port = table.get("port", 0)
    if not isinstance(history, str) or not isinstance(host, str):
        raise ConfigError(f"{where} history and host must be strings")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(f"{where} port must be a port number (0: any free one), got {port!r}")
    return MonitorConfig(
        root=root,
        probes=probes,
        interval=interval,
        timeout=timeout,
        history=history_target(root, history, stack_database),
        raw_retention=_number(f"{where} raw_retention", table.get("raw_retention", 86400)),
        retention=_number(f"{where} retention", table.get("retention", 30 * 86400)),
        rollup=_number(f"{where} rollup", table.get("rollup", 60)),
        window=_number(f"{where} window", table.get("window", 300)),
        error_window=_number(f"{where} error_window", table.get("error_window", 60)),
        burn_rate=burn_rate,
        thresholds=thresholds,
        alerts=alerts,
        host=host,
        port=port,
        faults_url=faults_url,
        processes=dict(processes or {}),
    )


def history_target(root: Path, value: str, stack_database: str | None) -> Path | str:
    """Where the history is: a database URL as is, ``"stack"`` the watched stack's
    PostgreSQL, anything else a SQLite file (relative to ``root``). Raises ConfigError."""
    if value == "stack":
        if not stack_database:
            raise ConfigError(
                "history = 'stack' needs a running 'interlock env up' with PostgreSQL"
            )
        return stack_database
    return value if is_database_url(value) else root / value


def _alert_settings(root: Path, table: dict[str, Any]) -> AlertSettings:
    where = "[tool.interlock.monitor.alerts]"
    _unknown(where, table, {"for", "remind_every", "console", "jsonl", "webhook"})
    console = table.get("console", True)
    if not isinstance(console, bool):
        raise ConfigError(f"{where} console must be true or false")
    jsonl = table.get("jsonl", ".interlock/monitor/alerts.jsonl")
    webhook = table.get("webhook")
    if jsonl is not None and not isinstance(jsonl, str):
        raise ConfigError(f"{where} jsonl must be a path")
    if webhook is not None and (
        not isinstance(webhook, str) or urlsplit(webhook).scheme not in ("http", "https")
    ):
        raise ConfigError(f"{where} webhook must be an http(s) URL, got {webhook!r}")
    remind = table.get("remind_every", 3600)
    return AlertSettings(
        for_s=_number(f"{where} for", table.get("for", 0), positive=False),
        remind_every=_number(f"{where} remind_every", remind, positive=False),
        console=console,
        jsonl=(root / jsonl) if jsonl else None,
        webhook=webhook,
    )
