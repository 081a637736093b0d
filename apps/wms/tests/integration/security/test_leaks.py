"""After the run's traffic, no log or artifact holds a token, key, password or card number."""

from __future__ import annotations

import pytest
from tests.integration.security.callers import new_user

from interlock.security import scan_for_secrets

pytestmark = pytest.mark.security

SECRET_NAMES = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def test_no_log_or_artifact_holds_a_credential(api, ws, stack, interlock_config, interlock_auth):
    _, _, password, token = new_user(api, "dispatcher")
    # a browser cannot set headers on a WebSocket: the token rides in the URL, which the
    # server logs unless it is redacted
    live = ws.connect(f"/ws?token={token}")
    live.send_json({"action": "subscribe", "channels": ["customers"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    live.close()
    # a failed login writes its own log lines
    api.post("/api/v1/auth/token", json={"email": "nobody@example.com", "password": password})
    known = [
        value
        for name, value in interlock_config.app.env.items()
        if any(part in name for part in SECRET_NAMES)
    ]
    known += [password, token, interlock_auth("admin")["Authorization"].removeprefix("Bearer ")]
    leaks = scan_for_secrets([stack.log_dir, stack.run_dir], known=known)
    assert [str(leak) for leak in leaks] == []
