"""Drive a running simulator from a test: its journal, state, seed data and faults."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from interlock.simulators.base import CONTROL_PREFIX

__all__ = ["SimulatorClient"]


class SimulatorClient:
    """The control surface of one simulator, over HTTP (it lives in another process)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self._http = httpx.Client(base_url=url + CONTROL_PREFIX, timeout=10)
        #: ids of the faults added through this client, so a test can remove just its own
        self.added: set[int] = set()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

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
        self._call("POST", "/reset")

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/state")
        return result

    def seed(self, data: dict[str, Any]) -> None:
        self._call("POST", "/seed", json=data)

    def add_fault(self, kind: str, **options: Any) -> int:
        rule: dict[str, Any] = self._call("POST", "/faults", json={"kind": kind, **options})
        self.added.add(int(rule["id"]))
        return int(rule["id"])

    def remove_fault(self, rule_id: int) -> None:
        self._http.delete(f"/faults/{rule_id}")  # 404 when a counted fault already ran out
        self.added.discard(rule_id)

    def remove_added_faults(self) -> None:
        for rule_id in list(self.added):
            self.remove_fault(rule_id)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    @contextmanager
    def fault(self, kind: str, **options: Any) -> Iterator[int]:
        """A fault for the duration of a ``with`` block, removed even if the block fails."""
        rule_id = self.add_fault(kind, **options)
        try:
            yield rule_id
        finally:
            self.remove_fault(rule_id)

    def failing(self, status: int = 500, **options: Any) -> Any:
        return self.fault("status", status=status, **options)
