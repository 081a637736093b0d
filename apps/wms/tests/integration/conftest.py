"""Integration suites of WMS: how Interlock logs in to WMS as each role."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:  # annotations only: the plugin hands both in
    from interlock.config import Config
    from interlock.stack import Stack

ROLES = ("admin", "dispatcher", "driver", "billing")
PASSWORD = "role-password-123"


@pytest.fixture(scope="session")
def interlock_auth(stack: Stack, interlock_config: Config) -> Iterator[object]:
    """Role -> bearer header. Staff users are created once per session through the admin API."""
    assert stack.app_url is not None
    app = interlock_config.app
    assert app is not None
    admin_email = app.env["WMS_BOOTSTRAP_ADMIN_EMAIL"]
    admin_password = app.env["WMS_BOOTSTRAP_ADMIN_PASSWORD"]
    cache: dict[str, Mapping[str, str]] = {}
    with httpx.Client(base_url=stack.app_url, timeout=10) as http:

        def login(email: str, password: str) -> Mapping[str, str]:
            response = http.post("/api/v1/auth/token", json={"email": email, "password": password})
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        def headers_for(role: str) -> Mapping[str, str]:
            if role not in cache:
                if role == "admin":
                    cache[role] = login(admin_email, admin_password)
                else:
                    if role not in ROLES:
                        raise ValueError(f"no staff role {role!r}; customers log in as themselves")
                    email = f"{role}@example.com"
                    created = http.post(
                        "/api/v1/users",
                        headers=headers_for("admin"),
                        json={"email": email, "password": PASSWORD, "role": role},
                    )
                    assert created.status_code in (201, 409), created.text
                    cache[role] = login(email, PASSWORD)
            return cache[role]

        yield headers_for
