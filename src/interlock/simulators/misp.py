"""MISP simulator: what PyMISP's constructor calls, and restSearch over seeded IP attributes.

Seed data (``POST /__interlock/seed``), every key optional::

    {"ips": {"45.83.64.1": {"malicious": true, "score": 95, "event": "Log4Shell scanners",
                            "tags": ["tlp:white"], "type": "ip-src", "comment": "..."}},
     "version": "2.5.34",
     "api_keys": ["<40 alphanumerics>"]}      # default: any 40-alphanumeric key is valid

Each seeded IP becomes one attribute (``to_ids`` follows ``malicious``) in the event named
by ``event`` (attributes naming the same event share it); the event's threat level follows
the highest ``score`` in it. MISP knows only what it was given, so an unseeded IP finds
nothing, the same every run. An entry's ``timestamp`` (epoch seconds, default now) dates
its attribute and, when it creates the event, the event's date.

restSearch applies MISP's time filters (PyMISP's ``search(date_from=, date_to=,
timestamp=, publish_timestamp=, last=, event_timestamp=, attribute_timestamp=)``):
epoch seconds, ``7d``/``12h``/``30m`` ago, dates, or ``[from, to]`` ranges.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Refused, Simulator, json_response

__all__ = ["MISPSimulator"]

AUTH_FAILED = (
    "Authentication failed. Please make sure you pass the API key of an API enabled user "
    "along in the Authorization header."
)
DEFAULT_EVENT = "Interlock seeded indicators"
#: a consistent subset of MISP's describeTypes (PyMISP falls back to its own copy on failure)
NETWORK_TYPES = ("ip-src", "ip-dst", "domain", "hostname", "url")
DESCRIBE_TYPES = {
    "categories": ["Payload delivery", "Network activity", "External analysis", "Other"],
    "types": [*NETWORK_TYPES, "md5", "sha256", "text"],
    "category_type_mappings": {
        "Payload delivery": [*NETWORK_TYPES, "md5", "sha256", "text"],
        "Network activity": [*NETWORK_TYPES, "text"],
        "External analysis": [*NETWORK_TYPES, "md5", "sha256", "text"],
        "Other": ["text"],
    },
    "sane_defaults": {
        **{t: {"default_category": "Network activity", "to_ids": 1} for t in NETWORK_TYPES},
        "md5": {"default_category": "Payload delivery", "to_ids": 1},
        "sha256": {"default_category": "Payload delivery", "to_ids": 1},
        "text": {"default_category": "Other", "to_ids": 0},
    },
}
ORG = {"id": "1", "name": "ORGNAME", "uuid": "c5de83b4-36ba-49d6-9530-2a315caeece6", "local": True}
#: the admin role's perm_* flags, all granted
PERMISSIONS = (
    "add", "modify", "modify_org", "publish", "delegate", "sync", "admin", "audit", "auth",
    "site_admin", "regexp_access", "tagger", "template", "sharing_group", "tag_editor",
    "sighting", "object_template", "galaxy_editor", "warninglist", "publish_zmq",
    "publish_kafka", "decaying", "view_feed_correlations",
)  # fmt: skip
_KEY = re.compile(r"[A-Za-z0-9]{40}")
_NAMESPACE = uuid.UUID("5f1f6a52-0b8a-4c1e-9d0e-6c1f4f5e9a11")


def _threat_level(score: int) -> str:
    """1 high, 2 medium, 3 low, 4 undefined."""
    return "1" if score >= 75 else "2" if score >= 40 else "3" if score > 0 else "4"


def _matches(candidates: list[str], spec: Any) -> bool:
    """MISP's filter grammar: a value, a list (``!`` negates), or {"OR"|"AND"|"NOT": [...]}."""
    if spec is None or spec == []:
        return True
    if isinstance(spec, dict):
        ors, ands, nots = (list(_as_list(spec.get(k))) for k in ("OR", "AND", "NOT"))
        return (
            (not ors or any(_hit(candidates, v) for v in ors))
            and all(_hit(candidates, v) for v in ands)
            and not any(_hit(candidates, v) for v in nots)
        )
    values = _as_list(spec)
    positive = [v for v in values if not v.startswith("!")]
    negative = [v[1:] for v in values if v.startswith("!")]
    return (not positive or any(_hit(candidates, v) for v in positive)) and not any(
        _hit(candidates, v) for v in negative
    )


#: the restSearch filters the simulator applies
SEARCH_FILTERS = frozenset(
    {
        "returnFormat",
        "value",
        "type",
        "category",
        "eventid",
        "tags",
        "to_ids",
        "limit",
        "page",
        "metadata",
        "from",
        "to",
        "timestamp",
        "publish_timestamp",
        "last",
        "event_timestamp",
        "attribute_timestamp",
    }
)
#: flags PyMISP always sends; off they change nothing, on they are not simulated
SEARCH_FLAGS = frozenset(
    {
        "withAttachments",
        "enforceWarninglist",
        "includeEventUuid",
        "includeEventTags",
        "sgReferenceOnly",
        "includeContext",
        "headerless",
        "includeSightings",
        "includeDecayScore",
        "includeCorrelations",
        "excludeDecayed",
    }
)
_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def _moment(value: Any, now: float, *, end_of_day: bool = False) -> float:
    """A MISP time filter value as epoch seconds: a number, ``7d``/``12h``/``30m`` (that long
    ago), or a date (``YYYY-MM-DD``; its last second with ``end_of_day``)."""
    text = str(value).strip()
    if relative := _RELATIVE.match(text):
        return now - int(relative.group(1)) * _UNIT_S[relative.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(400, message=f"Invalid time filter value: {text}") from None
    start = moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()
    return start + 86_399 if end_of_day and len(text) == 10 else start


def _within(moment: float, spec: Any, now: float, *, end_of_day: bool = False) -> bool:
    """Whether ``moment`` passes a time filter: at or after one value, or inside [from, to]."""
    if spec in (None, "", [], False):
        return True
    if isinstance(spec, list | tuple):
        low, high = spec[0], spec[1] if len(spec) > 1 else None
        return (not low or moment >= _moment(low, now)) and (
            not high or moment <= _moment(high, now, end_of_day=end_of_day)
        )
    return moment >= _moment(spec, now)


def _as_list(spec: Any) -> list[str]:
    if spec is None:
        return []
    return [str(v) for v in spec] if isinstance(spec, list | tuple) else [str(spec)]


def _hit(candidates: list[str], pattern: str) -> bool:
    # SQL LIKE semantics: % is a wildcard; MySQL compares case-insensitively
    regex = re.compile(".*".join(re.escape(p) for p in pattern.split("%")), re.IGNORECASE)
    return any(regex.fullmatch(c) for c in candidates)


class MISPSimulator(Simulator):
    """Speaks MISP's JSON API; ``PyMISP(url, key, ssl=False)`` connects to it unchanged."""

    name = "misp"
    seed_keys = frozenset({"ips", "version", "api_keys"})
    serves = "what PyMISP's constructor calls, events/view and restSearch of attributes and events"

    def reset_state(self) -> None:
        self.api_keys: set[str] | None = None
        self.version = "2.5.34"
        self.events: dict[str, dict[str, Any]] = {}
        #: bare attributes; their Event and Tag are filled in when served
        self.attributes: list[dict[str, Any]] = []
        self.scores: dict[str, int] = {}

    def state(self) -> dict[str, Any]:
        return {"events": list(self.events.values()), "attributes": self.attributes}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "version" in data:
            if not re.fullmatch(r"\d+(\.\d+)*", str(data["version"])):
                raise ConfigError("misp version must be dotted numbers, e.g. 2.5.34")
            self.version = str(data["version"])
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        for ip, entry in dict(data.get("ips") or {}).items():
            if not isinstance(entry, dict):
                raise ConfigError(f"misp seed ips[{ip!r}] must be an object")
            self._add_attribute(ip, entry)

    def _add_attribute(self, ip: str, entry: dict[str, Any]) -> None:
        score = int(entry.get("score", 90 if entry.get("malicious") else 0))
        malicious = bool(entry.get("malicious", score >= 50))
        now = str(int(float(entry.get("timestamp", time.time()))))
        event = self._event(str(entry.get("event", DEFAULT_EVENT)), now)
        event["timestamp"] = max(event["timestamp"], now, key=int)
        self.scores[event["id"]] = max(score, self.scores.get(event["id"], 0))
        event["threat_level_id"] = _threat_level(self.scores[event["id"]])
        self.attributes = [
            a for a in self.attributes if not (a["value"] == ip and a["event_id"] == event["id"])
        ]
        self.attributes.append(
            {
                "id": str(max((int(a["id"]) for a in self.attributes), default=0) + 1),
                "event_id": event["id"],
                "object_id": "0",
                "object_relation": None,
                "category": entry.get("category", "Network activity"),
                "type": entry.get("type", "ip-dst"),
                "to_ids": malicious,
                "uuid": str(uuid.uuid5(_NAMESPACE, f"{event['id']}/{ip}")),
                "timestamp": now,
                "distribution": "5",
                "sharing_group_id": "0",
                "comment": entry.get("comment", ""),
                "deleted": False,
                "disable_correlation": False,
                "value": ip,
                "first_seen": None,
                "last_seen": None,
                "tags": list(entry.get("tags", [])),
            }
        )
        event["attribute_count"] = str(sum(a["event_id"] == event["id"] for a in self.attributes))

    def _event(self, info: str, now: str) -> dict[str, Any]:
        for event in self.events.values():
            if event["info"] == info:
                return event
        event_id = str(len(self.events) + 1)
        self.events[event_id] = {
            "id": event_id,
            "orgc_id": "1",
            "org_id": "1",
            "date": datetime.fromtimestamp(int(now), UTC).date().isoformat(),
            "threat_level_id": "4",
            "info": info,
            "published": True,
            "uuid": str(uuid.uuid5(_NAMESPACE, f"event/{info}")),
            "attribute_count": "0",
            "analysis": "2",
            "timestamp": now,
            "distribution": "1",
            "proposal_email_lock": False,
            "locked": False,
            "publish_timestamp": now,
            "sharing_group_id": "0",
            "disable_correlation": False,
            "extends_uuid": "",
            "protected": None,
            "event_creator_email": "admin@admin.test",
        }
        return self.events[event_id]

    # -- wire format ------------------------------------------------------------------
    def error_response(self, status: int, message: str, url: str = "") -> web.Response:
        return json_response({"name": message, "message": message, "url": url}, status=status)

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("Authorization") or request.headers.get("X-MISP-AUTH") or ""
        valid = key in self.api_keys if self.api_keys is not None else bool(_KEY.fullmatch(key))
        return None if valid else self.error_response(403, AUTH_FAILED, url=request.path)

    def routes(self) -> list[web.RouteDef]:
        routes = []
        for path, handler in (
            ("/servers/getVersion", self._version),
            ("/servers/getPyMISPVersion", self._pymisp_version),
            ("/users/view/me", self._me),
            ("/attributes/describeTypes", self._describe_types),
            ("/events/view/{event_id}", self._view_event),
        ):
            routes += [web.get(path, handler), web.get(path + ".json", handler)]
        for path, handler in (
            ("/attributes/restSearch", self._search_attributes),
            ("/events/restSearch", self._search_events),
        ):
            routes += [web.post(path, handler), web.post(path + ".json", handler)]
        return routes

    async def _version(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "version": self.version,
                "pymisp_recommended_version": self.version,
                "perm_sync": False,
                "perm_sighting": True,
                "perm_galaxy_editor": False,
                "request_encoding": ["gzip", "br"],
                "filter_sightings": True,
            }
        )

    async def _pymisp_version(self, request: web.Request) -> web.Response:
        return json_response({"version": self.version})

    async def _describe_types(self, request: web.Request) -> web.Response:
        return json_response({"result": DESCRIBE_TYPES})

    async def _me(self, request: web.Request) -> web.Response:
        now = str(int(time.time()))
        user = {
            "id": "1", "org_id": "1", "role_id": "1", "email": "admin@admin.test",
            "password": "*****", "disabled": False, "autoalert": False, "contactalert": False,
            "termsaccepted": True, "change_pw": False, "current_login": now, "last_login": now,
            "nids_sid": "4000000", "server_id": "0", "invited_by": "0", "gpgkey": None,
        }  # fmt: skip
        role = {
            "id": "1", "name": "admin", "default_role": False, "enforce_rate_limit": False,
            "rate_limit_count": "0", "permission": "3", "permission_description": "publish",
            **{f"perm_{perm}": True for perm in PERMISSIONS},
        }  # fmt: skip
        # UserSetting must be [] or a dict: PyMISP calls .items() on a non-empty one
        return json_response({"User": user, "Role": role, "UserSetting": [], "Organisation": ORG})

    async def _view_event(self, request: web.Request) -> web.Response:
        event = self.events.get(request.match_info["event_id"])
        if event is None:
            return self.error_response(404, "Invalid event", url=request.path)
        return json_response({"Event": self._full_event(event)})

    # -- restSearch -------------------------------------------------------------------
    async def _query(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            query = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            return self.error_response(400, "Invalid JSON body", url=request.path)
        if not isinstance(query, dict):
            return self.error_response(400, "The request body must be an object", url=request.path)
        fmt = query.get("returnFormat", "json")
        if fmt != "json":
            return self.error_response(
                501, f"not simulated: the {fmt} return format", url=request.path
            )
        unserved = sorted(
            key
            for key, value in query.items()
            if key not in SEARCH_FILTERS and not (key in SEARCH_FLAGS and not value)
        )
        if unserved:
            # a filter answered as if absent would return more than MISP does
            return self.error_response(
                501, f"not simulated: restSearch filter {unserved[0]}", url=request.path
            )
        return query

    def _tags(self, attribute: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": str(sum(map(ord, name))),
                "name": name,
                "colour": "#ffffff",
                "exportable": True,
                "numerical_value": None,
                "is_galaxy": False,
                "is_custom_galaxy": False,
                "local": 0,
            }
            for name in attribute["tags"]
        ]

    def _served(self, attribute: dict[str, Any]) -> dict[str, Any]:
        served = {k: v for k, v in attribute.items() if k != "tags"}
        served["Tag"] = self._tags(attribute)
        return served

    def _selected(self, query: dict[str, Any], controller: str) -> list[dict[str, Any]]:
        to_ids = query.get("to_ids")
        now = time.time()
        # ``timestamp`` is the attribute's on /attributes and the event's on /events
        own = "attribute_timestamp" if controller == "events" else "timestamp"
        event_wide = "timestamp" if controller == "events" else "event_timestamp"
        return [
            a
            for a in self.attributes
            if _within(float(a["timestamp"]), query.get(own), now)
            and _within(float(a["timestamp"]), query.get("attribute_timestamp"), now)
            and self._event_within(self.events[a["event_id"]], query, event_wide, now)
            and _matches([a["value"]], query.get("value"))
            and _matches([a["type"]], query.get("type"))
            and _matches([a["category"]], query.get("category"))
            and _matches([a["event_id"]], query.get("eventid"))
            and _matches(a["tags"], query.get("tags"))
            and (to_ids is None or bool(int(to_ids)) == a["to_ids"])
        ]

    @staticmethod
    def _event_within(event: dict[str, Any], query: dict[str, Any], stamp: str, now: float) -> bool:
        """The event-level time filters: from/to (its date), its (publish) timestamp, last."""
        day = datetime.fromisoformat(event["date"]).replace(tzinfo=UTC).timestamp()
        return (
            _within(float(event["timestamp"]), query.get(stamp), now)
            and _within(float(event["publish_timestamp"]), query.get("publish_timestamp"), now)
            and _within(float(event["publish_timestamp"]), query.get("last"), now)
            and _within(day, query.get("from"), now)
            and _within(day, [0, query["to"]] if query.get("to") else None, now, end_of_day=True)
        )

    @staticmethod
    def _page(items: list[Any], query: dict[str, Any]) -> list[Any]:
        limit = int(query.get("limit") or 0)
        if not limit:
            return items
        page = max(1, int(query.get("page") or 1))
        return items[(page - 1) * limit : page * limit]

    async def _search_attributes(self, request: web.Request) -> web.Response:
        query = await self._query(request)
        if isinstance(query, web.Response):
            return query
        found = []
        for attribute in self._page(self._selected(query, "attributes"), query):
            event = self.events[attribute["event_id"]]
            found.append(
                {
                    **self._served(attribute),
                    "Event": {
                        key: event[key]
                        for key in ("org_id", "distribution", "id", "info", "orgc_id", "uuid")
                    },
                }
            )
        return json_response({"response": {"Attribute": found}})

    async def _search_events(self, request: web.Request) -> web.Response:
        query = await self._query(request)
        if isinstance(query, web.Response):
            return query
        event_ids = sorted({a["event_id"] for a in self._selected(query, "events")}, key=int)
        events = [
            self._full_event(self.events[i], metadata=bool(query.get("metadata")))
            for i in self._page(event_ids, query)
        ]
        return json_response({"response": [{"Event": event} for event in events]})

    def _full_event(self, event: dict[str, Any], *, metadata: bool = False) -> dict[str, Any]:
        full = {
            **event,
            "Org": ORG,
            "Orgc": ORG,
            "Tag": [],
            "Galaxy": [],
            "ShadowAttribute": [],
            "RelatedEvent": [],
            "Object": [],
            "EventReport": [],
            "CryptographicKey": [],
        }
        if not metadata:
            full["Attribute"] = [
                self._served(a) for a in self.attributes if a["event_id"] == event["id"]
            ]
        return full
