"""A simulator's control client: fault calls act when called; a closed client refuses use."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from interlock.lifecycle import StateError
from interlock.simulators.base import Simulator
from interlock.simulators.client import SimulatorClient
from interlock.simulators.faults import FaultRule
from interlock.simulators.threaded import ThreadedSimulator


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator("sendgrid") as running:
        yield running


@pytest.fixture
def control(server: ThreadedSimulator) -> Iterator[SimulatorClient]:
    with SimulatorClient("sendgrid", server.url) as client:
        yield client
        client.reset()


def status(server: ThreadedSimulator) -> int:
    return httpx.get(f"{server.url}/v3/scopes", timeout=5).status_code


def test_failing_written_as_a_statement_acts_until_the_added_faults_are_removed(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    normal = status(server)
    control.failing(status=503)
    assert status(server) == 503
    control.remove_added_faults()
    assert status(server) == normal


def test_a_with_block_removes_its_fault_and_hands_back_its_id(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    normal = status(server)
    with control.failing(status=502) as rule_id:
        assert [rule.id for rule in server.sim.faults.added] == [rule_id]
        assert status(server) == 502
    assert status(server) == normal
    assert control.added == set()


def test_a_refused_fault_raises_with_the_simulators_reason(control: SimulatorClient) -> None:
    with pytest.raises(httpx.HTTPStatusError, match="unknown fault kind 'explode'"):
        control.fault("explode")


def test_a_reset_keeps_the_run_wide_faults(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    run_wide = server.call(lambda: _add_run_wide(server.sim))
    try:
        with control.failing(status=503):
            assert status(server) == 503  # the test's own fault wins
        control.reset()
        assert status(server) == 500
    finally:
        server.sim.faults.remove(run_wide)


async def _add_run_wide(sim: Simulator) -> int:
    return sim.faults.add(FaultRule(kind="status", status=500), run_wide=True).id


def test_a_closed_client_refuses_use_and_entering_twice_is_an_error(
    server: ThreadedSimulator,
) -> None:
    client = SimulatorClient("sendgrid", server.url)
    with client, pytest.raises(StateError, match="simulator client 'sendgrid' is already open"):
        client.__enter__()
    with pytest.raises(StateError, match="simulator client 'sendgrid' is closed"):
        client.failing(status=500)
    client.close()  # closing twice is harmless


def test_a_threaded_simulator_is_entered_once() -> None:
    server = ThreadedSimulator("sendgrid")
    with server, pytest.raises(StateError, match="threaded simulator 'sendgrid' is already open"):
        server.__enter__()

    async def journal_size() -> int:
        return len(server.sim.journal)

    with pytest.raises(StateError, match="threaded simulator 'sendgrid' is closed"):
        server.call(journal_size)
