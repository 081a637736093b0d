"""A simulator's baseline seed data: held from the start, and again after every reset."""

from __future__ import annotations

import httpx

from interlock.simulators.threaded import ThreadedSimulator
from interlock.simulators.twilio import TwilioSimulator


def test_reset_returns_to_the_baseline_not_to_empty():
    sim = TwilioSimulator()
    sim.set_baseline({"accounts": {"AC1": "token-1"}, "status_delay": 0.5})
    sim.seed_data({"accounts": {"AC2": "token-2"}, "status_delay": 2})
    assert sim.accounts == {"AC2": "token-2"}
    sim.reset()
    assert sim.accounts == {"AC1": "token-1"}
    assert sim.status_delay == 0.5


def test_a_baseline_is_not_changed_by_what_a_test_seeds_later():
    data = {"accounts": {"AC1": "token-1"}}
    sim = TwilioSimulator()
    sim.set_baseline(data)
    data["accounts"]["AC9"] = "mutated by the caller"
    sim.accounts["AC3"] = "mutated by a test"
    sim.reset()
    assert sim.accounts == {"AC1": "token-1"}


def test_reset_over_http_keeps_the_baseline():
    with ThreadedSimulator("twilio") as server:
        server.sim.set_baseline({"accounts": {"AC1": "token-1"}})
        assert httpx.post(server.url + "/__interlock/reset").status_code == 200
        assert server.sim.accounts == {"AC1": "token-1"}
