"""AbuseIPDB API v2 simulator: check, report and blacklist with per-endpoint daily limits.

Seed data (``POST /__interlock/seed``), every key optional::

    {"ips": {"45.83.64.1": {"malicious": true, "score": 95, "totalReports": 40}},
     "daily_limits": {"check": 1000, "report": 1000, "blacklist": 5},   # 0 or null: unlimited
     "api_keys": ["<80 hex>"]}                   # default: any 80-hex key is valid

``score`` becomes ``abuseConfidenceScore``; any other key replaces the field of that
name in the ``data`` object. Unseeded IPs have no reports and a score of 0, with an ISP
and country derived from a hash of the address, the same every run. Each report raises
the IP's score and report count. Limits count per key and endpoint and reset at 00:00 UTC.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator, json_response

__all__ = ["AbuseIPDBSimulator"]

API = "/api/v2"
AUTH_FAILED = (
    "Authentication failed. Your API key is either missing, incorrect, or revoked. "
    "Note: The APIv2 key differs from the APIv1 key."
)
BAD_IP = (
    "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888)."
)
DEFAULT_LIMITS = {"check": 1000, "report": 1000, "blacklist": 5}
#: what a report adds to the confidence score
REPORT_WEIGHT = 15
HOSTING, ISP = "Data Center/Web Hosting/Transit", "Fixed Line ISP"
NETWORKS = (
    ("US", "United States of America", "Google LLC", "google.com", HOSTING),
    ("DE", "Germany", "Hetzner Online GmbH", "hetzner.com", HOSTING),
    ("FR", "France", "OVH SAS", "ovh.net", HOSTING),
    (
        "GB",
        "United Kingdom of Great Britain and Northern Ireland",
        "British Telecommunications PLC",
        "bt.com",
        ISP,
    ),
    ("JP", "Japan", "NTT Communications Corporation", "ntt.com", ISP),
)
_KEY = re.compile(r"[0-9a-f]{80}")
Handler = Callable[[web.Request], Awaitable[web.Response]]
#: how long one user must wait before reporting the same address again (API v2 "REPORT")
REPORT_INTERVAL_S = 15 * 60


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


class AbuseIPDBSimulator(Simulator):
    """Speaks AbuseIPDB's v2 JSON; a client only needs its base URL pointed here."""

    name = "abuseipdb"
    seed_keys = frozenset({"ips", "daily_limits", "api_keys"})
    serves = "GET /api/v2/check, POST /api/v2/report, GET /api/v2/blacklist"

    def reset_state(self) -> None:
        #: ip -> fields of the check answer that differ from the unseeded default
        self.ips: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, list[dict[str, Any]]] = {}
        #: ip -> api keys that reported it (numDistinctUsers)
        self.reporters: dict[str, set[str]] = {}
        self.api_keys: set[str] | None = None
        self.limits = dict(DEFAULT_LIMITS)
        #: (api key, ip) -> when that key last reported that address
        self.last_report: dict[tuple[str, str], float] = {}
        #: (api key, endpoint) -> (UTC date, calls that day)
        self.usage: dict[tuple[str, str], tuple[str, int]] = {}

    def state(self) -> dict[str, Any]:
        return {"ips": self.ips, "reports": self.reports, "daily_limits": self.limits}

    def seed_data(self, data: dict[str, Any]) -> None:
        for ip, entry in dict(data.get("ips") or {}).items():
            if not isinstance(entry, dict):
                raise ConfigError(f"abuseipdb seed ips[{ip!r}] must be an object")
            fields = dict(entry)
            score = int(fields.pop("score", 90 if fields.get("malicious") else 0))
            fields.pop("malicious", None)
            fields.setdefault("abuseConfidenceScore", score)
            fields.setdefault("totalReports", score // 5)
            fields.setdefault("numDistinctUsers", (score // 5 + 1) // 2)
            if fields["totalReports"]:
                fields.setdefault("lastReportedAt", _iso(time.time()))
            self.ips[ip] = fields
        for endpoint, limit in dict(data.get("daily_limits") or {}).items():
            if endpoint not in DEFAULT_LIMITS:
                raise ConfigError(
                    f"abuseipdb has no {endpoint!r} endpoint to limit",
                    hint=f"use {', '.join(DEFAULT_LIMITS)}",
                )
            self.limits[endpoint] = int(limit or 0)
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])

    def error_response(
        self, status: int, message: str, parameter: str | None = None
    ) -> web.Response:
        error: dict[str, Any] = {"detail": message, "status": status}
        if parameter is not None:
            error["source"] = {"parameter": parameter}
        return json_response({"errors": [error]}, status=status)

    def _key(self, request: web.Request) -> str:
        return request.headers.get("Key") or request.query.get("key", "")

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = self._key(request)
        valid = key in self.api_keys if self.api_keys is not None else bool(_KEY.fullmatch(key))
        return None if valid else self.error_response(401, AUTH_FAILED)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{API}/check", self._limited("check", self._check)),
            web.post(f"{API}/report", self._limited("report", self._report)),
            web.get(f"{API}/blacklist", self._limited("blacklist", self._blacklist)),
        ]

    # -- daily limits: X-RateLimit-* on every answer, 429 + Retry-After past the limit ---
    def _limited(self, endpoint: str, handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.Response:
            limit = self.limits.get(endpoint, 0)
            if not limit:
                return await handler(request)
            now = datetime.now(UTC)
            today = now.date().isoformat()
            slot = (self._key(request), endpoint)
            day, used = self.usage.get(slot, (today, 0))
            used = used if day == today else 0
            if used >= limit:
                tomorrow = now.date() + timedelta(days=1)
                midnight = datetime.combine(tomorrow, datetime.min.time(), UTC)
                response = self.error_response(
                    429,
                    f"Daily rate limit of {limit} requests exceeded for this endpoint. "
                    "See headers for additional details.",
                )
                response.headers.update(
                    {
                        "Retry-After": str(max(1, int((midnight - now).total_seconds()))),
                        "X-RateLimit-Reset": str(int(midnight.timestamp())),
                    }
                )
            else:
                used += 1
                self.usage[slot] = (today, used)
                response = await handler(request)
            response.headers.update(
                {
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": str(max(0, limit - used)),
                }
            )
            return response

        return wrapped

    # -- endpoints --------------------------------------------------------------------
    def _record(self, ip: str, *, verbose: bool, max_age: int) -> dict[str, Any]:
        address = ipaddress.ip_address(ip)
        digest = int.from_bytes(hashlib.sha256(ip.encode()).digest()[:8], "big")
        country, country_name, isp, domain, usage = NETWORKS[digest % len(NETWORKS)]
        cutoff = time.time() - max_age * 86_400
        reports = [r for r in self.reports.get(ip, []) if r["reportedAtEpoch"] >= cutoff]
        data: dict[str, Any] = {
            "ipAddress": str(address),
            "isPublic": address.is_global,
            "ipVersion": address.version,
            "isWhitelisted": False,
            "abuseConfidenceScore": 0,
            "countryCode": country,
            "usageType": usage,
            "isp": isp,
            "domain": domain,
            "hostnames": [],
            "isTor": False,
            "totalReports": 0,
            "numDistinctUsers": 0,
            "lastReportedAt": None,
        }
        data.update(self.ips.get(ip, {}))
        if verbose:
            data["countryName"] = country_name
            data["reports"] = [
                {k: v for k, v in r.items() if k != "reportedAtEpoch"} for r in reports
            ]
        return data

    async def _check(self, request: web.Request) -> web.Response:
        ip = request.query.get("ipAddress", "")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return self.error_response(422, BAD_IP, parameter="ipAddress")
        try:
            max_age = int(request.query.get("maxAgeInDays", "30"))
        except ValueError:
            max_age = 0
        if not 1 <= max_age <= 365:
            return self.error_response(
                422, "The max age in days must be between 1 and 365.", parameter="maxAgeInDays"
            )
        verbose = "verbose" in request.query
        return json_response({"data": self._record(ip, verbose=verbose, max_age=max_age)})

    async def _report(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        ip = str(params.get("ip", ""))
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return self.error_response(422, BAD_IP, parameter="ip")
        try:
            categories = [int(c) for c in str(params.get("categories", "")).split(",") if c]
        except ValueError:
            categories = [0]
        if not categories:
            return self.error_response(
                422, "The categories field is required.", parameter="categories"
            )
        if any(not 1 <= c <= 23 for c in categories):
            return self.error_response(
                422, "Each category must be a valid category id.", parameter="categories"
            )
        key, now = self._key(request), time.time()
        last = self.last_report.get((key, ip))
        if last is not None and now - last < REPORT_INTERVAL_S:
            # AbuseIPDB takes one report of an address from one user per 15 minutes
            return self.error_response(
                429,
                f"You can only report the same IP address (`{ip}`) once in 15 minutes.",
                parameter="ip",
            )
        self.last_report[(key, ip)] = now
        fields = self.ips.setdefault(ip, {})
        score = min(100, int(fields.get("abuseConfidenceScore", 0)) + REPORT_WEIGHT)
        first_from_key = key not in self.reporters.setdefault(ip, set())
        self.reporters[ip].add(key)
        fields.update(
            {
                "abuseConfidenceScore": score,
                "totalReports": int(fields.get("totalReports", 0)) + 1,
                "numDistinctUsers": int(fields.get("numDistinctUsers", 0)) + first_from_key,
                "lastReportedAt": _iso(now),
            }
        )
        self.reports.setdefault(ip, []).append(
            {
                "reportedAt": _iso(now),
                "reportedAtEpoch": now,
                "comment": params.get("comment", ""),
                "categories": categories,
                "reporterId": len(self.reporters[ip]),
                "reporterCountryCode": "US",
                "reporterCountryName": "United States of America",
            }
        )
        return json_response({"data": {"ipAddress": ip, "abuseConfidenceScore": score}})

    async def _blacklist(self, request: web.Request) -> web.Response:
        try:
            minimum = int(request.query.get("confidenceMinimum", "100"))
            limit = int(request.query.get("limit", "10000"))
        except ValueError:
            minimum, limit = 0, 0
        if not 25 <= minimum <= 100:
            return self.error_response(
                422,
                "The confidence minimum must be between 25 and 100.",
                parameter="confidenceMinimum",
            )
        if limit < 1:
            return self.error_response(422, "The limit must be at least 1.", parameter="limit")
        listed = [
            {
                "ipAddress": ip,
                "countryCode": record["countryCode"],
                "abuseConfidenceScore": record["abuseConfidenceScore"],
                "lastReportedAt": record["lastReportedAt"],
            }
            for ip in self.ips
            if (record := self._record(ip, verbose=False, max_age=365))["abuseConfidenceScore"]
            >= minimum
        ]
        listed.sort(key=lambda r: (-r["abuseConfidenceScore"], r["lastReportedAt"] or ""))
        listed = listed[:limit]
        if "text/plain" in request.headers.get("Accept", ""):
            return web.Response(text="\n".join(r["ipAddress"] for r in listed))
        return json_response({"meta": {"generatedAt": _iso(time.time())}, "data": listed})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        """Report fields from the query string, a form or a JSON body, as clients send them."""
        params: dict[str, Any] = dict(request.query)
        body = await request.text()
        if request.content_type == "application/json" and body:
            try:
                decoded = json.loads(body)
            except json.JSONDecodeError:
                decoded = {}
            if isinstance(decoded, dict):
                params.update(decoded)
        elif body:
            params.update(parse_qsl(body, keep_blank_values=True))
        return params
