"""Who calls in the security suite, and how a test logs in as a fresh user."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from interlock.helpers.api import ApiClient

__all__ = ["CUSTOMER_PASSWORD", "Callers", "bearer", "login", "new_user"]

CUSTOMER_PASSWORD = "customer-password-123"


@dataclass(frozen=True)
class Callers:
    """Headers per role (``anonymous``: none), and the ids the matrix's paths name."""

    headers: Mapping[str, Mapping[str, str]]
    places: Mapping[str, str]

    def token(self, role: str) -> str:
        """The bare token ``role`` calls with."""
        return self.headers[role]["Authorization"].removeprefix("Bearer ")


def login(api: ApiClient, email: str, password: str) -> str:
    answer = api.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    # "Bearer" alone when the token is empty: an HTTP header value cannot end in a space
    return {"Authorization": f"Bearer {token}".rstrip()}


def new_user(api: ApiClient, role: str) -> tuple[str, str, str, str]:
    """A fresh staff user of ``role``: (id, e-mail, password, token), for tests that
    revoke tokens (the shared role logins must survive them)."""
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    password = f"pw-{secrets.token_hex(8)}"
    created = api.as_role("admin").post(
        "/api/v1/users", json={"email": email, "password": password, "role": role}
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], email, password, login(api, email, password)
