"""The simulator host process: faults given on its command line are run-wide."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from interlock.helpers.deadline import poll
from interlock.ports import free_port, port_open
from interlock.simulators.client import SimulatorClient


@pytest.fixture
def host() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interlock.simulators",
            f"sendgrid={port}",
            "--fault",
            "sendgrid:status=500",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        poll(lambda: port_open("127.0.0.1", port), timeout=20, what="the simulator host")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_tests_own_fault_wins_and_a_reset_keeps_the_run_wide_one(host: str) -> None:
    def status() -> int:
        return httpx.get(f"{host}/v3/scopes", timeout=5).status_code

    assert status() == 500  # the run-wide fault
    with SimulatorClient("sendgrid", host) as control:
        with control.failing(status=503):
            assert status() == 503
        control.reset()
    assert status() == 500
