"""What a fault-bearing object tells an observer: a fault began or ended, where and when.

Proxies (toxics, ``down``), service processes (stop, kill, pause, restart) and simulator
clients (fault rules) call their ``observer``, when one is set, at the moment a fault
takes effect and at the moment it is undone, so a run can draw when each was active.
An observer is called on whichever thread acted (a proxy's loop thread, the test's
thread); it must be quick and must not raise: what it raises is logged and dropped,
since a fault must act whether or not anyone watches it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, final

__all__ = ["FaultEvent", "FaultObserver", "Phase", "notify"]

log = logging.getLogger(__name__)

#: "start": the fault acts from ``time`` on; "end": it stopped acting at ``time``
Phase = Literal["start", "end"]


@final
@dataclass(frozen=True, kw_only=True)
class FaultEvent:
    """One edge of a fault's life; a start and its end share ``key``."""

    phase: Phase
    #: what kind of object acted: "proxy", "process" or "simulator"
    source: str
    #: the proxy, process or simulator it acts on, by name ("postgres", "stripe")
    target: str
    #: what the fault is, for a reader: "latency latency=300 jitter=0", "kill", "down"
    fault: str
    #: pairs a start with its end; unique among the faults open at one time on ``target``
    key: str
    #: when, in seconds since the epoch
    time: float = field(default_factory=time.time)


FaultObserver = Callable[[FaultEvent], None]


def notify(observer: FaultObserver | None, event: FaultEvent) -> None:
    """Hand ``event`` to ``observer`` (if any); an observer's error never stops a fault."""
    if observer is None:
        return
    try:
        observer(event)
    except Exception:  # the fault has acted already: losing its record must not undo that
        log.exception("fault observer failed on %s", event)
