"""Every simulator refuses seed data it does not understand, naming the key."""

from __future__ import annotations

import pytest

from interlock.errors import ConfigError
from interlock.simulators import REGISTRY, load_simulator


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_an_unknown_seed_key_is_refused_by_name(name):
    simulator = load_simulator(name)()
    with pytest.raises(ConfigError, match=r"unknown .* seed key\(s\) api_kyes"):
        simulator.apply_seed({"api_kyes": ["x"]})


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_baseline_is_checked_like_any_seed(name):
    simulator = load_simulator(name)()
    with pytest.raises(ConfigError, match="api_kyes"):
        simulator.set_baseline({"api_kyes": ["x"]})
    assert simulator.baseline is None
