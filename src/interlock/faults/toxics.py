"""Toxics as values: the known types, their attributes and units, validation, and JSON."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypedDict, final

from interlock.errors import ConfigError
from interlock.suggest import did_you_mean

__all__ = [
    "DIRECTIONS",
    "TOXIC_TYPES",
    "Attribute",
    "Direction",
    "Toxic",
    "ToxicOptions",
    "check_name",
]

Direction = Literal["upstream", "downstream"]
#: upstream = bytes from the client to the server; downstream = from the server to the client
DIRECTIONS: tuple[Direction, ...] = ("upstream", "downstream")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@final
@dataclass(frozen=True)
class Attribute:
    """One attribute of a toxic type: its unit, its default (None: required), its kind."""

    unit: str
    default: float | None = 0
    integer: bool = False
    #: zero is refused where it would mean nothing sensible (a rate, a slice size)
    positive: bool = False


#: type -> attribute -> meaning; the names and units are Toxiproxy's
TOXIC_TYPES: Mapping[str, Mapping[str, Attribute]] = MappingProxyType(
    {
        "latency": {"latency": Attribute("ms"), "jitter": Attribute("ms")},
        "bandwidth": {"rate": Attribute("KB/s, 1 KB = 1000 bytes", None, positive=True)},
        "slow_close": {"delay": Attribute("ms")},
        "timeout": {"timeout": Attribute("ms, 0 = hold forever")},
        "reset_peer": {"timeout": Attribute("ms")},
        "slicer": {
            "average_size": Attribute("bytes", None, integer=True, positive=True),
            "size_variation": Attribute("bytes", integer=True),
            "delay": Attribute("microseconds"),
        },
        "limit_data": {"bytes": Attribute("bytes", None, integer=True)},
    }
)
_JSON_KEYS = ("name", "type", "stream", "toxicity", "attributes", "every", "duration")


class ToxicOptions(TypedDict, total=False):
    """What every toxic takes besides its own attributes; see ``Toxic`` for each."""

    name: str
    direction: Direction
    toxicity: float
    every: int
    duration: float


def check_name(what: str, name: object) -> str:
    """Names end up in URLs of the control API: keep them to a safe alphabet."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{what} name must be 1-64 letters, digits, '_', '.' or '-', got {name!r}"
        )
    return name


@final
@dataclass(frozen=True, kw_only=True)
class Toxic:
    """One fault on one direction of a proxy; built with ``Toxic.build`` or ``from_dict``."""

    name: str
    type: str
    direction: Direction
    #: probability that the toxic applies to a given connection, decided once per connection
    toxicity: float
    attributes: Mapping[str, float] = field(default_factory=dict)
    #: apply only to every Nth connection opened after the toxic was added (None: all)
    every: int | None = None
    #: seconds after which the toxic removes itself (None: until removed)
    duration: float | None = None

    @classmethod
    def build(
        cls,
        type: str,
        *,
        name: str | None = None,
        direction: str = "downstream",
        toxicity: float = 1.0,
        every: int | None = None,
        duration: float | None = None,
        **attributes: Any,
    ) -> Toxic:
        """Validate everything and fill in defaults; the name defaults to ``TYPE_DIRECTION``."""
        schema = TOXIC_TYPES.get(type) if isinstance(type, str) else None
        if schema is None:
            raise ConfigError(
                f"unknown toxic type {type!r}",
                hint=did_you_mean(str(type), sorted(TOXIC_TYPES), listing="use one of"),
            )
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"toxic direction must be 'upstream' or 'downstream', got {direction!r}"
            )
        name = check_name("toxic", f"{type}_{direction}" if name is None else name)
        toxicity = _number("toxicity", toxicity)
        if not 0 <= toxicity <= 1:
            raise ConfigError(f"toxicity must be between 0 and 1, got {toxicity}")
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ConfigError(
                f"toxic 'every' must be a whole number >= 1 (every Nth connection), got {every!r}"
            )
        if duration is not None and _number("duration", duration) <= 0:
            raise ConfigError(f"toxic duration must be > 0 seconds, got {duration!r}")
        unknown = set(attributes) - set(schema)
        if unknown:
            raise ConfigError(
                f"toxic {type} has no attribute {', '.join(sorted(unknown))}",
                hint=f"known: {', '.join(sorted(schema))}",
            )
        values = {
            key: _attribute(type, key, spec, attributes.get(key, spec.default))
            for key, spec in schema.items()
        }
        if type == "slicer" and values["size_variation"] >= values["average_size"]:
            raise ConfigError(
                "slicer size_variation must be smaller than average_size, "
                f"got {values['size_variation']} >= {values['average_size']}"
            )
        return cls(
            name=name,
            type=type,
            direction=direction,
            toxicity=toxicity,
            attributes=MappingProxyType(values),
            every=every,
            duration=None if duration is None else float(duration),
        )

    @classmethod
    def from_dict(cls, data: Any) -> Toxic:
        """Toxiproxy's JSON shape (``stream`` is the direction), plus ``every`` and ``duration``."""
        if not isinstance(data, Mapping):
            raise ConfigError(
                "a toxic must be a JSON object",
                hint='e.g. {"type": "latency", "attributes": {"latency": 100}}',
            )
        unknown = set(data) - set(_JSON_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown toxic field {', '.join(sorted(map(str, unknown)))}",
                hint=f"known: {', '.join(_JSON_KEYS)}",
            )
        if "type" not in data:
            raise ConfigError("a toxic needs a type", hint=f"one of {', '.join(TOXIC_TYPES)}")
        attributes = data.get("attributes", {})
        if not isinstance(attributes, Mapping):
            raise ConfigError("toxic attributes must be a JSON object")
        return cls.build(
            data["type"],
            name=data.get("name"),
            direction=data.get("stream", "downstream"),
            toxicity=data.get("toxicity", 1.0),
            every=data.get("every"),
            duration=data.get("duration"),
            **attributes,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.direction,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
            "every": self.every,
            "duration": self.duration,
        }


def _number(field_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{field_name} must be a number, got {value!r}")
    return float(value)


def _attribute(type: str, key: str, spec: Attribute, value: Any) -> float:
    label = f"toxic {type}: {key} ({spec.unit})"
    if value is None:
        raise ConfigError(f"{label} is required")
    number = _number(label, value)
    if number < 0 or (spec.positive and number == 0):
        raise ConfigError(f"{label} must be {'> 0' if spec.positive else '>= 0'}, got {value!r}")
    if spec.integer:
        if not number.is_integer():
            raise ConfigError(f"{label} must be a whole number, got {value!r}")
        return int(number)
    return number
