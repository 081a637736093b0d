"""``interlock sims``: the simulators alone, reachable by the official SDKs, gone after a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import stripe
from tests.unit.test_cli import assert_one_line_error, interlock

from interlock.ports import free_port

# the project these commands run on: WMS, the system in this repository
ROOT = Path(__file__).resolve().parents[2] / "apps" / "wms"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_sims_serve_the_sdks_on_chosen_ports_until_a_signal(signum):
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "interlock.cli", "sims", f"stripe={port}", "twilio", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    ) as process:
        try:
            assert process.stdout is not None
            urls = json.loads(process.stdout.readline())["simulators"]
            assert set(urls) == {"stripe", "twilio"}
            assert urls["stripe"] == f"http://127.0.0.1:{port}"
            client = stripe.StripeClient("sk_test_manual", base_addresses={"api": urls["stripe"]})
            customer = client.v1.customers.create(params={"email": "manual@example.com"})
            journal = httpx.get(urls["stripe"] + "/__interlock/journal").json()
            assert [(c["method"], c["path"]) for c in journal] == [("POST", "/v1/customers")]
            assert client.v1.customers.retrieve(customer.id).email == "manual@example.com"
            twilio_port = int(urls["twilio"].rsplit(":", 1)[1])
            process.send_signal(signum)
            assert process.wait(timeout=10) == 130  # stopped by a signal, as every command
            assert process.stderr is not None
            assert process.stderr.read().splitlines()[-1] == (
                "interlock: terminated (SIGTERM)"
                if signum == signal.SIGTERM
                else "interlock: interrupted (Ctrl-C)"
            )
            assert not listening(port)
            assert not listening(twilio_port)
        finally:
            if process.poll() is None:
                process.kill()


def test_sims_start_with_a_fault_active():
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "interlock.cli",
            "sims",
            "sendgrid",
            "--json",
            "--fault",
            "sendgrid:status=503",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = json.loads(process.stdout.readline())["simulators"]["sendgrid"]
            sent = httpx.post(url + "/v3/mail/send", headers={"Authorization": "Bearer SG.x"})
            assert sent.status_code == 503
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_unknown_simulator_exits_2_naming_the_known_ones():
    assert_one_line_error(interlock("sims", "stripe", "paypal"), "paypal", "available:", "twilio")


def test_a_port_in_use_exits_2_with_the_fix():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line_error(interlock("sims", f"stripe={port}"), "cannot listen", "NAME=PORT")


def test_a_fault_for_a_service_not_served_exits_2():
    result = interlock("sims", "stripe", "--fault", "twilio:status=500")
    assert_one_line_error(result, "twilio", "not being served")


def test_a_host_this_machine_does_not_have_exits_2_with_the_fix():
    result = interlock("sims", "--host", "10.0.0.1", "stripe")
    assert_one_line_error(result, "--host 10.0.0.1: cannot listen there", "127.0.0.1")
