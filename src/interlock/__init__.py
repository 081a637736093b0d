"""Interlock: integration testing for cross-system workflows.

The pieces most users touch are the pytest plugin's fixtures (see the README); these
are the same objects for use outside pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # the stack (and the process library under it) loads only when asked for: commands
    # that never start a process, and `import interlock` itself, stay light
    if name == "Stack":
        from interlock.stack import Stack

        return Stack
    raise AttributeError(f"module 'interlock' has no attribute {name!r}")
