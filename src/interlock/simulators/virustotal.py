"""VirusTotal API v3 simulator: IP address and domain objects with seeded verdicts and a quota.

Seed data (``POST /__interlock/seed``), every key optional::

    {"ips": {"45.83.64.1": {"malicious": true, "score": 95, "tags": ["scanner"]},
             "10.9.9.9": null},                      # null: unknown to VirusTotal (404)
     "domains": {"evil.example": {"malicious": true}},
     "quota": {"per_minute": 4, "per_day": 500},     # 0 or null: unlimited
     "api_keys": ["<64 hex>"]}                       # default: any 64-hex key is valid

``score`` (0-100, how bad) sets how many engines flag the object and the community
reputation; any other key replaces the attribute of that name. Unseeded IPs and
domains get a harmless answer derived from a hash of their name, the same every run.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from collections import deque
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator, json_response

__all__ = ["VirusTotalSimulator"]

#: HTTP status -> the error code VirusTotal sends with it
ERROR_CODES = {
    400: "BadRequestError",
    401: "AuthenticationRequiredError",
    403: "ForbiddenError",
    404: "NotFoundError",
    409: "AlreadyExistsError",
    424: "FailedDependencyError",
    429: "TooManyRequestsError",
    503: "TransientError",
    504: "DeadlineExceededError",
}
ENGINES = (
    "Abusix",
    "ADMINUSLabs",
    "AlienVault",
    "Antiy-AVL",
    "BitDefender",
    "Certego",
    "CRDF",
    "CyRadar",
    "ESET",
    "Forcepoint ThreatSeeker",
    "Fortinet",
    "G-Data",
    "Kaspersky",
    "Lionic",
    "Netcraft",
    "OpenPhish",
    "PhishTank",
    "Sophos",
    "Spamhaus",
    "Trustwave",
    "URLhaus",
    "Webroot",
)
OWNERS = (
    ("GOOGLE", 15169, "US", "NA", "ARIN"),
    ("CLOUDFLARENET", 13335, "US", "NA", "ARIN"),
    ("Hetzner Online GmbH", 24940, "DE", "EU", "RIPE NCC"),
    ("OVH SAS", 16276, "FR", "EU", "RIPE NCC"),
    ("AMAZON-02", 16509, "US", "NA", "ARIN"),
    ("Telstra Limited", 1221, "AU", "OC", "APNIC"),
)
#: unseeded objects are dated from here, so their answers do not change between runs
EPOCH = 1_700_000_000
_KEY = re.compile(r"[0-9a-f]{64}")


def _digest(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


class _Window:
    """At most ``limit`` calls in any ``seconds``-long span (sliding, so tests never straddle)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.calls: deque[float] = deque()

    def admit(self, now: float) -> bool:
        if not self.limit:
            return True
        while self.calls and self.calls[0] <= now - self.seconds:
            self.calls.popleft()
        if len(self.calls) >= self.limit:
            return False
        self.calls.append(now)
        return True


class VirusTotalSimulator(Simulator):
    """Speaks VirusTotal's v3 JSON:API-like format; ``vt.Client(key, host=url)`` works unchanged."""

    name = "virustotal"
    seed_keys = frozenset({"ips", "domains", "quota", "api_keys"})
    serves = "GET /api/v3/ip_addresses/{ip} and GET /api/v3/domains/{domain}"

    def reset_state(self) -> None:
        self.ips: dict[str, dict[str, Any] | None] = {}
        self.domains: dict[str, dict[str, Any] | None] = {}
        self.seeded_at: dict[str, int] = {}
        self.api_keys: set[str] | None = None
        self.per_minute, self.per_day = 4, 500
        #: api key -> (minute window, day window)
        self.quotas: dict[str, tuple[_Window, _Window]] = {}

    def state(self) -> dict[str, Any]:
        return {
            "ips": self.ips,
            "domains": self.domains,
            "quota": {"per_minute": self.per_minute, "per_day": self.per_day},
        }

    def seed_data(self, data: dict[str, Any]) -> None:
        for kind, store in (("ips", self.ips), ("domains", self.domains)):
            for name, entry in dict(data.get(kind) or {}).items():
                if entry is not None and not isinstance(entry, dict):
                    raise ConfigError(f"virustotal seed {kind}[{name!r}] must be an object or null")
                name = name.lower() if kind == "domains" else name
                store[name] = entry
                self.seeded_at[name] = int(time.time())
        if "quota" in data:
            quota = data["quota"] or {}
            if "per_minute" in quota:
                self.per_minute = int(quota["per_minute"] or 0)
            if "per_day" in quota:
                self.per_day = int(quota["per_day"] or 0)
            self.quotas.clear()
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])

    def error_response(self, status: int, message: str, code: str | None = None) -> web.Response:
        code = code or ERROR_CODES.get(status, "ClientError" if status < 500 else "InternalError")
        return json_response({"error": {"code": code, "message": message}}, status=status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        """Credentials first, then the key's quota: VirusTotal counts only authenticated calls."""
        key = request.headers.get("X-Apikey")
        if not key:
            return self.error_response(401, "X-Apikey header is missing")
        valid = key in self.api_keys if self.api_keys is not None else bool(_KEY.fullmatch(key))
        if not valid:
            return self.error_response(401, "Wrong API key", code="WrongCredentialsError")
        minute, day = self.quotas.setdefault(
            key, (_Window(self.per_minute, 60), _Window(self.per_day, 86_400))
        )
        now = time.monotonic()
        if not (minute.admit(now) and day.admit(now)):
            return self.error_response(429, "Quota exceeded", code="QuotaExceededError")
        return None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v3/ip_addresses/{ip}", self._ip_address),
            web.get("/api/v3/domains/{domain}", self._domain),
        ]

    # -- objects ----------------------------------------------------------------------
    async def _ip_address(self, request: web.Request) -> web.Response:
        ip = request.match_info["ip"]
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return self.error_response(
                400, f'"{ip}" is not a valid IP address', code="InvalidArgumentError"
            )
        if ip in self.ips and self.ips[ip] is None:
            return self.error_response(404, f'IP address "{ip}" not found')
        prefix = 24 if address.version == 4 else 48
        owner, asn, country, continent, rir = OWNERS[_digest(ip) % len(OWNERS)]
        attributes = {
            "as_owner": owner,
            "asn": asn,
            "country": country,
            "continent": continent,
            "regional_internet_registry": rir,
            "network": str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False)),
            "whois": f"NetRange: {ip}\nOrgName: {owner}\nCountry: {country}\n",
            "whois_date": EPOCH - 86_400 * (_digest(ip) % 365),
            "jarm": "",
        }
        return self._object(request, "ip_address", "ip_addresses", ip, self.ips.get(ip), attributes)

    async def _domain(self, request: web.Request) -> web.Response:
        domain = request.match_info["domain"].lower()
        if "." not in domain.strip("."):
            return self.error_response(
                400, f'"{domain}" is not a valid domain name', code="InvalidArgumentError"
            )
        if domain in self.domains and self.domains[domain] is None:
            return self.error_response(404, f'Domain "{domain}" not found')
        attributes = {
            "tld": domain.rsplit(".", 1)[-1],
            "registrar": "MarkMonitor Inc.",
            "creation_date": EPOCH - 86_400 * (365 + _digest(domain) % 3650),
            "categories": {},
            "last_dns_records": [],
            "whois": f"Domain Name: {domain.upper()}\n",
        }
        return self._object(
            request, "domain", "domains", domain, self.domains.get(domain), attributes
        )

    def _object(
        self,
        request: web.Request,
        kind: str,
        collection: str,
        name: str,
        seeded: dict[str, Any] | None,
        base: dict[str, Any],
    ) -> web.Response:
        entry = dict(seeded or {})
        score = int(entry.pop("score", 90 if entry.get("malicious") else 0))
        malicious = bool(entry.pop("malicious", score >= 50))
        digest = _digest(name)
        when = self.seeded_at.get(name, EPOCH) if seeded is not None else EPOCH
        # engines that flag the object: how many follows the score, which follows the hash
        flagged = round(score * len(ENGINES) / 100) or (1 if malicious else 0)
        order = sorted(ENGINES, key=lambda engine: _digest(name + engine))
        verdict = "malicious" if malicious else "suspicious"
        results: dict[str, dict[str, Any]] = {}
        for position, engine in enumerate(order):
            if position < flagged:
                category, result = verdict, verdict
            elif (digest >> position) & 1:
                category, result = "harmless", "clean"
            else:
                category, result = "undetected", "unrated"
            results[engine] = {
                "category": category,
                "result": result,
                "method": "blacklist",
                "engine_name": engine,
            }
        stats = {"harmless": 0, "malicious": 0, "suspicious": 0, "undetected": 0, "timeout": 0}
        for engine_result in results.values():
            stats[engine_result["category"]] += 1
        attributes: dict[str, Any] = {
            **base,
            "reputation": -score if score else digest % 4,
            "tags": [],
            "total_votes": {
                "harmless": 0 if malicious else digest % 5,
                "malicious": score // 10 if malicious else 0,
            },
            "last_analysis_date": when,
            "last_modification_date": when,
            "last_analysis_stats": stats,
            "last_analysis_results": results,
        }
        attributes.update(entry)
        origin = f"{request.scheme}://{request.host}"
        return json_response(
            {
                "data": {
                    "type": kind,
                    "id": name,
                    "links": {"self": f"{origin}/api/v3/{collection}/{name}"},
                    "attributes": attributes,
                }
            }
        )
