"""Interlock's exception tree: every error a user can act on derives from InterlockError.

    InterlockError
    ├── ConfigError          a malformed or unknown configuration value
    ├── UsageError           a bad command line (unknown suite, bad option)
    └── DependencyError      a dependency cannot be found, started or reached
        └── ServiceStartError  a process started but never became ready

Each carries a one-line message that says what is wrong and how to fix it; the CLI
prints ``str(error)`` and exits 2, never a traceback.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DependencyError", "InterlockError", "ServiceStartError", "UsageError"]


class InterlockError(Exception):
    """Root of every error Interlock raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(InterlockError):
    """A configuration value is missing, malformed or unknown."""


class UsageError(InterlockError):
    """The command line asks for something that does not exist."""


class DependencyError(InterlockError):
    """A dependency (binary, server, URL) cannot be found, started or reached."""


class ServiceStartError(DependencyError):
    """A service process started but did not become ready in time."""

    def __init__(self, message: str, *, hint: str | None = None, log_tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail
