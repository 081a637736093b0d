"""Configuration: defaults, then ``[tool.interlock]``, then environment variables.

Sections of ``[tool.interlock]``: thresholds (top level), ``postgres`` and ``redis``
(or ``postgres = false``), ``simulators`` and ``seed_data``, ``app`` and ``services``,
``env``, ``slo``, ``suites``, and ``load``, ``monitor``, ``report`` for those features.
An unknown key, at any level, is an error that names the nearest known one.
"""

from __future__ import annotations

from interlock.config._load import (
    DATABASE_URL_ENV,
    REDIS_URL_ENV,
    THRESHOLD_ENV,
    find_project_root,
    load_config,
    override_thresholds,
    python_executable,
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

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_SUITES",
    "REDIS_URL_ENV",
    "THRESHOLD_ENV",
    "Config",
    "PostgresConfig",
    "RedisConfig",
    "ServiceSpec",
    "Suite",
    "Thresholds",
    "find_project_root",
    "load_config",
    "override_thresholds",
    "python_executable",
]
