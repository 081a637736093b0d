"""Alert lifecycle: pending -> firing (-> reminders) -> resolved, or suppressed, or stopped.

The runner hands ``evaluate`` every condition that holds right now (``Breach``); the
engine turns that into at most one notice per change (de-duplication):

- a breach that holds for ``for_s`` seconds fires once; while it keeps holding, a reminder
  goes out every ``remind_every`` seconds; when it stops holding, a resolve notice;
- a breach of a probe that depends (directly or not) on a probe that is down, or a
  window breach of a probe that is itself down, is *suppressed*: recorded, not sent. A
  dependent's breach waits for a verdict of its dependencies newer than itself, so the
  order in which checks finish cannot let the dependent's alert out first;
- ``stop`` ends every open alert as "monitor stopped".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, final

__all__ = ["Alert", "AlertEngine", "AlertEvent", "Breach"]

State = Literal["pending", "suppressed", "firing", "resolved", "stopped"]
Kind = Literal["firing", "reminder", "resolved", "stopped"]


@dataclass(frozen=True, slots=True)
class Breach:
    """A rule that is broken now: ``rule`` on ``subject`` (a probe name or ``host``)."""

    rule: str
    subject: str
    message: str

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.subject}"


@dataclass(slots=True)
class Alert:
    """One alert from first breach to its end."""

    key: str
    rule: str
    subject: str
    message: str
    since: float
    state: State = "pending"
    fired_at: float | None = None
    notified_at: float | None = None
    ended_at: float | None = None
    #: why it is suppressed or how it ended
    reason: str = ""
    id: int = 0
    #: left suppression: fire only on a check of the subject made after that
    recheck: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "rule": self.rule,
            "subject": self.subject,
            "message": self.message,
            "since": self.since,
            "state": self.state,
            "fired_at": self.fired_at,
            "ended_at": self.ended_at,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A notice for the notifiers: ``kind`` and a snapshot of the alert."""

    kind: Kind
    alert: Alert
    at: float


@dataclass(frozen=True, kw_only=True)
class ProbeView:
    """What the engine needs to know of each probe."""

    down: bool
    #: Unix s of the last finished check (0: none yet)
    checked_at: float
    depends_on: tuple[str, ...] = ()


@final
@dataclass
class AlertEngine:
    """Holds open alerts; ``evaluate`` and ``stop`` return the notices to send."""

    for_s: float = 0
    remind_every: float = 3600
    open: dict[str, Alert] = field(default_factory=dict)
    #: ended alerts, newest last (kept for the dashboard)
    ended: list[Alert] = field(default_factory=list)

    def evaluate(
        self, now: float, breaches: Iterable[Breach], probes: Mapping[str, ProbeView]
    ) -> tuple[list[AlertEvent], list[Alert]]:
        """Apply the breaches holding at ``now``; returns (notices, alerts that changed)."""
        events: list[AlertEvent] = []
        changed: list[Alert] = []
        current = {breach.key: breach for breach in breaches}
        for key in list(self.open):
            if key not in current:
                alert = self.open.pop(key)
                was_firing = alert.state == "firing"
                alert.reason = "resolved" if was_firing else f"cleared while {alert.state}"
                alert.state, alert.ended_at = "resolved", now
                self._keep(alert)
                changed.append(alert)
                if was_firing:
                    events.append(AlertEvent("resolved", replace(alert), now))
        for key, breach in current.items():
            if key not in self.open:
                self.open[key] = Alert(key, breach.rule, breach.subject, breach.message, now)
                changed.append(self.open[key])
            alert = self.open[key]
            before = (alert.state, alert.reason, alert.message)
            alert.message = breach.message
            blocked, why = _blocked(alert, probes)
            if alert.state == "firing":
                due = self.remind_every > 0 and now - (alert.notified_at or now) >= (
                    self.remind_every
                )
                if due:
                    alert.notified_at = now
                    events.append(AlertEvent("reminder", replace(alert), now))
            elif blocked:
                alert.state, alert.reason = ("suppressed" if why else "pending"), why
            elif alert.state == "suppressed":
                # what held during the dependency's outage says nothing about now
                alert.state, alert.reason, alert.since, alert.recheck = "pending", "", now, True
            elif alert.recheck and _checked_at(alert.subject, probes) < alert.since:
                pass
            elif now - alert.since >= self.for_s:
                alert.state, alert.reason = "firing", ""
                alert.fired_at = alert.notified_at = now
                events.append(AlertEvent("firing", replace(alert), now))
            else:
                alert.state, alert.reason = "pending", ""
            if (alert.state, alert.reason, alert.message) != before and alert not in changed:
                changed.append(alert)
        return events, changed

    def stop(self, now: float) -> tuple[list[AlertEvent], list[Alert]]:
        """End every open alert as stopped with the monitor."""
        events = []
        stopped = list(self.open.values())
        for alert in stopped:
            was_firing = alert.state == "firing"
            alert.state, alert.ended_at, alert.reason = "stopped", now, "monitor stopped"
            self._keep(alert)
            if was_firing:
                events.append(AlertEvent("stopped", replace(alert), now))
        self.open.clear()
        return events, stopped

    def _keep(self, alert: Alert) -> None:
        self.ended.append(alert)
        del self.ended[:-50]


def _checked_at(name: str, probes: Mapping[str, ProbeView]) -> float:
    view = probes.get(name)
    return view.checked_at if view is not None else float("inf")


def _ancestors(name: str, probes: Mapping[str, ProbeView]) -> list[str]:
    """Every probe ``name`` depends on, directly or not (cycles tolerated)."""
    seen: list[str] = []
    todo = list(probes[name].depends_on) if name in probes else []
    while todo:
        dep = todo.pop()
        if dep not in seen and dep in probes:
            seen.append(dep)
            todo.extend(probes[dep].depends_on)
    return seen


def _blocked(alert: Alert, probes: Mapping[str, ProbeView]) -> tuple[bool, str]:
    """(must not fire now, why: a suppression reason, or "" while waiting for a verdict)."""
    subject = probes.get(alert.subject)
    if subject is None:
        return False, ""
    if alert.rule != "down" and subject.down:
        return True, f"{alert.subject} is down"
    ancestors = _ancestors(alert.subject, probes)
    for dep in ancestors:
        if probes[dep].down:
            return True, f"depends on {dep}, which is down"
    for dep in ancestors:
        if probes[dep].checked_at < alert.since:
            return True, ""
    return False, ""
