"""Airtable simulator: records of tables in bases, with Airtable's paging, errors and rate limit.

Each base takes 5 requests a second; the request over the limit gets 429 and so does
every request in the penalty period after it (30 s in the real service; seed
``{"rate_limit": {"penalty_s": 0.2}}`` to keep tests fast). ``filterByFormula`` is
evaluated for the subset pyairtable's ``match()`` writes: ``{Field}=value`` comparisons,
``AND()``, ``OR()``, ``NOT()``, ``TRUE()``, ``FALSE()`` and ``RECORD_ID()``.
"""

from __future__ import annotations

import json
import string
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.airtable_formula import compile_formula
from interlock.simulators.base import Refused, Simulator, json_response

__all__ = ["AirtableSimulator"]

MAX_BATCH = 10
MAX_PAGE = 100
MAX_CURSORS = 1000
MODEL_NOT_FOUND = (
    "Invalid permissions, or the requested model was not found. Check that both "
    "your user and your token have the required permissions, and that the model "
    "names and/or ids are correct."
)
RATE_LIMITED = {
    "errors": [
        {"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
    ]
}
Record = dict[str, Any]
Predicate = Callable[[Record], Any]


def _error_body(status: int, kind: str, message: str) -> web.Response:
    return json_response({"error": {"type": kind, "message": message}}, status=status)


def _error(status: int, kind: str, message: str) -> Refused:
    return Refused(status, {"error": {"type": kind, "message": message}})


def _invalid(message: str, kind: str = "INVALID_REQUEST_UNKNOWN") -> Refused:
    return _error(422, kind, message)


@dataclass
class Table:
    id: str
    name: str
    #: declared field names; None accepts any field
    fields: set[str] | None = None
    records: dict[str, Record] = field(default_factory=dict)


def _sort_key(value: Any) -> tuple[bool, bool, Any]:
    """Empty cells last, numbers before text, each compared as its own kind."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return value is None, not number, value if number else str(value)


class AirtableSimulator(Simulator):
    """``/v0/{baseId}/{tableIdOrName}[/{recordId}]`` with bearer personal access tokens."""

    name = "airtable"
    seed_keys = frozenset({"api_keys", "bases", "rate_limit"})
    serves = (
        "records of a table: list (GET and POST listRecords), get, create, update, upsert, delete"
    )

    def reset_state(self) -> None:
        self.api_keys: set[str] | None = None  # None: any token starting "pat" is valid
        self.bases: dict[str, dict[str, Table]] = {}
        self.per_second: int | None = 5
        self.penalty_s = 30.0
        self.windows: dict[str, deque[float]] = {}
        self.penalty_until: dict[str, float] = {}
        #: offset -> (table id, ids still to list); Airtable's iterators, oldest first
        self.cursors: OrderedDict[str, tuple[str, list[str]]] = OrderedDict()

    def state(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "bases": {
                base: {
                    t.name: {"id": t.id, "records": list(t.records.values())}
                    for t in tables.values()
                }
                for base, tables in self.bases.items()
            },
            "rate_limit": {"per_second": self.per_second, "penalty_s": self.penalty_s},
            "penalized_for_s": {
                base: round(until - now, 3)
                for base, until in self.penalty_until.items()
                if until > now
            },
        }

    def seed_data(self, data: dict[str, Any]) -> None:
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        if "rate_limit" in data:
            limits = data["rate_limit"] or {}
            self.per_second = limits.get("per_second", self.per_second)
            self.penalty_s = float(limits.get("penalty_s", self.penalty_s))
        for base_id, tables in (data.get("bases") or {}).items():
            known = self.bases.setdefault(base_id, {})
            for name, spec in tables.items():
                spec = spec or {}
                table = self._lookup(base_id, name) or Table(
                    spec.get("id") or self._new_id("tbl"),
                    name,
                    set(spec["fields"]) if spec.get("fields") is not None else None,
                )
                known[name] = table
                for record in spec.get("records", []):
                    if not isinstance(record.get("fields"), dict):
                        raise ConfigError(f"a record of {base_id}/{name} needs a fields object")
                    self._store(
                        table, record["fields"], record.get("id"), record.get("createdTime")
                    )

    def authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token:
            return _error_body(401, "AUTHENTICATION_REQUIRED", "Authentication required")
        valid = token in self.api_keys if self.api_keys is not None else token.startswith("pat")
        if valid:
            return None
        return _error_body(401, "UNAUTHORIZED", "Invalid authentication token")

    def error_response(self, status: int, message: str) -> web.Response:
        if status == 429:
            return json_response(RATE_LIMITED, status=429)
        if status == 404:
            return json_response({"error": "NOT_FOUND"}, status=404)
        kind = {
            400: "INVALID_REQUEST_UNKNOWN",
            401: "AUTHENTICATION_REQUIRED",
            403: "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
            413: "REQUEST_TOO_LARGE",
            422: "INVALID_REQUEST_UNKNOWN",
        }.get(status, "SERVER_ERROR")
        return _error_body(status, kind, message)

    def routes(self) -> list[web.RouteDef]:
        table, record = "/v0/{base}/{table}", "/v0/{base}/{table}/{record}"
        return [
            # the metadata API (bases, schemas) would otherwise look like a table
            web.route("*", "/v0/meta/{tail:.*}", self._not_simulated),
            web.get(table, self._handler(self._list)),
            web.post(table + "/listRecords", self._handler(self._list)),
            web.post(table, self._handler(self._create)),
            web.patch(table, self._handler(self._update_many)),
            web.put(table, self._handler(self._update_many)),
            web.delete(table, self._handler(self._delete_many)),
            web.get(record, self._handler(self._get)),
            web.patch(record, self._handler(self._update_one)),
            web.put(record, self._handler(self._update_one)),
            web.delete(record, self._handler(self._delete_one)),
        ]

    def _handler(
        self, method: Callable[[web.Request, Table], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            self._admit(request.match_info["base"])
            table = self._lookup(request.match_info["base"], request.match_info["table"])
            if table is None:
                raise _error(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", MODEL_NOT_FOUND)
            return await method(request, table)

        return handle

    # -- the per-base rate limit --------------------------------------------------------
    def _admit(self, base_id: str) -> None:
        if self.per_second is None:
            return
        now = time.monotonic()
        if self.penalty_until.get(base_id, 0.0) > now:
            raise Refused(429, RATE_LIMITED)
        window = self.windows.setdefault(base_id, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.per_second:
            # the penalty replaces the window: after it the base starts afresh
            self.penalty_until[base_id] = now + self.penalty_s
            window.clear()
            raise Refused(429, RATE_LIMITED)
        window.append(now)

    # -- records ------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        alphabet = string.ascii_letters + string.digits
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(14))

    def _lookup(self, base_id: str, name_or_id: str) -> Table | None:
        tables = self.bases.get(base_id, {})
        return tables.get(name_or_id) or next(
            (t for t in tables.values() if t.id == name_or_id), None
        )

    def _fields(self, table: Table, fields: Any) -> dict[str, Any]:
        if not isinstance(fields, dict):
            raise _invalid(
                'Could not find field "fields" in the request body',
                "INVALID_REQUEST_MISSING_FIELDS",
            )
        if table.fields is not None:
            for name in fields:
                if name not in table.fields:
                    raise _invalid(f'Unknown field name: "{name}"', "UNKNOWN_FIELD_NAME")
        return dict(fields)

    def _store(
        self,
        table: Table,
        fields: dict[str, Any],
        record_id: str | None = None,
        created: str | None = None,
    ) -> Record:
        if created is None:
            created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        new_id = record_id or self._new_id("rec")
        record = {"id": new_id, "createdTime": created, "fields": self._fields(table, fields)}
        table.records[new_id] = record
        return self._shown(record)

    @staticmethod
    def _shown(record: Record, only: list[str] | None = None) -> Record:
        # Airtable leaves empty cells (and unchecked boxes) out of a record
        fields = {
            k: v
            for k, v in record["fields"].items()
            if v not in (None, "", [], False) and (only is None or k in only)
        }
        return {**record, "fields": fields}

    def _record(self, table: Table, record_id: Any) -> Record:
        record = table.records.get(record_id) if isinstance(record_id, str) else None
        if record is None:
            raise Refused(404, message="not found")
        return record

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.text() or "{}")
        except json.JSONDecodeError:
            raise _error(
                400, "INVALID_REQUEST_UNKNOWN", "Invalid request: the body is not valid JSON."
            ) from None
        if not isinstance(body, dict):
            raise _invalid("Invalid request: the body must be a JSON object.")
        return body

    @staticmethod
    def _batch(records: Any) -> list[Any]:
        if not isinstance(records, list) or not records:
            raise _invalid("Invalid request: records must be a non-empty array.")
        if len(records) > MAX_BATCH:
            raise _invalid(
                f"Invalid request: at most {MAX_BATCH} records are allowed per "
                f"request, got {len(records)}.",
                "INVALID_RECORDS",
            )
        return records

    # -- handlers -----------------------------------------------------------------------
    async def _list(self, request: web.Request, table: Table) -> web.Response:
        q = request.query
        options: dict[str, Any]
        if request.method == "POST":
            body = await self._body(request)
            options = {
                "pageSize": body.get("pageSize"),
                "maxRecords": body.get("maxRecords"),
                "offset": body.get("offset"),
                "fields": body.get("fields"),
                "sort": body.get("sort") or [],
                "formula": body.get("filterByFormula"),
            }
        else:
            sort, i = [], 0
            while f"sort[{i}][field]" in q:
                sort.append(
                    {
                        "field": q[f"sort[{i}][field]"],
                        "direction": q.get(f"sort[{i}][direction]", "asc"),
                    }
                )
                i += 1
            options = {
                "pageSize": q.get("pageSize"),
                "maxRecords": q.get("maxRecords"),
                "offset": q.get("offset"),
                "fields": q.getall("fields[]", None),
                "sort": sort,
                "formula": q.get("filterByFormula"),
            }
        try:
            page_size = int(options["pageSize"] or MAX_PAGE)
            max_records = int(options["maxRecords"]) if options["maxRecords"] else None
        except (TypeError, ValueError):
            raise _invalid(
                "Invalid request: parameter validation failed. Check your request data."
            ) from None
        if not 1 <= page_size <= MAX_PAGE:
            raise _invalid("Invalid request: parameter validation failed. Check your request data.")
        if options["offset"]:
            cursor = self.cursors.get(str(options["offset"]))
            if cursor is None or cursor[0] != table.id:
                raise _invalid(
                    f"The value of offset {options['offset']} is invalid", "INVALID_OFFSET_VALUE"
                )
            ids = [i for i in cursor[1] if i in table.records]
        else:
            ids = self._query(table, options["formula"], options["sort"], max_records)
        page, rest = ids[:page_size], ids[page_size:]
        body = {"records": [self._shown(table.records[i], options["fields"]) for i in page]}
        if rest:
            offset = f"itr{self._new_id('')}/{page[-1]}"
            self.cursors[offset] = (table.id, rest)
            while len(self.cursors) > MAX_CURSORS:
                self.cursors.popitem(last=False)
            body["offset"] = offset
        return json_response(body)

    def _query(
        self, table: Table, formula: Any, sort: list[dict[str, Any]], max_records: int | None
    ) -> list[str]:
        records = list(table.records.values())
        if formula:
            keep = compile_formula(str(formula))
            records = [r for r in records if keep(self._shown(r))]
        for rule in reversed(sort):  # stable sorts, last key first
            name, descending = rule.get("field"), rule.get("direction") == "desc"
            if table.fields is not None and name not in table.fields:
                raise _invalid(f'Unknown field name: "{name}"', "UNKNOWN_FIELD_NAME")
            records.sort(key=lambda r: _sort_key(r["fields"].get(name)), reverse=descending)
        return [r["id"] for r in records][:max_records]

    async def _get(self, request: web.Request, table: Table) -> web.Response:
        return json_response(self._shown(self._record(table, request.match_info["record"])))

    async def _create(self, request: web.Request, table: Table) -> web.Response:
        body = await self._body(request)
        if "records" not in body:
            return json_response(self._store(table, self._fields(table, body.get("fields"))))
        records = self._batch(body["records"])
        checked = [
            self._fields(table, r.get("fields") if isinstance(r, dict) else None) for r in records
        ]  # all or nothing: validate before storing any
        return json_response({"records": [self._store(table, f) for f in checked]})

    def _apply(self, table: Table, record: Record, fields: dict[str, Any], replace: bool) -> Record:
        record["fields"] = fields if replace else {**record["fields"], **fields}
        return self._shown(record)

    async def _update_one(self, request: web.Request, table: Table) -> web.Response:
        body = await self._body(request)
        record = self._record(table, request.match_info["record"])
        fields = self._fields(table, body.get("fields"))
        return json_response(self._apply(table, record, fields, request.method == "PUT"))

    async def _update_many(self, request: web.Request, table: Table) -> web.Response:
        body = await self._body(request)
        items = self._batch(body.get("records"))
        upsert = body.get("performUpsert")
        merge_on = upsert.get("fieldsToMergeOn") if isinstance(upsert, dict) else None
        if upsert is not None and not (isinstance(merge_on, list) and merge_on):
            raise _invalid("performUpsert.fieldsToMergeOn must be a non-empty array")
        plan: list[tuple[Record | None, dict[str, Any]]] = []
        for item in items:
            fields = self._fields(table, item.get("fields") if isinstance(item, dict) else None)
            if merge_on is None or item.get("id"):
                plan.append((self._record(table, item.get("id")), fields))
                continue
            matches = [
                r
                for r in table.records.values()
                if all(r["fields"].get(k) == fields.get(k) for k in merge_on)
            ]
            if len(matches) > 1:
                raise _invalid(
                    "Cannot update more than one record with the same values for "
                    f"fieldsToMergeOn {merge_on}",
                    "INVALID_RECORDS",
                )
            plan.append((matches[0] if matches else None, fields))
        replace, out, created, updated = request.method == "PUT", [], [], []
        for record, fields in plan:
            if record is None:
                out.append(self._store(table, fields))
                created.append(out[-1]["id"])
            else:
                out.append(self._apply(table, record, fields, replace))
                updated.append(record["id"])
        result: dict[str, Any] = {"records": out}
        if merge_on is not None:
            result.update(createdRecords=created, updatedRecords=updated)
        return json_response(result)

    async def _delete_one(self, request: web.Request, table: Table) -> web.Response:
        record = self._record(table, request.match_info["record"])
        del table.records[record["id"]]
        return json_response({"id": record["id"], "deleted": True})

    async def _delete_many(self, request: web.Request, table: Table) -> web.Response:
        ids = self._batch(request.query.getall("records[]", []))
        for record_id in ids:
            self._record(table, record_id)
        for record_id in ids:
            table.records.pop(record_id, None)
        return json_response({"records": [{"id": i, "deleted": True} for i in ids]})
