"""Password guessing is throttled per account and per client, answers alike for unknown
and known e-mails, refuses common passwords and is reported as a security event."""

from __future__ import annotations

import secrets

import pytest
from tests.integration.security.callers import new_user

from interlock.security import check_account_throttled, check_client_throttled, check_no_enumeration

pytestmark = pytest.mark.security

TOKEN = "/api/v1/auth/token"


def test_an_account_is_throttled_after_five_failures_even_for_the_right_password(
    stack, api, security
):
    _, email, password, _ = new_user(api, "driver")
    check_account_throttled(stack.app_url, security.login, email=email, password=password)


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
