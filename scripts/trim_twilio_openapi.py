"""Trim Twilio's published OpenAPI description to the Messages operations the simulator serves.

Usage::

    python scripts/trim_twilio_openapi.py TWILIO_API_V2010_JSON \\
        > src/interlock/simulators/specs/twilio/openapi.json

``TWILIO_API_V2010_JSON`` is ``spec/json/twilio_api_v2010.json`` from
https://github.com/twilio/twilio-oai (MIT). The output keeps the Messages paths, each
operation's parameters and form body (descriptions dropped) and the enums they refer to.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from _trim import main

PATHS = (
    "/2010-04-01/Accounts/{AccountSid}/Messages.json",
    "/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json",
)
METHODS = ("get", "post", "delete")


def strip(schema: Any) -> Any:
    """The schema without prose."""
    if isinstance(schema, dict):
        return {k: strip(v) for k, v in schema.items() if k not in ("description", "x-twilio")}
    if isinstance(schema, list):
        return [strip(item) for item in schema]
    return schema


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path in PATHS:
        for method in METHODS:
            operation = spec["paths"][path].get(method)
            if operation is None:
                continue
            kept = {"operationId": operation["operationId"]}
            if "parameters" in operation:
                kept["parameters"] = strip(operation["parameters"])
            if "requestBody" in operation:
                kept["requestBody"] = strip(operation["requestBody"])
            paths.setdefault(path, {})[method] = kept
    names = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(paths)))
    schemas = {name: strip(spec["components"]["schemas"][name]) for name in sorted(names)}
    return {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "x-source": "https://github.com/twilio/twilio-oai spec/json/twilio_api_v2010.json, "
            "trimmed by scripts/trim_twilio_openapi.py; MIT licence in LICENSE",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv, trim, "trim_twilio_openapi.py TWILIO_API_V2010_JSON"))
