"""MISP, through PyMISP: what our own analysts' threat-sharing platform holds on an address."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from pymisp import PyMISP, PyMISPError

from wms.integrations.keys import KeyRing
from wms.integrations.security.base import _RequestsFeed
from wms.integrations.security.evidence import Evidence, IPAddress, MISPEvent, MISPEvidence
from wms.settings import Settings

__all__ = ["MISPFeed"]


class _LazyMISP:
    """PyMISP for one key, made on first use: PyMISP asks the server who we are when it is
    made, which is a call to MISP (in the worker thread, where the lookup fails or not)."""

    def __init__(self, make: Callable[[], PyMISP]) -> None:
        self._make = make
        self._client: PyMISP | None = None
        self._lock = threading.Lock()

    def get(self) -> PyMISP:
        with self._lock:
            if self._client is None:
                self._client = self._make()
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        # PyMISP has no close(); its requests session is private
        session: Any = getattr(client, "_PyMISP__session", None)
        if session is not None:
            session.close()


class MISPFeed(_RequestsFeed[_LazyMISP]):
    name = "misp"

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        super().__init__(settings, settings.misp_api_key, keys)
        self._url = settings.misp_api_base.rstrip("/") + "/"  # PyMISP urljoins paths onto it
        self._verify = settings.misp_verify_ssl

    def _client(self, key: str) -> _LazyMISP:
        return _LazyMISP(
            lambda: PyMISP(
                self._url,
                key,
                ssl=self._verify,
                timeout=self._timeout,
                tool="wms",
                auth=self._watch,
            )
        )

    async def _close(self, client: _LazyMISP) -> None:
        client.close()

    def _ask(self, client: _LazyMISP, ip: IPAddress) -> Evidence:
        answer = client.get().search(controller="attributes", value=str(ip))
        if not isinstance(answer, dict) or "errors" in answer:
            raise PyMISPError("search refused")  # a 4xx: _attempt reads it from the response
        found = [a for a in answer.get("Attribute", []) if a.get("value") == str(ip)]
        ids = [a for a in found if a.get("to_ids")]
        events = {str(a["Event"]["id"]): str(a["Event"].get("info", "")) for a in found}
        tags = sorted({str(t["name"]) for a in found for t in a.get("Tag", [])})
        return MISPEvidence(
            # an indicator marked for detection is our analysts' call to block it
            score=90 if ids else 40 if found else 0,
            malicious=bool(ids),
            found=bool(found),
            attributes=len(found),
            ids_attributes=len(ids),
            events=[MISPEvent(id=k, info=v) for k, v in sorted(events.items())],
            tags=tags,
        )
