"""Drive a running simulator from a test: its journal, state, seed data and faults."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, final

import httpx

from interlock.errors import ConfigError
from interlock.faults.applied import Applied
from interlock.faults.events import FaultEvent, FaultObserver, Phase, notify
from interlock.lifecycle import Lifecycle
from interlock.simulators.base import CONTROL_PREFIX
from interlock.simulators.faults import FAULT_KINDS, FaultRule
from interlock.suggest import did_you_mean
from interlock.tls import shared_tls

__all__ = ["SimulatorClient", "check_fault"]

#: what a test may set on a fault rule (the rest is the simulator's bookkeeping)
_FAULT_OPTIONS = tuple(
    f.name for f in dataclasses.fields(FaultRule) if f.name not in ("id", "hits")
)


def _nearest(given: str, known: Iterable[str], what: str) -> str:
    return did_you_mean(given, known, listing=f"{what}:")


def check_fault(simulator: str, kind: str, options: dict[str, Any]) -> None:
    """Refuse, before any call, a fault rule the simulator would refuse: an unknown kind or
    option (naming the nearest known one) or a bad value. Raises ConfigError (one line),
    the error an unknown proxy toxic raises too."""
    if kind not in FAULT_KINDS:
        raise ConfigError(
            f"unknown fault kind {kind!r} for simulator {simulator!r}",
            hint=_nearest(kind, FAULT_KINDS, "kinds"),
        )
    for option in options:
        if option not in _FAULT_OPTIONS or option == "kind":
            raise ConfigError(
                f"unknown option {option!r} of a {kind} fault for simulator {simulator!r}",
                hint=_nearest(option, _FAULT_OPTIONS[1:], "options"),
            )
    try:
        FaultRule.from_dict({"kind": kind, **options})
    except ConfigError as exc:
        raise ConfigError(f"simulator {simulator!r}: {exc.message}", hint=exc.hint) from None


@final
class SimulatorClient:
    """The control surface of one simulator, over HTTP (it lives in another process).

    Usable at once or as a context manager; after ``close()`` every call raises
    StateError, and so does entering it twice. A fault rule the simulator would refuse
    (an unknown kind or option, a bad value) raises ConfigError before any call, as an
    unknown proxy toxic does; so does seed data it refuses. Another call it refuses raises
    ``httpx.HTTPStatusError`` whose message gives the simulator's reason; one that cannot
    reach it, httpx's transport error.
    """

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._http = httpx.Client(base_url=url + CONTROL_PREFIX, timeout=10, verify=shared_tls())
        #: ids of the faults added through this client, so a test can remove just its own
        self.added: set[int] = set()
        self._life = Lifecycle(f"simulator client {name!r}")
        #: told when a fault added here starts and ends (see interlock.faults.events)
        self.observer: FaultObserver | None = None
        self._described: dict[int, str] = {}
        #: the clock was frozen or moved through this client since the last restore_clock
        self.clock_moved = False

    def __enter__(self) -> SimulatorClient:
        self._life.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client; idempotent."""
        if self._life.close():
            self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self._life.check_usable()
        return self._http.request(method, path, **kwargs)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        if response.status_code >= 400:
            self._refused(method, path, response)
        return response.json()

    def _refused(self, method: str, path: str, response: httpx.Response) -> NoReturn:
        raise httpx.HTTPStatusError(
            f"simulator {self.name!r} answered {method} {CONTROL_PREFIX}{path} "
            f"with {response.status_code}: {_reason(response)}",
            request=response.request,
            response=response,
        )

    def journal(
        self, *, path: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Calls received so far, oldest first, optionally only those to ``path``/``method``."""
        entries: list[dict[str, Any]] = self._call("GET", "/journal")
        return [
            e
            for e in entries
            if (path is None or e["path"] == path) and (method is None or e["method"] == method)
        ]

    def clear_journal(self) -> None:
        self._call("DELETE", "/journal")

    def reset(self) -> None:
        """The simulator's state, journal and test-added faults back to the run's start."""
        self._call("POST", "/reset")
        self._ended(list(self._described))

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def seed(self, data: dict[str, Any]) -> None:
        """Apply seed data now; ConfigError (the simulator's reason, naming the key) when
        the simulator refuses it, as for a fault it would refuse."""
        response = self._request("POST", "/seed", json=data)
        if response.status_code == 400:
            raise ConfigError(f"simulator {self.name!r} refused the seed data: {_reason(response)}")
        if response.status_code >= 400:
            self._refused("POST", "/seed", response)
        if "clock" in data:
            self.clock_moved = True

    def freeze_clock(self, at: str | float | None) -> None:
        """Stop the simulator's clock at ``at`` (ISO 8601 or epoch seconds); None: real time.

        Only simulators with a clock (Samsara, Twilio) take it; others refuse (HTTPStatusError).
        """
        self.seed({"clock": {"now": at}})

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock on by ``seconds``: what it scheduled until then happens
        now (a vehicle drives on, a message moves through its statuses), no waiting."""
        self.seed({"clock": {"advance_s": seconds}})

    def restore_clock(self, clock: Mapping[str, Any] | None = None) -> None:
        """Put the clock back as the run started it: real time, then ``clock`` (the
        ``clock`` table of the simulator's configured seed data) if given. Raises as
        ``seed`` does."""
        self.seed({"clock": {"now": None, **(clock or {})}})
        self.clock_moved = False

    def add_fault(self, kind: str, **options: Any) -> int:
        """Add a fault rule (see ``FaultRule``) now; returns its id. Raises ConfigError for
        a rule the simulator would refuse (checked here first, and if it refuses anyway)."""
        self._life.check_usable()
        check_fault(self.name, kind, options)
        response = self._request("POST", "/faults", json={"kind": kind, **options})
        if response.status_code == 400:
            raise ConfigError(f"simulator {self.name!r} refused the fault: {_reason(response)}")
        if response.status_code >= 400:
            self._refused("POST", "/faults", response)
        rule: dict[str, Any] = response.json()
        rule_id = int(rule["id"])
        self.added.add(rule_id)
        self._described[rule_id] = " ".join([kind, *(f"{k}={v}" for k, v in options.items())])
        self._tell("start", rule_id)
        return rule_id

    def remove_fault(self, rule_id: int) -> None:
        """Remove a fault rule; one that already ran out (``times``) counts as removed."""
        response = self._request("DELETE", f"/faults/{rule_id}")
        if response.status_code not in (200, 404):
            self._refused("DELETE", f"/faults/{rule_id}", response)
        self.added.discard(rule_id)
        self._ended([rule_id])

    def remove_added_faults(self) -> None:
        """Remove every fault added through this client (what the ``sims`` fixture does)."""
        for rule_id in list(self.added):
            self.remove_fault(rule_id)

    def clear_faults(self) -> None:
        """Remove every fault tests added; run-wide faults (``--sim-fault``) stay."""
        self._call("DELETE", "/faults")
        self.added.clear()
        self._ended(list(self._described))

    def _ended(self, rule_ids: list[int]) -> None:
        for rule_id in rule_ids:
            if rule_id in self._described:
                self._tell("end", rule_id)
                del self._described[rule_id]

    def _tell(self, phase: Phase, rule_id: int) -> None:
        event = FaultEvent(
            phase=phase,
            source="simulator",
            target=self.name,
            fault=self._described[rule_id],
            key=f"rule:{rule_id}",
        )
        notify(self.observer, event)

    def fault(self, kind: str, **options: Any) -> Applied[int]:
        """Add a fault now; as ``with sim.fault(...) as rule_id:`` it is removed after the block.

        Written as a statement it lasts until removed (the ``sims`` fixture removes it
        when the test ends). The value is the rule's id.
        """
        rule_id = self.add_fault(kind, **options)
        return Applied(
            rule_id,
            lambda: self.remove_fault(rule_id),
            what=f"{kind} fault {rule_id} of simulator {self.name!r}",
        )

    def failing(self, status: int = 500, **options: Any) -> Applied[int]:
        """Calls answer ``status`` (with the service's error body) from now on; see ``fault``."""
        return self.fault("status", status=status, **options)


def _reason(response: httpx.Response) -> str:
    """The simulator's own reason for refusing a call (its JSON ``error``, else the body)."""
    try:
        return str(response.json().get("error", response.text))
    except (ValueError, AttributeError):
        return response.text
