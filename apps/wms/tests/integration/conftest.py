"""Integration suites of WMS: how Interlock logs in to WMS as each role, and what is put
back before each test so that no test meets what another left behind."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
import psycopg
import pytest
import redis as redis_client
from pydantic import ValidationError

from interlock.helpers.deadline import poll
from wms.coordination.configuration import WMSConfiguration
from wms.integrations.keys import fingerprint
from wms.reset import forget_transient_state

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


def pytest_interlock_reset(stack: Stack, interlock_config: Config) -> None:
    """Before each test on the stack: WMS's breakers, throttles, meters and caches forgotten
    (``wms.reset``), the default configuration active again in every process, and each
    service's API keys at WMS those it started with."""
    assert stack.redis_url is not None
    assert stack.app_url is not None
    with redis_client.Redis.from_url(stack.redis_url, socket_timeout=5) as client:
        forget_transient_state(client)
    started = starting_keys_of(stack, interlock_config)
    with httpx.Client(base_url=stack.app_url, timeout=10) as http:
        http.headers.update(admin_headers(http, interlock_config))
        restore_default_configuration(http)
        started.restore(http)


#: app URL -> the admin's headers, logged in once per stack (a login hashes a password)
_ADMIN: dict[str, Mapping[str, str]] = {}
#: app URL -> the keys WMS started with, read at the first reset (before any test)
_STARTING_KEYS: dict[str, StartingKeys] = {}


def admin_headers(http: httpx.Client, interlock_config: Config) -> Mapping[str, str]:
    url = str(http.base_url)
    if url not in _ADMIN:
        app = interlock_config.app
        assert app is not None
        login = {
            "email": app.env["WMS_BOOTSTRAP_ADMIN_EMAIL"],
            "password": app.env["WMS_BOOTSTRAP_ADMIN_PASSWORD"],
        }
        response = http.post("/api/v1/auth/token", json=login)
        assert response.status_code == 200, response.text
        _ADMIN[url] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return _ADMIN[url]


def restore_default_configuration(http: httpx.Client) -> None:
    """Put the defaults if another document is active, and wait until every live process
    has applied them (a test starting earlier would meet the old version)."""
    state = http.get("/api/v1/config")
    assert state.status_code == 200, state.text
    active = state.json()["active"]
    defaults = WMSConfiguration()
    try:
        current = WMSConfiguration.model_validate_json(json.dumps(active["document"]))
    except ValidationError:
        current = None  # a version this WMS cannot apply (a test wrote it to the database)
    if current == defaults:
        return
    put = http.put(
        "/api/v1/config",
        json={"document": defaults.model_dump(mode="json"), "reason": "reset between tests"},
    )
    assert put.status_code == 200, put.text
    version = int(put.json()["version"])

    def applied() -> bool:
        cluster = http.get("/api/v1/config").json()["cluster"]
        return bool(cluster["active_version"] == version and cluster["in_sync"])

    poll(applied, timeout=10, what=f"every WMS process to apply the defaults (version {version})")


#: service -> fingerprints of its usable keys at WMS
KeySet = dict[str, frozenset[str]]


class StartingKeys:
    """The API keys WMS started with, and their secrets (the configured ones): a test that
    rotates a key puts back what it changed, and so must anything else that adds or
    revokes keys (the API fuzzing does, with made-up secrets)."""

    def __init__(self, postgres_url: str, secrets: Mapping[str, str]) -> None:
        self.postgres_url = postgres_url
        self.secrets = dict(secrets)
        self.keys = self.usable()

    def usable(self) -> KeySet:
        # a connection of its own each time: a test may have restarted PostgreSQL
        with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=10) as db:
            rows = db.execute(
                "SELECT service, fingerprint FROM integration_keys WHERE revoked_at IS NULL"
            ).fetchall()
        found: dict[str, set[str]] = {}
        for service, print_ in rows:
            found.setdefault(service, set()).add(print_)
        return {service: frozenset(prints) for service, prints in found.items()}

    def restore(self, http: Any) -> None:
        """Through the admin API (``http``: an httpx.Client or an ApiClient logged in as
        the admin; so the API process reloads its keys at once): revoke
        each usable key WMS did not start with, and add back each it started with that
        is gone. One query when nothing changed."""
        now = self.usable()
        for service in sorted(set(now) | set(self.keys)):
            wanted, have = self.keys.get(service, frozenset()), now.get(service, frozenset())
            if wanted == have:
                continue
            base = f"/api/v1/integrations/{service}/keys"
            for print_ in sorted(wanted - have):
                added = http.post(base, json={"secret": self.secrets[print_]})
                assert added.status_code == 201, added.text
            listed = http.get(base)
            assert listed.status_code == 200, listed.text
            for key in listed.json():
                if key["revoked_at"] is None and key["fingerprint"] not in wanted:
                    revoked = http.delete(f"{base}/{key['id']}")
                    assert revoked.status_code == 204, revoked.text
        assert self.usable() == self.keys, "WMS's API keys are not those it started with"


def starting_keys_of(stack: Stack, interlock_config: Config) -> StartingKeys:
    """The keys WMS started with: read at the first reset, before the first test."""
    assert stack.postgres_url is not None
    assert stack.app_url is not None
    if stack.app_url not in _STARTING_KEYS:
        app = interlock_config.app
        assert app is not None
        # the configured keys are among the app's environment: known by their fingerprints
        secrets = {fingerprint(value): value for value in app.env.values() if value}
        _STARTING_KEYS[stack.app_url] = StartingKeys(stack.postgres_url, secrets)
    return _STARTING_KEYS[stack.app_url]


@pytest.fixture(scope="session")
def starting_keys(stack: Stack, interlock_config: Config) -> StartingKeys:
    """The keys WMS started with, for a test that puts its rotation back itself."""
    return starting_keys_of(stack, interlock_config)
