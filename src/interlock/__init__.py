"""Interlock: integration testing for cross-system workflows.

The pieces most users touch are the pytest plugin's fixtures (see the README); these
are the same objects for use outside pytest.
"""

from __future__ import annotations

from interlock.config import (
    Config,
    PostgresConfig,
    RedisConfig,
    ServiceSpec,
    Suite,
    Thresholds,
    load_config,
)
from interlock.errors import (
    ConfigError,
    DependencyError,
    InterlockError,
    ServiceStartError,
    UsageError,
)
from interlock.stack import Stack

__all__ = [
    "Config",
    "ConfigError",
    "DependencyError",
    "InterlockError",
    "PostgresConfig",
    "RedisConfig",
    "ServiceSpec",
    "ServiceStartError",
    "Stack",
    "Suite",
    "Thresholds",
    "UsageError",
    "load_config",
]
__version__ = "0.1.0"
