"""Stripe's request validation, derived from Stripe's published OpenAPI description.

``specs/stripe/openapi.json`` is Stripe's ``openapi/spec3.json`` (github.com/stripe/openapi,
MIT, ``specs/stripe/LICENSE``) trimmed by ``scripts/trim_stripe_openapi.py`` to the
operations the simulator serves, plus the names of every other operation Stripe
publishes. ``StripeSpec.operation(method, path)`` finds a request's operation;
``Operation.validate(params)`` refuses what Stripe refuses, raising ``Failure`` with
Stripe's own message, ``param`` and ``code``:

    unknown parameter     400 parameter_unknown   "Received unknown parameter: emial. Did ..."
    missing parameter     400 parameter_missing   "Missing required param: customer."
    wrong integer         400 parameter_invalid_integer   "Invalid integer: abc"
    empty non-string      400 parameter_invalid_empty
    other wrong type      400 "Invalid boolean: x", "Invalid hash", "Invalid array", ...
    value not in an enum  400 "Invalid reason: must be one of duplicate, fraudulent, or ..."
    unsupported currency  400 "Invalid currency: xyz. Stripe currently supports these ..."

Values arrive as a decoded form (``forms.decode_form``): strings at the leaves, dicts for
``a[b]``, lists for ``a[0]`` and ``a[]``.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from interlock.simulators.stripe_errors import Failure

__all__ = ["CURRENCIES", "Operation", "StripeSpec", "stripe_spec"]

Schema = dict[str, Any]

#: the currencies Stripe accepts for charges (https://docs.stripe.com/currencies); the
#: spec types ``currency`` as a plain string, so this rule is encoded from the docs
_CURRENCY_CODES = (
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl "
    "bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd "
    "fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs "
    "khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk "
    "mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub "
    "rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah "
    "ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw"
)
CURRENCIES = tuple(_CURRENCY_CODES.split())
_INTEGER = re.compile(r"^-?\d+$")
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


def _listing(values: list[str]) -> str:
    """``a, b, or c``, as Stripe lists the allowed values of an enum."""
    shown = [value or "''" for value in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])}, or {shown[-1]}"


def _shape(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"


def _accepts_shape(schema: Schema, value: Any) -> bool:
    kind = schema.get("type")
    if kind in ("object", "array"):
        return bool(kind == _shape(value))
    return _shape(value) == "string"


def check(schema: Schema, value: Any, param: str) -> None:
    """Raise Stripe's ``Failure`` unless ``value`` (a decoded form value) fits ``schema``."""
    if "anyOf" in schema:
        options: list[Schema] = schema["anyOf"]
        failures: list[Failure] = []
        for option in options:
            try:
                check(option, value, param)
                return
            except Failure as failure:
                failures.append(failure)
        # the error of the alternative the value was meant for: a hash for a hash, ...;
        # ``enum: [""]`` only marks a parameter that can be unset, so it explains nothing
        meant = [
            (option, failure)
            for option, failure in zip(options, failures, strict=True)
            if option.get("enum") != [""]
        ] or list(zip(options, failures, strict=True))
        fitting = [failure for option, failure in meant if _accepts_shape(option, value)]
        raise (fitting or [failure for _, failure in meant])[0]
    kind = schema.get("type", "string")
    if kind == "object":
        _check_object(schema, value, param)
    elif kind == "array":
        if value == "":
            raise _empty(param)
        if not isinstance(value, list):
            raise Failure(400, "Invalid array", param=param)
        for index, item in enumerate(value):
            check(schema.get("items", {}), item, f"{param}[{index}]")
    elif not isinstance(value, str):
        raise Failure(400, f"Invalid {kind}: {_show(value)}", param=param)
    elif kind == "integer":
        if value == "":
            raise _empty(param)
        if not _INTEGER.match(value):
            raise Failure(
                400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
            )
    elif kind == "number":
        if value == "":
            raise _empty(param)
        if not _NUMBER.match(value):
            raise Failure(400, f"Invalid decimal: {value}", param=param)
    elif kind == "boolean":
        if value == "":
            raise _empty(param)
        if value not in ("true", "false"):
            raise Failure(400, f"Invalid boolean: {value}", param=param)
    else:
        _check_string(schema, value, param)


def _check_string(schema: Schema, value: str, param: str) -> None:
    name = param.rsplit("[", 1)[-1].rstrip("]")
    if "enum" in schema and value not in schema["enum"]:
        raise Failure(
            400, f"Invalid {name}: must be one of {_listing(schema['enum'])}", param=param
        )
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise Failure(
            400,
            f"Invalid string: {value[:20]}...; must be at most {schema['maxLength']} characters",
            param=param,
        )
    if name == "currency" and value.lower() not in CURRENCIES:
        raise Failure(
            400,
            f"Invalid currency: {value.lower()}. Stripe currently supports these currencies: "
            f"{', '.join(CURRENCIES)}",
            param=param,
        )


def _check_object(schema: Schema, value: Any, param: str) -> None:
    if value == "":
        raise _empty(param)
    if not isinstance(value, dict):
        raise Failure(400, "Invalid hash", param=param)
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        name = f"{param}[{key}]" if param else key
        if key in properties:
            check(properties[key], item, name)
        elif isinstance(extra, dict):
            check(extra, item, name)
        elif properties or extra is False:
            raise _unknown(name, key, list(properties))
    for key in schema.get("required", []):
        if key not in value:
            name = f"{param}[{key}]" if param else key
            raise Failure(
                400, f"Missing required param: {name}.", param=name, code="parameter_missing"
            )


def _unknown(name: str, key: str, known: list[str]) -> Failure:
    message = f"Received unknown parameter: {name}"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        message += f". Did you mean {close[0]}?"
    return Failure(400, message, param=name, code="parameter_unknown")


def _empty(param: str) -> Failure:
    return Failure(
        400,
        f"You passed an empty string for '{param}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{param}' cannot be unset. You should remove '{param}' "
        "from your request or supply a non-empty value.",
        param=param,
        code="parameter_invalid_empty",
    )


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: its method, path template and the schema of its params."""

    method: str
    path: str
    operation_id: str
    #: the parameters (query ones, and the form body's) as one object schema; None for an
    #: operation Stripe publishes and the simulator does not serve
    params: Schema | None

    @property
    def simulated(self) -> bool:
        return self.params is not None

    def validate(self, params: dict[str, Any]) -> None:
        """Raise ``Failure`` with Stripe's error for the first thing Stripe would refuse."""
        if self.params is not None:
            check(self.params, params, "")


class StripeSpec:
    """Every operation Stripe publishes, those the simulator serves with their schemas."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.version: str = document["info"]["version"]
        operations: list[tuple[re.Pattern[str], Operation]] = []
        for path, item in document["paths"].items():
            for method, spec in item.items():
                operations.append(
                    (
                        _pattern(path),
                        Operation(method.upper(), path, spec["operationId"], _params(spec)),
                    )
                )
        for name in document.get("x-not-simulated", []):
            method, path = name.split(" ", 1)
            operations.append((_pattern(path), Operation(method, path, "", None)))
        # a literal segment wins over a template: /v1/customers/search before /{customer}
        operations.sort(key=lambda entry: (entry[1].path.count("{"), -len(entry[1].path)))
        self._operations = operations

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path``; None when Stripe has no such URL."""
        for pattern, operation in self._operations:
            if operation.method == method and pattern.match(path):
                return operation
        return None

    def simulated(self) -> list[Operation]:
        return [op for _, op in self._operations if op.simulated]

    def not_simulated(self) -> list[Operation]:
        return [op for _, op in self._operations if not op.simulated]


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


def _params(spec: dict[str, Any]) -> Schema:
    properties: dict[str, Schema] = {}
    required: list[str] = []
    for parameter in spec.get("parameters", []):
        if parameter["in"] != "query":
            continue
        properties[parameter["name"]] = parameter["schema"]
        if parameter.get("required"):
            required.append(parameter["name"])
    content = spec.get("requestBody", {}).get("content", {})
    body = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
    properties.update(body.get("properties", {}))
    required.extend(body.get("required", []))
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


@cache
def stripe_spec() -> StripeSpec:
    """The shipped description, read once per process."""
    text = resources.files("interlock.simulators").joinpath("specs/stripe/openapi.json").read_text()
    return StripeSpec(json.loads(text))
