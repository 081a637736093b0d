"""Password guessing is throttled per account and per client, answers alike for unknown
and known e-mails, refuses common passwords and is reported as a security event."""

from __future__ import annotations

import secrets
import sys

import httpx
import psutil
import pytest
from tests.integration.security.callers import new_user

from interlock.ports import free_port
from interlock.security import check_account_throttled, check_client_throttled, check_no_enumeration
from interlock.stack import ManagedProcess
from interlock.stack.wiring import HttpProbe

pytestmark = pytest.mark.security

TOKEN = "/api/v1/auth/token"
APP = [sys.executable, "-m", "uvicorn", "wms.api.app:create_app", "--factory"]


def test_an_account_is_throttled_after_five_failures_even_for_the_right_password(
    stack, api, security
):
    _, email, password, _ = new_user(api, "driver")
    check_account_throttled(stack.app_url, security.login, email=email, password=password)


def test_every_api_process_counts_the_same_failures(stack, api, security):
    # a second API process of the same deployment: same database, Redis and secrets
    env = psutil.Process(stack.processes["app"].pid).environ()
    port = free_port()
    second = ManagedProcess(
        "app-2",
        [*APP, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        log_path=stack.log_dir / "app-2.log",
        probe=HttpProbe("127.0.0.1", port, "/health/ready"),
        env=env,
        ready_timeout=60,
        port=port,
    )
    _, email, password, _ = new_user(api, "driver")
    with second:
        for _ in range(security.login.per_account):
            wrong = api.post(security.login.path, json={"email": email, "password": "nope"})
            assert wrong.status_code == 401
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as other:
            right = other.post(security.login.path, json={"email": email, "password": password})
    assert right.status_code == 429  # (its text would hold a token: not in the report)


def test_a_client_is_throttled_across_accounts(stack, security):
    # its own loopback address: the client allowance it spends is no other test's
    check_client_throttled(stack.app_url, security.login, source_address="127.0.0.7")


def test_an_unknown_e_mail_and_a_wrong_password_get_the_same_answer_in_the_same_time(
    stack, api, security
):
    _, email, _, _ = new_user(api, "driver")
    check_no_enumeration(stack.app_url, security.login, email=email)


@pytest.mark.parametrize("password", ["password123", "Qwerty123", "12345678"])
def test_a_common_password_is_refused(api, password):
    created = api.as_role("admin").post(
        "/api/v1/users",
        json={
            "email": f"weak-{secrets.token_hex(4)}@example.com",
            "password": password,
            "role": "driver",
        },
    )
    assert created.status_code == 422
    assert created.json()["error"]["code"] == "weak_password"


def test_a_failed_login_reaches_the_admins_security_channel(api, ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    dashboard = ws.connect("/ws", token=token)
    dashboard.send_json({"action": "subscribe", "channels": ["security"]})
    dashboard.wait_for(lambda f: f["type"] == "subscribed")
    email = f"intruder-{secrets.token_hex(4)}@example.com"
    assert api.post(TOKEN, json={"email": email, "password": "guess"}).status_code == 401
    frame = dashboard.wait_for(
        lambda f: f["type"] == "event" and f["event"]["data"].get("email") == email,
        what="the failed login on the security channel",
    )
    assert frame["event"]["type"] == "security.login_failed"


def test_with_redis_down_logins_go_on_and_guessing_is_still_throttled(api, faults, security):
    # the shared counters are in Redis; without it each API process counts alone, with
    # the same limits: a login is neither a 500 nor unlimited guessing
    _, email, password, _ = new_user(api, "driver")
    with faults["redis"].down():
        right = api.post(security.login.path, json={"email": email, "password": password})
        assert right.status_code == 200, right.text
        for _ in range(security.login.per_account):
            wrong = api.post(security.login.path, json={"email": email, "password": "nope"})
            assert wrong.status_code == 401, wrong.text
        throttled = api.post(security.login.path, json={"email": email, "password": password})
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
