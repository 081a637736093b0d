"""Every (role, endpoint) of [tool.interlock.security.authz] answers as configured (the
WebSocket channels' matrix is in test_websocket)."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.config import load_config
from interlock.security import parse_authz

pytestmark = pytest.mark.security

CASES = parse_authz(load_config(Path(__file__).parents[3]).security)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_role_gets_the_configured_answer(api, callers, case):
    path = case.path.format_map(callers.places)
    body = {} if case.method in ("POST", "PUT", "PATCH") else None
    answer = api.request(case.method, path, headers=dict(callers.headers[case.role]), json=body)
    assert answer.status_code == case.status, answer.text[:300]
