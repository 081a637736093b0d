"""AbuseIPDB over plain HTTP (it has no official SDK): an address's abuse reports, and
reporting one. Through requests, as the other feeds, not httpx: its pool degrades under
many concurrent calls (encode/httpx#3215), and lookups come in bursts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import requests

from wms.integrations.keys import KeyRing
from wms.integrations.resilience import Permanent, Transient
from wms.integrations.security.base import (
    Feed,
    FeedRateLimited,
    _Refusal,
    _session,
    _Throttled,
)
from wms.integrations.security.evidence import (
    AbuseIPDBEvidence,
    AbuseReport,
    Evidence,
    IPAddress,
)
from wms.settings import Settings

__all__ = ["AbuseIPDB"]


class AbuseIPDB(Feed[requests.Session]):
    name = "abuseipdb"

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        super().__init__(settings, settings.abuseipdb_api_key, keys)
        self._base_url = settings.abuseipdb_api_base.rstrip("/") + "/api/v2"

    def _client(self, key: str) -> requests.Session:
        session = _session(self._timeout)
        session.headers.update({"Key": key, "Accept": "application/json"})
        return session

    async def _close(self, client: requests.Session) -> None:
        client.close()

    def _send(
        self,
        keys: Sequence[str],
        method: str,
        path: str,
        *,
        client_error: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any] | _Throttled:
        def attempt(http: requests.Session) -> dict[str, Any]:
            try:
                response = http.request(method, self._base_url + path, **kwargs)
            except requests.RequestException as exc:
                raise Transient(f"no answer ({type(exc).__name__})") from None
            if response.status_code == 429 and _already_reported(response):
                # one report of an address per user per 15 minutes: a conflict with what
                # the caller asked, not a spent quota (AbuseIPDB's API docs, "REPORT Endpoint")
                raise Permanent(
                    "this address was already reported in the last 15 minutes",
                    client_error="already_reported",
                    client_status=409,
                )
            if not response.ok:
                raise _Refusal(response.status_code, response.headers.get("Retry-After"))
            try:
                data: dict[str, Any] = response.json()["data"]
            except (ValueError, KeyError, TypeError):
                raise Transient("unexpected answer") from None
            return data

        try:
            return self.clients.run(keys, attempt)
        except _Refusal as exc:
            return self._refused(exc.status, exc.retry_after, client_error=client_error)

    def _fetch(self, keys: Sequence[str], ip: IPAddress) -> Evidence | _Throttled:
        data = self._send(keys, "GET", "/check", params={"ipAddress": str(ip), "maxAgeInDays": 90})
        if isinstance(data, _Throttled):
            return data
        score = int(data.get("abuseConfidenceScore") or 0)
        reports = int(data.get("totalReports") or 0)
        return AbuseIPDBEvidence(
            score=score,
            # AbuseIPDB's own advice: block from a confidence of 75 up
            malicious=score >= 75,
            found=reports > 0,
            abuse_confidence_score=score,
            total_reports=reports,
            distinct_reporters=int(data.get("numDistinctUsers") or 0),
            last_reported_at=data.get("lastReportedAt"),
            is_whitelisted=bool(data.get("isWhitelisted")),
            is_tor=bool(data.get("isTor")),
            isp=data.get("isp"),
            usage_type=data.get("usageType"),
            country_code=data.get("countryCode"),
        )

    async def report(self, ip: IPAddress, *, categories: list[int], comment: str) -> AbuseReport:
        """Report abuse from ``ip``. A POST without idempotency key: never retried (but sent
        with the replaced key when AbuseIPDB refuses the newest: it did nothing then)."""
        form = {"ip": str(ip), "categories": ",".join(map(str, categories)), "comment": comment}
        keys = await self.clients.keys()

        def send() -> dict[str, Any] | _Throttled:
            # AbuseIPDB refusing the report (a category, the address) is our caller's error
            return self._send(keys, "POST", "/report", data=form, client_error="report_refused")

        data = await self.service.call(send, idempotent=False)
        if isinstance(data, _Throttled):
            raise FeedRateLimited(self.name, data.retry_after)
        return AbuseReport(
            ip=str(data.get("ipAddress", ip)),
            abuse_confidence_score=int(data.get("abuseConfidenceScore") or 0),
        )


def _already_reported(response: requests.Response) -> bool:
    """Whether a 429 is AbuseIPDB's "once in 15 minutes" refusal of a repeated report."""
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return any("once in 15 minutes" in str(error.get("detail", "")) for error in errors)
