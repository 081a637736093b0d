"""What a security check says when the system under test fails it."""

from __future__ import annotations

__all__ = ["CheckFailed"]


class CheckFailed(AssertionError):
    """The system under test failed a security check; the message (one line) says what
    was sent and what came back. An AssertionError, so that pytest reports the check as
    a failed test with that line."""
