"""GreyNoise simulator: Community API and v3 IP lookup, with seeded verdicts and a daily cap.

pygreynoise 3.0 calls ``/v3/community/{ip}`` for ``offering="community"``; 3.1 calls
``/v3/ip/{ip}`` for every offering. Both are served from the same verdicts.

Seed data (``POST /__interlock/seed``), every key optional::

    {"ips": {"45.83.64.1": {"malicious": true, "score": 95, "actor": "unknown"},
             "8.8.8.8": {"riot": true, "name": "Google Public DNS"},
             "1.2.3.9": null},       # null: not observed (404)
     "daily_limit": 50,              # lookups a key may make per UTC day; 0: no cap
     "retry_after": 0,               # whole seconds; adds Retry-After to the cap's 429
     "api_keys": ["..."]}            # default: any non-empty key is valid

A malicious IP is noise classified "malicious"; a benign one is noise classified "benign"
unless it is ``riot``; other keys (``classification``, ``name``, ``last_seen``, ``tags``,
...) replace the field of that name. An unseeded IP gets, from a hash of the address and
the same every run, one of: not observed, a RIOT business service, or "unknown" noise.

The cap's 429 carries no Retry-After unless seeded: urllib3 retries any 429 that has one,
sleeping as told (up to 6 h), so a until-midnight value would stall the SDK for hours.
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator, json_response

__all__ = ["GreyNoiseSimulator"]

NOT_OBSERVED = "IP not observed scanning the internet or contained in RIOT data set."
RIOT = (
    ("Google Public DNS", "public_dns"),
    ("Cloudflare CDN", "cdn"),
    ("Microsoft 365", "software"),
    ("Amazon Web Services", "cloud"),
)
#: unseeded verdicts are dated from here, so they do not change between runs
EPOCH = date(2024, 1, 1)


def _digest(ip: str) -> int:
    return int.from_bytes(hashlib.sha256(ip.encode()).digest()[:8], "big")


class GreyNoiseSimulator(Simulator):
    """Speaks GreyNoise's v3 JSON; ``GreyNoise(APIConfig(api_server=url, ...))`` works unchanged."""

    name = "greynoise"
    seed_keys = frozenset({"ips", "daily_limit", "retry_after", "api_keys"})
    serves = "GET /v3/community/{ip}, GET /v3/ip/{ip} and GET /ping"

    def reset_state(self) -> None:
        self.ips: dict[str, dict[str, Any] | None] = {}
        self.api_keys: set[str] | None = None
        self.daily_limit = 50
        self.retry_after: int | None = None
        #: api key -> (UTC date, lookups that day)
        self.usage: dict[str, tuple[str, int]] = {}

    def state(self) -> dict[str, Any]:
        return {"ips": self.ips, "daily_limit": self.daily_limit}

    def seed_data(self, data: dict[str, Any]) -> None:
        for ip, entry in dict(data.get("ips") or {}).items():
            if entry is not None and not isinstance(entry, dict):
                raise ConfigError(f"greynoise seed ips[{ip!r}] must be an object or null")
            self.ips[ip] = entry
        if "daily_limit" in data:
            self.daily_limit = int(data["daily_limit"] or 0)
        if "retry_after" in data:
            self.retry_after = None if data["retry_after"] is None else int(data["retry_after"])
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])

    def error_response(self, status: int, message: str) -> web.Response:
        return json_response({"message": message}, status=status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        """The key first, then its daily cap (only lookups count; ``/ping`` is free)."""
        key = request.headers.get("key", "")
        if not key or (self.api_keys is not None and key not in self.api_keys):
            return self.error_response(401, "Authentication failed: invalid or missing API key")
        if not request.path.startswith("/v3/") or not self.daily_limit:
            return None
        now = datetime.now(UTC)
        today = now.date().isoformat()
        day, used = self.usage.get(key, (today, 0))
        used = used if day == today else 0
        if used < self.daily_limit:
            self.usage[key] = (today, used + 1)
            return None
        response = json_response(
            {
                "plan": "community",
                "rate-limit": f"{self.daily_limit}-lookups/day",
                "plan_url": "https://greynoise.io/pricing",
                "message": f"You have hit your daily rate limit of {self.daily_limit} requests.",
            },
            status=429,
        )
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/v3/community/{ip}", self._community),
            web.get("/v3/ip/{ip}", self._context),
            web.get("/ping", self._ping),
        ]

    # -- verdicts ---------------------------------------------------------------------
    def _verdict(self, ip: str) -> dict[str, Any] | None:
        """The IP's record, or None when GreyNoise has not observed it."""
        digest = _digest(ip)
        seen = (EPOCH - timedelta(days=digest % 60)).isoformat()
        record: dict[str, Any] = {
            "noise": False,
            "riot": False,
            "classification": "unknown",
            "name": "unknown",
            "category": "",
            "trust_level": "",
            "first_seen": seen,
            "last_seen": seen,
            "actor": "unknown",
            "tags": [],
            "cves": [],
        }
        if ip in self.ips:
            entry = self.ips[ip]
            if entry is None:
                return None
            fields = dict(entry)
            score = int(fields.pop("score", 90 if fields.get("malicious") else 0))
            malicious = bool(fields.pop("malicious", score >= 50))
            today = datetime.now(UTC).date().isoformat()
            record.update(last_seen=today, first_seen=seen)
            if fields.get("riot") and not malicious:
                record.update(riot=True, classification="benign", trust_level="1")
            else:
                record.update(noise=True, classification="malicious" if malicious else "benign")
            record.update(fields)
            return record
        bucket = digest % 4
        if bucket < 2:
            return None
        if bucket == 2:
            name, category = RIOT[(digest >> 8) % len(RIOT)]
            record.update(
                riot=True, classification="benign", name=name, category=category, trust_level="1"
            )
        else:
            record.update(noise=True)
        return record

    def _checked(self, request: web.Request) -> str | web.Response:
        ip = request.match_info["ip"]
        try:
            valid = ipaddress.ip_address(ip).is_global and "." in ip
        except ValueError:
            valid = False
        if not valid:
            return self.error_response(400, "Request is not a valid routable IPv4 address")
        return ip

    # -- endpoints --------------------------------------------------------------------
    async def _community(self, request: web.Request) -> web.Response:
        ip = self._checked(request)
        if isinstance(ip, web.Response):
            return ip
        record = self._verdict(ip)
        if record is None or not (record["noise"] or record["riot"]):
            return json_response(
                {"ip": ip, "noise": False, "riot": False, "message": NOT_OBSERVED}, status=404
            )
        view = "ip" if record["noise"] else "riot"
        return json_response(
            {
                "ip": ip,
                "noise": record["noise"],
                "riot": record["riot"],
                "classification": record["classification"],
                "name": record["name"],
                "link": f"https://viz.greynoise.io/{view}/{ip}",
                "last_seen": record["last_seen"],
                "message": "Success",
            }
        )

    async def _context(self, request: web.Request) -> web.Response:
        ip = self._checked(request)
        if isinstance(ip, web.Response):
            return ip
        record = self._verdict(ip)
        if record is None or not (record["noise"] or record["riot"]):
            return json_response({"message": NOT_OBSERVED}, status=404)
        noise, riot = record["noise"], record["riot"]
        tags = [
            {
                "id": f"tag-{_digest(t) % 10**8}",
                "slug": t.lower().replace(" ", "-"),
                "name": t,
                "category": "activity",
                "intention": record["classification"],
                "description": "",
                "references": [],
                "cves": [],
                "recommend_block": record["classification"] == "malicious",
            }
            for t in record["tags"]
        ]
        return json_response(
            {
                "ip": ip,
                "business_service_intelligence": {
                    "found": riot,
                    "category": record["category"] if riot else "",
                    "name": record["name"] if riot else "",
                    "description": "",
                    "explanation": "",
                    "last_updated": f"{record['last_seen']}T00:00:00Z" if riot else "",
                    "reference": "",
                    "trust_level": record["trust_level"] if riot else "",
                },
                "internet_scanner_intelligence": {
                    "found": noise,
                    "classification": record["classification"] if noise else "",
                    "first_seen": record["first_seen"] if noise else "",
                    "last_seen": record["last_seen"] if noise else "",
                    "last_seen_timestamp": f"{record['last_seen']} 00:00:00" if noise else "",
                    "actor": record["actor"] if noise else "",
                    "tags": tags if noise else [],
                    "cves": record["cves"],
                    "spoofable": False,
                    "bot": False,
                    "vpn": False,
                    "vpn_service": "",
                    "tor": False,
                    "metadata": {
                        "asn": f"AS{_digest(ip) % 60000}",
                        "source_country": "",
                        "category": "isp",
                        "source_country_code": "",
                        "source_city": "",
                        "region": "",
                        "organization": "",
                        "rdns": "",
                        "os": "",
                        "mobile": False,
                        "destination_countries": [],
                        "destination_country_codes": [],
                        "single_destination": False,
                    },
                    "raw_data": {
                        "scan": [],
                        "ja3": [],
                        "hassh": [],
                        "http": {"path": [], "useragent": []},
                        "source": {"bytes": 0},
                        "tls": {"ja4": []},
                    },
                },
                "request_metadata": {"restricted_fields": []},
            }
        )

    async def _ping(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "message": "pong",
                "offering": "community",
                "expiration": "2099-12-31",
                "address": request.remote or "",
            }
        )
