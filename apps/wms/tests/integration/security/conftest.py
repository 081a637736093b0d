"""The security suite's callers: every role, a customer with a login, and another customer."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator, Mapping

import pytest
from tests.integration.helpers.factories import customer_payload
from tests.integration.security.callers import CUSTOMER_PASSWORD, Callers, bearer, login

from interlock.config import Config
from interlock.helpers.api import ApiClient
from interlock.security import ANONYMOUS, SecuritySettings, parse_security
from interlock.stack import Stack


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The scan of the logs and artifacts runs after every other test of the run, so
    that it reads what all of them left behind."""
    scans = [item for item in items if _SCAN in item.nodeid]
    items[:] = [item for item in items if item not in scans] + scans


_SCAN = "security/test_leaks.py::"


@pytest.fixture(scope="session")
def security(interlock_config: Config) -> SecuritySettings:
    """WMS's [tool.interlock.security]: login, limits and WebSocket channels."""
    return parse_security(interlock_config.security)


@pytest.fixture(scope="session")
def session_api(
    stack: Stack, interlock_auth: Callable[[str], Mapping[str, str]]
) -> Iterator[ApiClient]:
    assert stack.app_url is not None
    client = ApiClient(stack.app_url, timeout=30, auth=interlock_auth)
    yield client
    client.close()


@pytest.fixture(scope="session")
def callers(session_api: ApiClient, interlock_auth: Callable[[str], Mapping[str, str]]) -> Callers:
    admin = session_api.as_role("admin")
    own = admin.post("/api/v1/customers", json=customer_payload())
    other = admin.post("/api/v1/customers", json=customer_payload())
    assert own.status_code == other.status_code == 201, own.text + other.text
    email = f"login-{secrets.token_hex(4)}@example.com"
    user = admin.post(
        f"/api/v1/customers/{own.json()['id']}/users",
        json={"email": email, "password": CUSTOMER_PASSWORD},
    )
    assert user.status_code == 201, user.text
    headers: dict[str, Mapping[str, str]] = {
        role: interlock_auth(role) for role in ("admin", "dispatcher", "driver", "billing")
    }
    headers["customer"] = bearer(login(session_api, email, CUSTOMER_PASSWORD))
    headers[ANONYMOUS] = {}
    return Callers(
        headers=headers,
        places={
            "own_customer": own.json()["id"],
            "other_customer": other.json()["id"],
            "missing": str(uuid.uuid4()),
        },
    )
