"""The typed configuration: what ``[tool.interlock]`` and its overrides become once valid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, final

__all__ = [
    "DEFAULT_SUITES",
    "Config",
    "PostgresConfig",
    "RedisConfig",
    "ServiceSpec",
    "Suite",
    "Thresholds",
]


@final
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


@final
@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """A process of the system under test: how to start it and how to know it is ready."""

    name: str
    command: tuple[str, ...]
    #: HTTP path polled for readiness (2xx = ready); None means "ready once its port accepts"
    health: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    #: seconds it may take to become ready; always > 0
    ready_timeout: float = 30.0
    cwd: Path | None = None
    #: processes of it behind a balancing front on its port (the app only; always >= 1)
    replicas: int = 1
    #: seconds between the front's health checks of each replica (replicas > 1); > 0
    health_interval: float = 0.5


@final
@dataclass(frozen=True, kw_only=True)
class PostgresConfig:
    """``[tool.interlock.postgres]`` (or ``postgres = false``): whether and which PostgreSQL."""

    #: start (or use) a PostgreSQL server at all
    enabled: bool = True
    #: an existing server to use instead of an embedded one (INTERLOCK_DATABASE_URL)
    url: str | None = None
    #: database created in the embedded server
    database: str = "interlock"
    #: embedded PostgreSQL version ("" = the installed one)
    version: str = ""
    #: server settings of the embedded server (``-c name=value``), e.g.
    #: ``{"shared_preload_libraries": "pg_stat_statements"}``; an existing server keeps its own
    settings: Mapping[str, str] = field(default_factory=dict)


@final
@dataclass(frozen=True, kw_only=True)
class RedisConfig:
    """``[tool.interlock.redis]`` (or ``redis = false``): whether and which Redis."""

    #: start (or use) a Redis server at all
    enabled: bool = True
    #: an existing server to use instead of an embedded one (INTERLOCK_REDIS_URL)
    url: str | None = None


@final
@dataclass(frozen=True, kw_only=True)
class Suite:
    """A named selection of tests that ``interlock run NAME`` runs."""

    name: str
    #: pytest marker expression (``-m``); "" selects every test
    marker: str = ""
    #: where its tests are, absolute; empty means the configured ``tests`` folder
    paths: tuple[Path, ...] = ()
    #: one line for ``interlock run --help``
    description: str = ""
    #: examples per operation of API fuzzing (``$INTERLOCK_FUZZ_EXAMPLES``) when it runs;
    #: None leaves the tests' own default (``--fuzz-examples`` overrides either)
    fuzz_examples: int | None = None


#: The seed's five suites; ``[tool.interlock.suites]`` adds to them or replaces one by name.
DEFAULT_SUITES: Mapping[str, Suite] = MappingProxyType(
    {
        "comprehensive": Suite(name="comprehensive", description="every test"),
        "workflow": Suite(
            name="workflow", marker="workflow", description="cross-system coordination workflows"
        ),
        "business": Suite(
            name="business", marker="business", description="revenue-critical business workflows"
        ),
        "external": Suite(
            name="external", marker="external", description="external services (simulated APIs)"
        ),
        "performance": Suite(
            name="performance", marker="performance", description="performance, load and SLOs"
        ),
    }
)


@final
@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything Interlock needs to know about the project it tests."""

    root: Path
    tests: Path
    artifacts: Path
    #: the pyproject.toml whose ``[tool.interlock]`` was read; None when the project has none
    source: Path | None = None
    thresholds: Thresholds = Thresholds()
    postgres: PostgresConfig = PostgresConfig()
    redis: RedisConfig = RedisConfig()
    simulators: tuple[str, ...] = ()
    app: ServiceSpec | None = None
    services: tuple[ServiceSpec, ...] = ()
    #: put a fault proxy between the system under test and each dependency
    faults: bool = True
    #: per-workflow thresholds, k6 style: {"onboarding": ("p(95)<1500", "rate>=0.99")};
    #: every one already parsed once at load, so a bad one never reaches a run
    slo: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``[tool.interlock.impact]``: workflow -> what an hour of it is worth, as written
    #: ("1200 USD/h"); every one already parsed once at load
    impact: Mapping[str, str] = field(default_factory=dict)
    #: what each simulator holds from the start, and again after a reset (its seed
    #: document; strings may hold the placeholders of env, e.g. {app_url})
    seed_data: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: suite name -> Suite: the seed's five plus the project's own
    suites: Mapping[str, Suite] = field(default_factory=lambda: dict(DEFAULT_SUITES))
    #: ``[tool.interlock.load]``, ``.monitor`` and ``.report``: tables kept as written for
    #: the features that read them (each validates its own keys)
    load: Mapping[str, Any] = field(default_factory=dict)
    monitor: Mapping[str, Any] = field(default_factory=dict)
    report: Mapping[str, Any] = field(default_factory=dict)
    #: ``[tool.interlock.security]``: the project's auth, read by :mod:`interlock.security`
    security: Mapping[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)
