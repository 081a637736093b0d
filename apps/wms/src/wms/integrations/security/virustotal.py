"""VirusTotal, through vt-py: how many engines flag an address.

vt-py is async and binds its connections to the event loop its client is made on, so
every call runs on the app's loop (the worker thread hands it over), and each key's
client is made there on first use, and closed there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import anyio.from_thread
import vt

from wms.integrations.keys import KeyRing
from wms.integrations.resilience import Transient
from wms.integrations.security.base import Feed, _Refusal, _Throttled
from wms.integrations.security.evidence import Evidence, IPAddress, VirusTotalEvidence
from wms.settings import Settings

__all__ = ["VirusTotal"]


class VirusTotal(Feed[vt.Client]):
    name = "virustotal"

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        super().__init__(settings, settings.virustotal_api_key, keys)
        self._host = settings.virustotal_api_base.rstrip("/")

    def _client(self, key: str) -> vt.Client:
        # called on the app's loop (from _get), so the client's connections belong to it
        return vt.Client(key, agent="wms", host=self._host, timeout=self._timeout)

    async def _close(self, client: vt.Client) -> None:
        await client.close_async()

    def _fetch(self, keys: Sequence[str], ip: IPAddress) -> Evidence | _Throttled:
        result: Evidence | _Throttled = anyio.from_thread.run(self._get, keys, str(ip))
        return result

    async def _get(self, keys: Sequence[str], ip: str) -> Evidence | _Throttled:
        try:
            return await self.clients.arun(keys, lambda client: self._ask(client, ip))
        except _Refusal as exc:
            return self._refused(exc.status, exc.retry_after)

    async def _ask(self, client: vt.Client, ip: str) -> Evidence:
        try:
            response = await client.get_async("/ip_addresses/{}", ip)
            error = await client.get_error_async(response)
            payload: Any = {} if error else await response.json_async()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Transient(f"no usable answer ({type(exc).__name__})") from None
        if error is None:
            try:
                return _virustotal(payload["data"]["attributes"])
            except (KeyError, TypeError, AttributeError):
                raise Transient("unexpected answer") from None
        if error.code == "NotFoundError":
            return VirusTotalEvidence(
                score=0,
                malicious=False,
                found=False,
                malicious_engines=0,
                suspicious_engines=0,
                engines=0,
                reputation=0,
                flagged_by=[],
            )
        raise _Refusal(response.status, response.headers.get("Retry-After"))


def _virustotal(attributes: dict[str, Any]) -> VirusTotalEvidence:
    stats = attributes.get("last_analysis_stats") or {}
    bad, odd = int(stats.get("malicious", 0)), int(stats.get("suspicious", 0))
    engines = sum(int(v) for v in stats.values())
    results = attributes.get("last_analysis_results") or {}
    flagged = sorted(
        name for name, r in results.items() if r.get("category") in ("malicious", "suspicious")
    )
    return VirusTotalEvidence(
        # suspicious engines count half; three malicious engines are VirusTotal's usual bar
        score=min(100, round(100 * (bad + odd / 2) / engines)) if engines else 0,
        malicious=bad >= 3,
        found=True,
        malicious_engines=bad,
        suspicious_engines=odd,
        engines=engines,
        reputation=int(attributes.get("reputation", 0)),
        flagged_by=flagged[:10],
        as_owner=attributes.get("as_owner"),
        country=attributes.get("country"),
    )
