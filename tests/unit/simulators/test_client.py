"""A simulator's control client: fault calls act when called; a closed client refuses use."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from interlock.errors import ConfigError
from interlock.faults.toxics import Toxic
from interlock.lifecycle import StateError
from interlock.simulators import client as client_module
from interlock.simulators.base import Simulator
from interlock.simulators.client import SimulatorClient, check_fault
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


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        (
            "stauts",
            {},
            "unknown fault kind 'stauts' for simulator 'sendgrid' (did you mean 'status'?)",
        ),
        (
            "explode",
            {},
            "unknown fault kind 'explode' for simulator 'sendgrid' "
            "(kinds: status, rate_limit, latency, hang, drop, malformed)",
        ),
        (
            "status",
            {"stauts": 503},
            "unknown option 'stauts' of a status fault for simulator 'sendgrid' "
            "(did you mean 'status'?)",
        ),
        ("status", {"rate": 2}, "simulator 'sendgrid': fault rate must be between 0 and 1, got 2"),
    ],
)
def test_a_fault_the_simulator_would_refuse_is_one_config_error_before_any_call(
    server: ThreadedSimulator,
    control: SimulatorClient,
    kind: str,
    options: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(ConfigError) as refused:
        control.fault(kind, **options)
    assert str(refused.value) == message
    assert server.sim.faults.added == []
    assert control.journal() == []  # the control calls are not journalled; nothing else ran


def test_a_fault_refused_by_the_simulator_itself_is_a_config_error_with_its_reason(
    control: SimulatorClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a simulator that refuses what this client lets through (another version of it)
    monkeypatch.setattr(client_module, "check_fault", lambda *args: None)
    with pytest.raises(ConfigError, match=r"simulator 'sendgrid' refused the fault: .*'explode'"):
        control.fault("explode")


def test_an_unknown_fault_and_an_unknown_toxic_raise_the_same_error() -> None:
    with pytest.raises(ConfigError):
        Toxic.build("explode")
    with pytest.raises(ConfigError):
        check_fault("stripe", "explode", {})


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
