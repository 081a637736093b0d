"""Configuration: defaults, then ``[tool.interlock]``, then environment variables."""

from __future__ import annotations

import math
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from interlock.errors import ConfigError

__all__ = [
    "Config",
    "PostgresConfig",
    "RedisConfig",
    "ServiceSpec",
    "Thresholds",
    "load_config",
    "override_thresholds",
]

#: Interlock's own variables for "use this server instead of an embedded one". A user's
#: DATABASE_URL / REDIS_URL belong to the user's app and are never read.
DATABASE_URL_ENV = "INTERLOCK_DATABASE_URL"
REDIS_URL_ENV = "INTERLOCK_REDIS_URL"

#: Environment variables that override a threshold, with the key they override.
THRESHOLD_ENV = {
    "INTEGRATION_TIMEOUT": "integration_timeout",
    "PERFORMANCE_THRESHOLD": "performance_threshold",
    "LATENCY_THRESHOLD": "latency_threshold",
    "COVERAGE_THRESHOLD": "coverage_threshold",
}

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
    *THRESHOLD_ENV.values(),
}
_SERVICE_KEYS = {"command", "health", "env", "ready_timeout", "cwd"}


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """The seed's global gates; a workflow may set stricter ones of its own."""

    #: ms a single test may take before it is failed (INTEGRATION_TIMEOUT)
    integration_timeout: float = 60000
    #: minimum success rate of a workflow, in percent (PERFORMANCE_THRESHOLD)
    performance_threshold: float = 95
    #: maximum p95 latency of a workflow, in ms (LATENCY_THRESHOLD)
    latency_threshold: float = 2000
    #: minimum line coverage, in percent (COVERAGE_THRESHOLD)
    coverage_threshold: float = 85


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """A process of the system under test: how to start it and how to know it is ready."""

    name: str
    command: tuple[str, ...]
    #: HTTP path polled for readiness (2xx = ready); None means "ready once its port accepts"
    health: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready_timeout: float = 30.0
    cwd: Path | None = None


@dataclass(frozen=True, kw_only=True)
class PostgresConfig:
    """``[tool.interlock.postgres]``: whether the stack has PostgreSQL, and which one."""

    #: start (or use) a PostgreSQL server at all
    enabled: bool = True
    #: an existing server to use instead of an embedded one (INTERLOCK_DATABASE_URL)
    url: str | None = None
    #: database created in the embedded server
    database: str = "interlock"
    #: embedded PostgreSQL version ("" = the installed one)
    version: str = ""


@dataclass(frozen=True, kw_only=True)
class RedisConfig:
    """``[tool.interlock.redis]``: whether the stack has Redis, and which one."""

    #: start (or use) a Redis server at all
    enabled: bool = True
    #: an existing server to use instead of an embedded one (INTERLOCK_REDIS_URL)
    url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything Interlock needs to know about the project it tests."""

    root: Path
    tests: Path
    artifacts: Path
    thresholds: Thresholds = Thresholds()
    postgres: PostgresConfig = PostgresConfig()
    redis: RedisConfig = RedisConfig()
    simulators: tuple[str, ...] = ()
    app: ServiceSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    #: put a fault proxy between the system under test and each dependency
    faults: bool = True
    #: per-workflow thresholds, k6 style: {"onboarding": ("p(95)<1500", "rate>=0.99")}
    slo: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: what each simulator holds from the start, and again after a reset (its seed
    #: document; strings may hold the placeholders of env, e.g. {app_url})
    seed_data: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding a pyproject.toml."""
    for candidate in (start, *start.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return start


def load_config(root: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``[tool.interlock]`` from the project's pyproject.toml and apply the environment."""
    env = os.environ if environ is None else environ
    root = find_project_root((root or Path.cwd()).resolve())
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
        raw = data.get("tool", {}).get("interlock", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{pyproject}: [tool.interlock] must be a table")
        table = raw
    return _build(root, table, env)


def _build(root: Path, table: dict[str, Any], env: Mapping[str, str]) -> Config:
    unknown = set(table) - _TOP_KEYS
    if unknown:
        raise ConfigError(
            f"[tool.interlock] has unknown key(s) {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(_TOP_KEYS))}",
        )
    thresholds = _checked(
        Thresholds(
            **{
                key: _number(f"[tool.interlock] {key}", table[key])
                for key in THRESHOLD_ENV.values()
                if key in table
            }
        ),
        "[tool.interlock]",
    )
    for var, key in THRESHOLD_ENV.items():
        if env.get(var):
            thresholds = _checked(
                replace(thresholds, **{key: _number(f"${var}", env[var])}), f"${var}"
            )

    postgres = _table(table, "postgres")
    redis = _table(table, "redis")
    simulators = table.get("simulators", [])
    if not isinstance(simulators, list) or not all(isinstance(s, str) for s in simulators):
        raise ConfigError("[tool.interlock] simulators must be a list of service names")

    shared = table.get("env", {})
    if not isinstance(shared, dict) or not all(isinstance(v, str) for v in shared.values()):
        raise ConfigError("[tool.interlock.env] must be a table of strings")
    app = _service("app", table["app"], root, shared) if "app" in table else None
    services = tuple(
        _service(name, spec, root, shared) for name, spec in _table(table, "services").items()
    )
    slo: dict[str, tuple[str, ...]] = {}
    for name, rules in _table(table, "slo").items():
        if isinstance(rules, str):
            rules = [rules]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ConfigError(f"[tool.interlock.slo] {name} must be a threshold or a list of them")
        slo[name] = tuple(rules)

    seed_data = _table(table, "seed_data")
    for name, data in seed_data.items():
        if name not in simulators:
            raise ConfigError(
                f"[tool.interlock.seed_data.{name}] is for a simulator not in "
                f"[tool.interlock] simulators ({', '.join(simulators) or 'none'})"
            )
        if not isinstance(data, dict):
            raise ConfigError(f"[tool.interlock.seed_data.{name}] must be a table")

    return Config(
        root=root,
        tests=root / _str(table, "tests", "tests/integration"),
        artifacts=root
        / env.get("INTERLOCK_ARTIFACTS", _str(table, "artifacts", ".interlock/runs")),
        thresholds=thresholds,
        postgres=PostgresConfig(
            enabled=_bool("[tool.interlock.postgres] enabled", postgres.get("enabled", True)),
            url=env.get(DATABASE_URL_ENV) or postgres.get("url") or None,
            database=str(postgres.get("database", "interlock")),
            version=str(postgres.get("version", "")),
        ),
        redis=RedisConfig(
            enabled=_bool("[tool.interlock.redis] enabled", redis.get("enabled", True)),
            url=env.get(REDIS_URL_ENV) or redis.get("url") or None,
        ),
        simulators=tuple(simulators),
        faults=_bool("[tool.interlock] faults", table.get("faults", True)),
        app=app,
        services=services,
        slo=slo,
        seed_data=seed_data,
    )


def override_thresholds(config: Config, source: str, **values: object) -> Config:
    """``config`` with thresholds replaced, validated as the file and environment are.

    ``values`` maps Thresholds field names to numbers (or numeric strings); ``source``
    names where they came from in errors (e.g. ``"--latency-threshold"``).
    Raises ConfigError for a non-number, a percentage outside 0-100 or a time <= 0.
    """
    unknown = set(values) - set(THRESHOLD_ENV.values())
    if unknown:
        raise ConfigError(f"{source}: unknown threshold(s) {', '.join(sorted(unknown))}")
    numbers = {key: _number(f"{source} {key}", value) for key, value in values.items()}
    return replace(config, thresholds=_checked(replace(config.thresholds, **numbers), source))


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


def _service(name: str, spec: Any, root: Path, shared: dict[str, str]) -> ServiceSpec:
    where = f"[tool.interlock.{'app' if name == 'app' else 'services.' + name}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(spec) - _SERVICE_KEYS
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(_SERVICE_KEYS))}",
        )
    command = spec.get("command")
    if isinstance(command, str):
        command = command.split()
    if not command or not all(isinstance(part, str) for part in command):
        raise ConfigError(f"{where} command must be a non-empty list of strings")
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError(f"{where} env must be a table of strings")
    health = spec.get("health")
    if health is not None and (not isinstance(health, str) or not health.startswith("/")):
        raise ConfigError(f"{where} health must be an HTTP path starting with '/', got {health!r}")
    cwd = spec.get("cwd")
    return ServiceSpec(
        name=name,
        command=tuple(command),
        health=health,
        env={**shared, **env},
        ready_timeout=_number(f"{where} ready_timeout", spec.get("ready_timeout", 30)),
        cwd=(root / cwd) if isinstance(cwd, str) else root,
    )


def _table(table: dict[str, Any], key: str) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[tool.interlock] {key} must be a table")
    return value


def _str(table: dict[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"[tool.interlock] {key} must be a string, got {value!r}")
    return value


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _number(where: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return number


def python_executable() -> str:
    return sys.executable
