"""Drive a running simulator from a test: its journal, state, seed data and faults."""

from __future__ import annotations

from typing import Any, NoReturn, final

import httpx

from interlock.faults.applied import Applied
from interlock.lifecycle import Lifecycle
from interlock.simulators.base import CONTROL_PREFIX

__all__ = ["SimulatorClient"]


@final
class SimulatorClient:
    """The control surface of one simulator, over HTTP (it lives in another process).

    Usable at once or as a context manager; after ``close()`` every call raises
    StateError, and so does entering it twice. A call the simulator refuses raises
    ``httpx.HTTPStatusError`` whose message gives the simulator's reason; one that cannot
    reach it, httpx's transport error.
    """

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._http = httpx.Client(base_url=url + CONTROL_PREFIX, timeout=10)
        #: ids of the faults added through this client, so a test can remove just its own
        self.added: set[int] = set()
        self._life = Lifecycle(f"simulator client {name!r}")

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
        try:
            reason = response.json().get("error", response.text)
        except ValueError:
            reason = response.text
        raise httpx.HTTPStatusError(
            f"simulator {self.name!r} answered {method} {CONTROL_PREFIX}{path} "
            f"with {response.status_code}: {reason}",
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

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def seed(self, data: dict[str, Any]) -> None:
        self._call("POST", "/seed", json=data)

    def freeze_clock(self, at: str | float | None) -> None:
        """Stop the simulator's clock at ``at`` (ISO 8601 or epoch seconds); None: real time.

        Only simulators with a clock (Samsara, Twilio) take it; others refuse (HTTPStatusError).
        """
        self.seed({"clock": {"now": at}})

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock on by ``seconds``: what it scheduled until then happens
        now (a vehicle drives on, a message moves through its statuses), no waiting."""
        self.seed({"clock": {"advance_s": seconds}})

    def add_fault(self, kind: str, **options: Any) -> int:
        """Add a fault rule (see ``FaultRule``) now; returns its id. Raises if refused."""
        rule: dict[str, Any] = self._call("POST", "/faults", json={"kind": kind, **options})
        self.added.add(int(rule["id"]))
        return int(rule["id"])

    def remove_fault(self, rule_id: int) -> None:
        """Remove a fault rule; one that already ran out (``times``) counts as removed."""
        response = self._request("DELETE", f"/faults/{rule_id}")
        if response.status_code not in (200, 404):
            self._refused("DELETE", f"/faults/{rule_id}", response)
        self.added.discard(rule_id)

    def remove_added_faults(self) -> None:
        """Remove every fault added through this client (what the ``sims`` fixture does)."""
        for rule_id in list(self.added):
            self.remove_fault(rule_id)

    def clear_faults(self) -> None:
        """Remove every fault tests added; run-wide faults (``--sim-fault``) stay."""
        self._call("DELETE", "/faults")
        self.added.clear()

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
