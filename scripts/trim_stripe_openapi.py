"""Trim Stripe's published OpenAPI description to the operations the simulator serves.

Usage::

    python scripts/trim_stripe_openapi.py SPEC3_JSON \
        > src/interlock/simulators/specs/stripe/openapi.json

``SPEC3_JSON`` is ``openapi/spec3.json`` from https://github.com/stripe/openapi (MIT). The
output keeps, for each simulated operation, its query parameters and its form body schema
(descriptions dropped: the validator needs only types, enums, lengths and required
names), and lists every other operation Stripe publishes, so that the simulator can
refuse those as not simulated rather than as unknown URLs.
"""

from __future__ import annotations

import sys
from typing import Any

from _trim import main

#: (method, path) the simulator serves; everything else Stripe publishes is refused
SIMULATED = [
    ("get", "/v1/customers"),
    ("post", "/v1/customers"),
    ("get", "/v1/customers/{customer}"),
    ("post", "/v1/customers/{customer}"),
    ("delete", "/v1/customers/{customer}"),
    ("get", "/v1/payment_methods"),
    ("post", "/v1/payment_methods"),
    ("get", "/v1/payment_methods/{payment_method}"),
    ("post", "/v1/payment_methods/{payment_method}/attach"),
    ("post", "/v1/payment_methods/{payment_method}/detach"),
    ("get", "/v1/payment_intents"),
    ("post", "/v1/payment_intents"),
    ("get", "/v1/payment_intents/{intent}"),
    ("post", "/v1/payment_intents/{intent}"),
    ("post", "/v1/payment_intents/{intent}/confirm"),
    ("post", "/v1/payment_intents/{intent}/capture"),
    ("post", "/v1/payment_intents/{intent}/cancel"),
    ("get", "/v1/charges"),
    ("get", "/v1/charges/{charge}"),
    ("get", "/v1/refunds"),
    ("post", "/v1/refunds"),
    ("get", "/v1/refunds/{refund}"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{id}"),
    ("get", "/v1/webhook_endpoints"),
    ("post", "/v1/webhook_endpoints"),
    ("get", "/v1/webhook_endpoints/{webhook_endpoint}"),
    ("delete", "/v1/webhook_endpoints/{webhook_endpoint}"),
]
METHODS = ("get", "post", "delete")


def strip(schema: Any) -> Any:
    """The schema without prose: descriptions and titles go, the rules stay."""
    if isinstance(schema, dict):
        return {
            key: strip(value)
            for key, value in schema.items()
            if key not in ("description", "title", "x-stripeBypassValidation")
        }
    if isinstance(schema, list):
        return [strip(item) for item in schema]
    return schema


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in SIMULATED:
        operation = spec["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {})
        form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
        paths.setdefault(path, {})[method] = {
            "operationId": operation["operationId"],
            "parameters": [
                {key: strip(p[key]) for key in ("name", "in", "required", "schema") if key in p}
                for p in operation.get("parameters", [])
            ],
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": strip(form)}}
            },
        }
    simulated = set(SIMULATED)
    others = sorted(
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item and (method, path) not in simulated
    )
    return {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "x-source": "https://github.com/stripe/openapi openapi/spec3.json, trimmed "
            "by scripts/trim_stripe_openapi.py; MIT licence in LICENSE",
        },
        "paths": paths,
        "x-not-simulated": others,
    }


if __name__ == "__main__":
    raise SystemExit(main(sys.argv, trim, "trim_stripe_openapi.py SPEC3_JSON"))
