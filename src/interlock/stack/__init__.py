"""Real dependencies and the system under test, as local processes."""

from __future__ import annotations

from interlock.stack.process import ManagedProcess, wait_until
from interlock.stack.stack import Stack

__all__ = ["ManagedProcess", "Stack", "wait_until"]
