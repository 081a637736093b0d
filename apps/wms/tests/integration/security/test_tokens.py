"""Forged tokens are refused everywhere, and a token dies with its account's rights."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from tests.integration.security.callers import bearer, login, new_user
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from interlock.security import jwt_attacks, resigned, signing_key

pytestmark = pytest.mark.security

# the cases' names, for the test ids; the tokens are forged from a real one in the run
NAMES = [a.name for a in jwt_attacks(jwt.encode({"sub": "x"}, "k" * 32), key="k" * 32)]
ADMIN_ONLY = "/api/v1/integrations"


@pytest.fixture(scope="module")
def key(interlock_config) -> str:
    return signing_key(interlock_config)[0]


@pytest.fixture(scope="module")
def attacks(interlock_auth, key):
    token = interlock_auth("driver")["Authorization"].removeprefix("Bearer ")
    return {attack.name: attack for attack in jwt_attacks(token, key=key)}


def forge(token: str, key: str, **changes: object) -> str:
    return resigned(token, key=key, changes=changes)


@pytest.mark.parametrize("name", NAMES)
def test_a_forged_token_is_refused_over_http(api, attacks, name):
    answer = api.get(ADMIN_ONLY, headers=bearer(attacks[name].token))
    assert answer.status_code == 401, f"{attacks[name].why}: {answer.status_code}"


@pytest.mark.parametrize("name", NAMES)
def test_a_forged_token_is_refused_at_the_websocket_handshake(ws, attacks, name):
    # a header past the server's 8 KiB line limit is never answered by uvicorn's
    # WebSocket handshake (the client gives up): not accepted either
    refusals = (InvalidStatus, TimeoutError) if name == "huge" else InvalidStatus
    with pytest.raises(refusals):
        ws.connect("/ws", token=attacks[name].token)


def admin_token(interlock_auth) -> str:
    token: str = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    return token


def test_a_validly_signed_token_of_an_unknown_user_is_refused(api, key, interlock_auth):
    token = admin_token(interlock_auth)
    assert api.get(ADMIN_ONLY, headers=bearer(forge(token, key))).status_code == 200
    forged = forge(token, key, sub=str(uuid.uuid4()))
    assert api.get(ADMIN_ONLY, headers=bearer(forged)).status_code == 401


def test_a_deleted_users_token_stops_working(api):
    user_id, _, _, token = new_user(api, "admin")
    assert api.get(ADMIN_ONLY, headers=bearer(token)).status_code == 200
    assert api.as_role("admin").delete(f"/api/v1/users/{user_id}").status_code == 204
    assert api.get(ADMIN_ONLY, headers=bearer(token)).status_code == 401


def test_a_demoted_user_loses_the_old_role_at_once(api):
    user_id, email, password, token = new_user(api, "admin")
    demoted = api.as_role("admin").patch(f"/api/v1/users/{user_id}", json={"role": "driver"})
    assert demoted.status_code == 200, demoted.text
    assert api.get(ADMIN_ONLY, headers=bearer(token)).status_code == 401
    fresh = login(api, email, password)
    assert api.get(ADMIN_ONLY, headers=bearer(fresh)).status_code == 403


def test_logout_ends_every_session_of_the_user(api):
    _, email, password, first = new_user(api, "dispatcher")
    second = login(api, email, password)
    assert api.post("/api/v1/auth/logout", headers=bearer(first)).status_code == 204
    for token in (first, second):
        assert api.get("/api/v1/plans", headers=bearer(token)).status_code == 401


def test_a_password_change_revokes_the_tokens_issued_before(api):
    _, email, password, token = new_user(api, "billing")
    changed = api.post(
        "/api/v1/auth/password",
        headers=bearer(token),
        json={"current_password": password, "new_password": "a-new-long-passphrase"},
    )
    assert changed.status_code == 204, changed.text
    assert api.get("/api/v1/plans", headers=bearer(token)).status_code == 401
    assert login(api, email, "a-new-long-passphrase")


def test_a_websocket_session_ends_when_its_token_expires(ws, key, interlock_auth):
    short = forge(admin_token(interlock_auth), key, exp=int(time.time()) + 2)
    live = ws.connect("/ws", token=short)
    live.send_json({"action": "subscribe", "channels": ["customers"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    closed = _until_closed(live.connection, seconds=15)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1008


def _until_closed(connection: ClientConnection, *, seconds: float) -> ConnectionClosed:
    """The close that ends ``connection`` within ``seconds`` (frames before it are dropped)."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            connection.recv(timeout=remaining)
        except ConnectionClosed as exc:
            return exc
        except TimeoutError:
            break
    pytest.fail(f"the socket was still open after {seconds:g} s")


def test_a_token_answer_is_never_cached(api):
    _, email, password, _ = new_user(api, "driver")
    answer = api.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert answer.headers["cache-control"] == "no-store"
