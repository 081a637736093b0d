"""Password guessing is throttled per account and per client, answers alike for unknown
and known e-mails, refuses common passwords and is reported as a security event."""

from __future__ import annotations

import secrets

import httpx
import pytest
from tests.integration.security.callers import new_user

pytestmark = pytest.mark.security

TOKEN = "/api/v1/auth/token"


def from_address(app_url: str, address: str) -> httpx.Client:
    """A client whose connections come from another loopback address: the client limit
    it spends is not the one every other test logs in from."""
    return httpx.Client(
        base_url=app_url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def test_an_account_is_throttled_after_five_failures_even_for_the_right_password(api):
    _, email, password, _ = new_user(api, "driver")
    for _ in range(5):
        wrong = api.post(TOKEN, json={"email": email, "password": "not-the-password"})
        assert wrong.status_code == 401
    refused = api.post(TOKEN, json={"email": email, "password": password})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


def test_a_client_is_throttled_across_accounts(stack):
    with from_address(stack.app_url, "127.0.0.7") as http:
        answers = [
            http.post(TOKEN, json={"email": f"guess-{n}@example.com", "password": "x"})
            for n in range(21)
        ]
    assert [a.status_code for a in answers] == [401] * 20 + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1


def test_an_unknown_e_mail_and_a_wrong_password_get_the_same_answer(api):
    _, email, _, _ = new_user(api, "driver")
    known = api.post(TOKEN, json={"email": email, "password": "wrong-password"})
    unknown = api.post(
        TOKEN, json={"email": f"nobody-{secrets.token_hex(4)}@example.com", "password": "x"}
    )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


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
