"""Real dependencies and the system under test, as local processes."""

from __future__ import annotations

from interlock.stack.process import ManagedProcess, ProcessStateError, wait_until
from interlock.stack.redaction import redact
from interlock.stack.stack import Stack, StackState, StackStateError

__all__ = [
    "ManagedProcess",
    "ProcessStateError",
    "Stack",
    "StackState",
    "StackStateError",
    "redact",
    "wait_until",
]
