"""Toxic values: bad input is refused with a one-line message; JSON round-trips."""

from __future__ import annotations

from typing import Any

import pytest

from interlock.errors import ConfigError
from interlock.faults import TOXIC_TYPES, FaultExists, FaultNotFound, Proxy, Toxic
from interlock.faults.effects import FLOWS


@pytest.mark.parametrize(
    ("type", "options", "message"),
    [
        (
            "lag",
            {},
            "unknown toxic type 'lag' (use one of bandwidth, latency, limit_data, "
            "reset_peer, slicer, slow_close, timeout)",
        ),
        ("latencyy", {}, "unknown toxic type 'latencyy' (did you mean 'latency'?)"),
        ("latency", {"latency": -5}, "toxic latency: latency (ms) must be >= 0, got -5"),
        ("latency", {"latency": 100, "toxicity": 1.5}, "toxicity must be between 0 and 1, got 1.5"),
        (
            "latency",
            {"direction": "sideways"},
            "toxic direction must be 'upstream' or 'downstream', got 'sideways'",
        ),
        (
            "latency",
            {"latenc": 100},
            "toxic latency has no attribute latenc (known: jitter, latency)",
        ),
        ("bandwidth", {}, "toxic bandwidth: rate (KB/s, 1 KB = 1000 bytes) is required"),
        ("bandwidth", {"rate": 0}, "toxic bandwidth: rate (KB/s, 1 KB = 1000 bytes) must be > 0"),
        ("limit_data", {"bytes": 1.5}, "toxic limit_data: bytes (bytes) must be a whole number"),
        (
            "slicer",
            {"average_size": 10, "size_variation": 10},
            "slicer size_variation must be smaller than average_size, got 10 >= 10",
        ),
        ("timeout", {"timeout": "soon"}, "toxic timeout: timeout (ms, 0 = hold forever) must be a"),
        ("latency", {"every": 0}, "toxic 'every' must be a whole number >= 1"),
        ("latency", {"duration": -1}, "toxic duration must be > 0 seconds, got -1"),
        ("latency", {"name": "a/b"}, "toxic name must be 1-64 letters, digits"),
    ],
)
def test_bad_toxic_is_refused_with_a_one_line_message(
    type: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Toxic.build(type, **options)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_proxy_refuses_bad_toxics_before_touching_its_state(echo: tuple[str, int]) -> None:
    proxy = Proxy(echo)
    with pytest.raises(ConfigError, match="unknown toxic type 'lag'"):
        proxy.add_toxic("lag")
    with pytest.raises(ConfigError, match=r"latency \(ms\) must be >= 0, got -1"):
        proxy.add_toxic("latency", latency=-1)
    with pytest.raises(ConfigError, match=r"toxicity must be between 0 and 1, got 1\.5"):
        proxy.add_toxic("latency", latency=10, toxicity=1.5)
    assert proxy.toxics() == []


def test_duplicate_and_missing_toxic_names_are_refused(echo: tuple[str, int]) -> None:
    proxy = Proxy(echo, name="db")
    proxy.add_toxic("latency", latency=10)
    with pytest.raises(
        FaultExists, match="proxy 'db' already has a toxic named 'latency_downstream'"
    ):
        proxy.add_toxic("latency", latency=20)
    with pytest.raises(FaultNotFound, match="proxy 'db' has no toxic named 'nope'"):
        proxy.remove_toxic("nope")


def test_defaults_follow_toxiproxy() -> None:
    toxic = Toxic.build("latency", latency=100)
    assert toxic.name == "latency_downstream"
    assert toxic.direction == "downstream"
    assert toxic.toxicity == 1.0
    assert dict(toxic.attributes) == {"latency": 100, "jitter": 0}


def test_json_round_trips_in_toxiproxy_shape() -> None:
    data = {
        "name": "slow",
        "type": "slicer",
        "stream": "upstream",
        "toxicity": 0.5,
        "attributes": {"average_size": 64, "size_variation": 8, "delay": 100},
        "every": 3,
        "duration": 2.0,
    }
    toxic = Toxic.from_dict(data)
    assert toxic.direction == "upstream"
    assert toxic.to_dict() == data
    assert Toxic.from_dict(toxic.to_dict()) == toxic


def test_json_with_unknown_fields_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown toxic field direction"):
        Toxic.from_dict({"type": "latency", "direction": "upstream"})


def test_every_toxic_type_has_a_behaviour() -> None:
    assert set(FLOWS) == set(TOXIC_TYPES)
