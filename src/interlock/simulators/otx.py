"""AlienVault OTX simulator: IPv4/IPv6 indicator sections with seeded pulses.

Seed data (``POST /__interlock/seed``), every key optional::

    {"ips": {"45.83.64.1": {"malicious": true, "score": 95,
                            "pulses": [{"name": "Log4Shell scanners", "tags": ["log4j"],
                                        "malware_families": ["Mirai"], "TLP": "green"}]}},
     "api_keys": ["<64 hex>"]}                  # default: any 64-hex key is valid

A malicious IP seeded without pulses gets one; ``score`` (0-100, how bad) becomes the
reputation section's ``threat_score``; other keys replace the general section's field of
that name. An unseeded IP is in no pulse and has a location derived from a hash of the
address, the same every run.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator, json_response

__all__ = ["OTXSimulator"]

SECTIONS = [
    "general",
    "geo",
    "reputation",
    "url_list",
    "passive_dns",
    "malware",
    "nids_list",
    "http_scans",
]
PLACES = (
    ("AS15169 google llc", "US", "USA", "United States of America", "NA", 37.751, -97.822),
    ("AS24940 hetzner online gmbh", "DE", "DEU", "Germany", "EU", 51.2993, 9.491),
    ("AS16276 ovh sas", "FR", "FRA", "France", "EU", 48.8582, 2.3387),
    ("AS4134 chinanet", "CN", "CHN", "China", "AS", 34.7732, 113.722),
)
#: unseeded indicators are dated from here, so they do not change between runs
EPOCH = 1_700_000_000


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _named(items: list[Any]) -> list[dict[str, Any]]:
    """OTX lists malware families and ATT&CK ids as objects; seeds may give bare names."""
    return [
        item
        if isinstance(item, dict)
        else {"id": str(item), "display_name": str(item), "target": None}
        for item in items
    ]


class OTXSimulator(Simulator):
    """Speaks OTX's DirectConnect v1 JSON; ``OTXv2(key, server=url)`` works unchanged."""

    name = "otx"
    seed_keys = frozenset({"ips", "api_keys"})
    serves = "GET /api/v1/indicators/IPv4|IPv6/{ip}/{section}"

    def reset_state(self) -> None:
        self.ips: dict[str, dict[str, Any]] = {}
        self.seeded_at: dict[str, float] = {}
        self.api_keys: set[str] | None = None

    def state(self) -> dict[str, Any]:
        return {"ips": self.ips}

    def seed_data(self, data: dict[str, Any]) -> None:
        for ip, entry in dict(data.get("ips") or {}).items():
            if not isinstance(entry, dict):
                raise ConfigError(f"otx seed ips[{ip!r}] must be an object")
            if not isinstance(entry.get("pulses", []), list):
                raise ConfigError(f"otx seed ips[{ip!r}].pulses must be a list")
            self.ips[ip] = dict(entry)
            self.seeded_at[ip] = time.time()
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])

    def error_response(self, status: int, message: str) -> web.Response:
        return json_response({"detail": message}, status=status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("X-OTX-API-KEY", "")
        if not key:
            return self.error_response(403, "Authentication credentials were not provided.")
        valid = (
            key in self.api_keys
            if self.api_keys is not None
            else (len(key) == 64 and all(c in "0123456789abcdef" for c in key))
        )
        return None if valid else self.error_response(403, "Invalid API key.")

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/api/v1/indicators/{kind:IPv4|IPv6}/{ip}/{section}", self._section)]

    # -- sections ---------------------------------------------------------------------
    async def _section(self, request: web.Request) -> web.Response:
        kind, ip, section = (request.match_info[k] for k in ("kind", "ip", "section"))
        try:
            valid = f"IPv{ipaddress.ip_address(ip).version}" == kind
        except ValueError:
            valid = False
        if not valid:
            return self.error_response(400, f"Invalid {kind} address: {ip}")
        geo = self._geo(ip)
        if section == "general":
            return json_response(self._general(ip, kind, geo))
        if section == "geo":
            return json_response(geo)
        if section == "reputation":
            return json_response({"reputation": self._reputation(ip, geo)})
        if section == "malware":
            return json_response({"data": [], "size": 0, "count": 0})
        if section == "url_list":
            return json_response(
                {
                    "url_list": [],
                    "page_num": 1,
                    "limit": 10,
                    "paged": True,
                    "has_next": False,
                    "full_size": 0,
                    "actual_size": 0,
                }
            )
        if section == "passive_dns":
            return json_response({"passive_dns": [], "count": 0})
        return self.error_response(404, "Not found.")

    def _verdict(self, ip: str) -> tuple[bool, int, dict[str, Any]]:
        """(malicious, score, the remaining seeded fields) for ``ip``."""
        fields = dict(self.ips.get(ip, {}))
        score = int(fields.pop("score", 90 if fields.get("malicious") else 0))
        return bool(fields.pop("malicious", score >= 50)), score, fields

    def _geo(self, ip: str) -> dict[str, Any]:
        asn, code, code3, country, continent, lat, lon = PLACES[_digest(ip) % len(PLACES)]
        return {
            "asn": asn,
            "city_data": True,
            "city": None,
            "region": None,
            "continent_code": continent,
            "country_code3": code3,
            "country_code2": code,
            "subdivision": None,
            "latitude": lat,
            "postal_code": None,
            "longitude": lon,
            "accuracy_radius": 1000,
            "country_code": code,
            "country_name": country,
            "dma_code": 0,
            "charset": 0,
            "area_code": 0,
            "flag_url": f"/assets/images/flags/{code.lower()}.png",
            "flag_title": country,
        }

    def _general(self, ip: str, kind: str, geo: dict[str, Any]) -> dict[str, Any]:
        malicious, _, fields = self._verdict(ip)
        seeded = fields.pop("pulses", None)
        if seeded is None:
            seeded = [{"name": f"Malicious host {ip}", "tags": ["malicious"]}] if malicious else []
        when = _iso(self.seeded_at.get(ip, EPOCH))
        pulses = [self._pulse(ip, kind, spec, when) for spec in seeded]
        related: dict[str, list[Any]] = {"adversary": [], "malware_families": [], "industries": []}
        for pulse in pulses:
            if pulse["adversary"]:
                related["adversary"].append(pulse["adversary"])
            related["malware_families"] += [m["display_name"] for m in pulse["malware_families"]]
            related["industries"] += pulse["industries"]
        general = {
            "whois": f"http://whois.domaintools.com/{ip}",
            "reputation": 0,
            "indicator": ip,
            "type": kind,
            "type_title": kind,
            "base_indicator": {
                "id": _digest(ip) % 10**10,
                "indicator": ip,
                "type": kind,
                "title": "",
                "description": "",
                "content": "",
                "access_type": "public",
                "access_reason": "",
            }
            if pulses
            else {},
            "pulse_info": {
                "count": len(pulses),
                "pulses": pulses,
                "references": sorted({ref for p in pulses for ref in p["references"]}),
                "related": {
                    "alienvault": {"adversary": [], "malware_families": [], "industries": []},
                    "other": related,
                },
            },
            "false_positive": [],
            "validation": [],
            **geo,
            "sections": SECTIONS,
        }
        general.update(fields)
        return general

    def _pulse(self, ip: str, kind: str, spec: dict[str, Any], when: str) -> dict[str, Any]:
        name = str(spec.get("name", f"Malicious host {ip}"))
        return {
            "id": hashlib.sha256(name.encode()).hexdigest()[:24],
            "name": name,
            "description": spec.get("description", ""),
            "modified": when,
            "created": when,
            "tags": list(spec.get("tags", [])),
            "references": list(spec.get("references", [])),
            "public": 1,
            "adversary": spec.get("adversary", ""),
            "targeted_countries": list(spec.get("targeted_countries", [])),
            "malware_families": _named(spec.get("malware_families", [])),
            "attack_ids": _named(spec.get("attack_ids", [])),
            "industries": list(spec.get("industries", [])),
            "TLP": spec.get("TLP", "white"),
            "cloned_from": None,
            "export_count": 0,
            "upvotes_count": 0,
            "downvotes_count": 0,
            "votes_count": 0,
            "locked": False,
            "pulse_source": "web",
            "validator_count": 0,
            "comment_count": 0,
            "follower_count": 0,
            "vote": 0,
            "author": {
                "username": spec.get("author", "AlienVault"),
                "id": "2",
                "avatar_url": "",
                "is_subscribed": False,
                "is_following": False,
            },
            "indicator_type_counts": {kind: 1},
            "indicator_count": 1,
            "is_author": False,
            "is_subscribing": None,
            "subscriber_count": 0,
            "modified_text": "",
            "is_modified": False,
            "groups": [],
            "in_group": False,
            "threat_hunter_scannable": True,
            "threat_hunter_has_agents": 1,
            "related_indicator_type": kind,
            "related_indicator_is_active": 1,
        }

    def _reputation(self, ip: str, geo: dict[str, Any]) -> dict[str, Any] | None:
        malicious, score, _ = self._verdict(ip)
        if ip not in self.ips or not (malicious or score):
            return None
        when = _iso(self.seeded_at[ip])
        activities = (
            [
                {
                    "name": "Malicious Host",
                    "first_date": when,
                    "last_date": when,
                    "source": "interlock",
                    "data_key": "",
                    "status": 1,
                }
            ]
            if malicious
            else []
        )
        return {
            "threat_score": score,
            "type": "IP",
            "address": ip,
            "as": geo["asn"],
            "country": geo["country_code"],
            "first_seen": when,
            "last_seen": when,
            "counts": {"Malicious Host": len(activities)},
            "activities": activities,
            "domains": [],
            "matched_bl": [],
            "matched_wl": [],
            "up_to_date": True,
        }
