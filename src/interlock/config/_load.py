"""Loading: defaults, then ``[tool.interlock]``, then the environment, validated in one place.

The command line's threshold options go through ``override_thresholds``, which applies
the same checks. Every error is a one-line ConfigError naming where the value came from.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from interlock.config._checks import (
    as_bool,
    as_int_at_least,
    as_number,
    as_positive,
    as_str,
    as_str_list,
    as_str_table,
    as_table,
    as_unique_str_list,
    as_url,
    known_keys,
)
from interlock.config._model import (
    DEFAULT_SUITES,
    Config,
    PostgresConfig,
    RedisConfig,
    ServiceSpec,
    Suite,
    Thresholds,
)
from interlock.config._placeholders import check_placeholders
from interlock.errors import ConfigError

__all__ = [
    "DATABASE_URL_ENV",
    "REDIS_URL_ENV",
    "THRESHOLD_ENV",
    "find_project_root",
    "load_config",
    "override_thresholds",
    "python_executable",
]

#: Interlock's own variables for "use this server instead of an embedded one". A user's
#: DATABASE_URL / REDIS_URL belong to the user's app and are never read.
DATABASE_URL_ENV = "INTERLOCK_DATABASE_URL"
REDIS_URL_ENV = "INTERLOCK_REDIS_URL"
ARTIFACTS_ENV = "INTERLOCK_ARTIFACTS"

#: Environment variables that override a threshold, with the key they override.
THRESHOLD_ENV = {
    "INTEGRATION_TIMEOUT": "integration_timeout",
    "PERFORMANCE_THRESHOLD": "performance_threshold",
    "LATENCY_THRESHOLD": "latency_threshold",
    "COVERAGE_THRESHOLD": "coverage_threshold",
}

_TOP = "[tool.interlock]"
_TOP_KEYS = {
    "env",
    "seed_data",
    "faults",
    "tests",
    "artifacts",
    "simulators",
    "postgres",
    "redis",
    "app",
    "services",
    "slo",
    "impact",
    "suites",
    "load",
    "monitor",
    "report",
    "security",
    *THRESHOLD_ENV.values(),
}
_SERVICE_KEYS = {"command", "health", "env", "ready_timeout", "cwd"}
#: the app alone may run as several replicas behind a balancing front
_APP_KEYS = {*_SERVICE_KEYS, "replicas", "health_interval"}
_POSTGRES_KEYS = {"enabled", "url", "database", "version", "settings"}
_REDIS_KEYS = {"enabled", "url"}
_SUITE_KEYS = {"marker", "paths", "description", "fuzz_examples"}
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
# a suite name is typed on the command line: it must not look like an option or a path
_SUITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding a pyproject.toml."""
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return start


def load_config(root: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``[tool.interlock]`` from the project's pyproject.toml and apply the environment.

    ``root`` defaults to the current directory; the nearest pyproject.toml at or above it
    is read. ``environ`` defaults to ``os.environ``. A project without ``[tool.interlock]``
    gets the defaults and ``Config.source`` None. Raises ConfigError (one line) for
    invalid TOML, an unknown key (with the nearest known one) or a bad value.
    """
    env = os.environ if environ is None else environ
    root = find_project_root((root or Path.cwd()).resolve())
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    source: Path | None = None
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        tool = data.get("tool", {})
        if isinstance(tool, dict) and "interlock" in tool:
            table = as_table(_TOP, tool["interlock"])
            source = pyproject
    return _build(root, source, table, env)


def override_thresholds(config: Config, source: str, **values: object) -> Config:
    """``config`` with thresholds replaced, validated as the file and environment are.

    ``values`` maps Thresholds field names to numbers (or numeric strings); ``source``
    names where they came from in errors (e.g. ``"--latency-threshold"``).
    Raises ConfigError for a non-number, a percentage outside 0-100 or a time <= 0.
    """
    unknown = set(values) - set(THRESHOLD_ENV.values())
    if unknown:
        raise ConfigError(f"{source}: unknown threshold(s) {', '.join(sorted(unknown))}")
    numbers = {key: as_number(f"{source} {key}", value) for key, value in values.items()}
    return replace(config, thresholds=_checked(replace(config.thresholds, **numbers), source))


def python_executable() -> str:
    return sys.executable


# -- the sections ----------------------------------------------------------------------
def _build(
    root: Path, source: Path | None, table: dict[str, Any], env: Mapping[str, str]
) -> Config:
    known_keys(_TOP, table, _TOP_KEYS)
    simulators = as_unique_str_list(f"{_TOP} simulators", table.get("simulators", []))
    shared = as_str_table("[tool.interlock.env]", table.get("env", {}))
    artifacts = as_str(f"{_TOP} artifacts", table.get("artifacts", ".interlock/runs"))
    if env.get(ARTIFACTS_ENV):
        artifacts = as_str(f"${ARTIFACTS_ENV}", env[ARTIFACTS_ENV])
    config = Config(
        root=root,
        source=source,
        tests=root / as_str(f"{_TOP} tests", table.get("tests", "tests/integration")),
        artifacts=root / artifacts,
        thresholds=_thresholds(table, env),
        postgres=_postgres(table.get("postgres", True), env),
        redis=_redis(table.get("redis", True), env),
        simulators=simulators,
        faults=as_bool(f"{_TOP} faults", table.get("faults", True)),
        app=_service("app", table["app"], root, shared) if "app" in table else None,
        services=tuple(
            _service(name, spec, root, shared)
            for name, spec in as_table(
                "[tool.interlock.services]", table.get("services", {})
            ).items()
        ),
        slo=_slo(table.get("slo", {})),
        impact=_impact(table.get("impact", {})),
        seed_data=_seed_data(table.get("seed_data", {}), simulators),
        suites=_suites(table.get("suites", {}), root),
        load=as_table("[tool.interlock.load]", table.get("load", {})),
        monitor=as_table("[tool.interlock.monitor]", table.get("monitor", {})),
        report=as_table("[tool.interlock.report]", table.get("report", {})),
        security=_security(table.get("security", {})),
    )
    check_placeholders(config)
    return config


def _thresholds(table: dict[str, Any], env: Mapping[str, str]) -> Thresholds:
    thresholds = _checked(
        Thresholds(
            **{
                key: as_number(f"{_TOP} {key}", table[key])
                for key in THRESHOLD_ENV.values()
                if key in table
            }
        ),
        _TOP,
    )
    for var, key in THRESHOLD_ENV.items():
        if env.get(var):
            thresholds = _checked(
                replace(thresholds, **{key: as_number(f"${var}", env[var])}), f"${var}"
            )
    return thresholds


def _checked(thresholds: Thresholds, source: str) -> Thresholds:
    for key in ("performance_threshold", "coverage_threshold"):
        value = getattr(thresholds, key)
        if not 0 <= value <= 100:
            raise ConfigError(
                f"{source}: {key} must be a percentage between 0 and 100, got {value:g}"
            )
    for key in ("latency_threshold", "integration_timeout"):
        value = getattr(thresholds, key)
        if not value > 0:
            raise ConfigError(f"{source}: {key} must be a positive number of ms, got {value:g}")
    return thresholds


def _dependency(name: str, value: Any, keys: set[str]) -> dict[str, Any]:
    """``name = false`` / ``name = true`` shorthands, or the section's table."""
    if isinstance(value, bool):
        return {"enabled": value}
    where = f"[tool.interlock.{name}]"
    if not isinstance(value, dict):
        raise ConfigError(f"{_TOP} {name} must be true, false or a table, got {value!r}")
    known_keys(where, value, keys)
    return value


def _server_url(
    section: dict[str, Any], name: str, env: Mapping[str, str], var: str, schemes: tuple[str, ...]
) -> str | None:
    if env.get(var):
        return as_url(f"${var}", env[var], schemes)
    if "url" in section:
        return as_url(f"[tool.interlock.{name}] url", section["url"], schemes)
    return None


def _postgres(value: Any, env: Mapping[str, str]) -> PostgresConfig:
    section = _dependency("postgres", value, _POSTGRES_KEYS)
    where = "[tool.interlock.postgres]"
    return PostgresConfig(
        enabled=as_bool(f"{where} enabled", section.get("enabled", True)),
        url=_server_url(section, "postgres", env, DATABASE_URL_ENV, _POSTGRES_SCHEMES),
        database=as_str(f"{where} database", section.get("database", "interlock")),
        version=as_str(f"{where} version", section.get("version", ""), empty=True),
        settings=_server_settings(f"{where} settings", section.get("settings", {})),
    )


#: what Interlock itself sets to run and reach the embedded server
_MANAGED_SETTINGS = frozenset(
    {
        "port",
        "listen_addresses",
        "unix_socket_directories",
        "data_directory",
        "config_file",
        "hba_file",
        "ident_file",
    }
)


def _server_settings(where: str, value: Any) -> dict[str, str]:
    """PostgreSQL settings as the server takes them: a bool is on/off, a number its digits."""
    settings: dict[str, str] = {}
    for name, item in as_table(where, value).items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?", name):
            raise ConfigError(f"{where}: {name!r} is not a PostgreSQL setting name")
        if name in _MANAGED_SETTINGS:
            raise ConfigError(f"{where}: {name} is set by Interlock and cannot be changed")
        if isinstance(item, bool):
            settings[name] = "on" if item else "off"
        elif isinstance(item, int | float | str) and "\0" not in str(item):
            settings[name] = str(item)
        else:
            raise ConfigError(f"{where} {name} must be a string, number or boolean, got {item!r}")
    return settings


def _redis(value: Any, env: Mapping[str, str]) -> RedisConfig:
    section = _dependency("redis", value, _REDIS_KEYS)
    return RedisConfig(
        enabled=as_bool("[tool.interlock.redis] enabled", section.get("enabled", True)),
        url=_server_url(section, "redis", env, REDIS_URL_ENV, _REDIS_SCHEMES),
    )


def _service(name: str, spec: Any, root: Path, shared: dict[str, str]) -> ServiceSpec:
    where = f"[tool.interlock.{'app' if name == 'app' else 'services.' + name}]"
    spec = as_table(where, spec)
    known_keys(where, spec, _APP_KEYS if name == "app" else _SERVICE_KEYS)
    command = spec.get("command")
    if isinstance(command, str):
        command = command.split()
    if not command or not all(isinstance(part, str) for part in command):
        raise ConfigError(f"{where} command must be a non-empty list of strings")
    env = as_str_table(f"{where} env", spec.get("env", {}))
    health = spec.get("health")
    if health is not None and (not isinstance(health, str) or not health.startswith("/")):
        raise ConfigError(f"{where} health must be an HTTP path starting with '/', got {health!r}")
    cwd = spec.get("cwd")
    return ServiceSpec(
        name=name,
        command=tuple(command),
        health=health,
        env={**shared, **env},
        ready_timeout=as_positive(
            f"{where} ready_timeout", spec.get("ready_timeout", 30), "seconds"
        ),
        cwd=root / as_str(f"{where} cwd", cwd) if cwd is not None else root,
        replicas=as_int_at_least(f"{where} replicas", spec.get("replicas", 1), 1),
        health_interval=as_positive(
            f"{where} health_interval", spec.get("health_interval", 0.5), "seconds"
        ),
    )


def _slo(value: Any) -> dict[str, tuple[str, ...]]:
    # deferred: the SLO package is needed only when a project declares thresholds
    from interlock.slo.thresholds import parse_threshold

    slo: dict[str, tuple[str, ...]] = {}
    for name, rules in as_table("[tool.interlock.slo]", value).items():
        where = f"[tool.interlock.slo] {name}"
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ConfigError(f"{where} must be a threshold or a list of them, got {rules!r}")
        for rule in rules:
            try:
                parse_threshold(rule)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
        slo[name] = tuple(rules)
    return slo


def _impact(value: Any) -> dict[str, str]:
    # deferred, as for the SLOs: only a project that weighs its workflows needs it
    from interlock.report.impact import parse_weight

    impact = as_table("[tool.interlock.impact]", value)
    for name, weight in impact.items():
        parse_weight(f"[tool.interlock.impact] {name}", weight)
    return impact


def _seed_data(value: Any, simulators: tuple[str, ...]) -> dict[str, Any]:
    seed_data = as_table("[tool.interlock.seed_data]", value)
    for name, data in seed_data.items():
        if name not in simulators:
            raise ConfigError(
                f"[tool.interlock.seed_data.{name}] is for a simulator not in "
                f"[tool.interlock] simulators ({', '.join(simulators) or 'none'})"
            )
        as_table(f"[tool.interlock.seed_data.{name}]", data)
        _seed_keys(name, data)
    return seed_data


def _seed_keys(name: str, data: dict[str, Any]) -> None:
    """The keys the simulator takes, checked now (not when it starts), with a suggestion."""
    from interlock.simulators import load_simulator  # only a project with seed data pays

    where = f"[tool.interlock.seed_data.{name}]"
    try:
        keys = load_simulator(name).seed_keys
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
    if data and not keys:
        raise ConfigError(f"{where}: the {name} simulator takes no seed data")
    known_keys(where, data, keys)


def _suites(value: Any, root: Path) -> dict[str, Suite]:
    """The seed's five, then the project's: a marker expression, a list of paths, or a table."""
    suites = dict(DEFAULT_SUITES)
    for name, spec in as_table("[tool.interlock.suites]", value).items():
        where = f"[tool.interlock.suites] {name}"
        if not _SUITE_NAME.match(name):
            raise ConfigError(
                f"{where}: a suite name is letters, digits, '_', '.' and '-', "
                "starting with a letter or digit"
            )
        if isinstance(spec, str):
            spec = {"marker": spec}
        elif isinstance(spec, list):
            spec = {"paths": spec}
        elif isinstance(spec, dict):
            known_keys(f"[tool.interlock.suites.{name}]", spec, _SUITE_KEYS)
        else:
            raise ConfigError(
                f"{where} must be a marker expression, a list of paths or a table, got {spec!r}"
            )
        paths = as_str_list(f"{where} paths", spec.get("paths", []))
        marker = as_str(f"{where} marker", spec.get("marker", ""), empty=True).strip()
        fuzz = spec.get("fuzz_examples")
        if fuzz is not None and (isinstance(fuzz, bool) or not isinstance(fuzz, int) or fuzz < 1):
            raise ConfigError(f"{where} fuzz_examples must be a whole number of 1 or more")
        suites[name] = Suite(
            name=name,
            marker=marker,
            paths=tuple(root / path for path in paths),
            description=as_str(
                f"{where} description",
                spec.get("description", _describe(marker, paths)),
                empty=True,
            ),
            fuzz_examples=fuzz,
        )
    return suites


def _describe(marker: str, paths: tuple[str, ...]) -> str:
    parts = ([f"-m {marker!r}"] if marker else []) + list(paths)
    return " ".join(parts) or "every test"


def _security(value: Any) -> dict[str, Any]:
    section = as_table("[tool.interlock.security]", value)
    if not section:
        return section
    # deferred, as for the SLO: checked here so that a mistake stops a run before it starts
    from interlock.security import parse_authz, parse_security

    parse_security(section)
    if "authz" in section:
        parse_authz(section)
    return section
