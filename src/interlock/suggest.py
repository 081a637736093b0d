"""The hint a mistyped name gets: the nearest known one, else the known ones.

Every "unknown X" error of Interlock (configuration keys, placeholders, fault kinds,
toxic types, simulator operations, load steps, impact weights) words it the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean", "nearest"]


def nearest(given: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``given`` (difflib's ratio >= 0.6), or None."""
    close = difflib.get_close_matches(given, list(known), n=1)
    return close[0] if close else None


def did_you_mean(given: str, known: Iterable[str], *, listing: str = "known:") -> str:
    """``"did you mean 'x'?"``, or ``"<listing> a, b, c"`` when nothing is close."""
    choices = list(known)
    close = nearest(given, choices)
    if close is not None:
        return f"did you mean {close!r}?"
    return f"{listing} {', '.join(choices) or 'none'}"
