"""The tiny app, holding every check or with one flaw, and the settings the checks get."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from tests.integration.security.tiny_app import LIMITS, TinyApp

from interlock.security import parse_security
from interlock.security.settings import SecuritySettings


@pytest.fixture(scope="module")
def holding() -> Iterator[TinyApp]:
    with TinyApp() as app:
        yield app


@pytest.fixture
def flawed() -> Iterator[Callable[[str], TinyApp]]:
    """``flawed("no-throttle")``: a fresh app with those flaws (none: a fresh holding
    one), stopped with the test."""
    with ExitStack() as apps:
        yield lambda *flaws: apps.enter_context(TinyApp(set(flaws)))


@pytest.fixture(scope="session")
def settings() -> SecuritySettings:
    return parse_security(
        {
            "roles": ["admin", "customer"],
            "login": {
                "path": "/login",
                "per_account": LIMITS["account"],
                "per_client": LIMITS["client"],
            },
            "limits": {
                "max_body_bytes": LIMITS["body"],
                "max_header_bytes": LIMITS["headers"],
                "max_frame_bytes": LIMITS["frame"],
            },
            "websocket": {
                "path": "/ws",
                "channels": {
                    "owner:{own}": {"*": "allowed"},
                    "owner:{other}": {"admin": "allowed", "customer": "refused"},
                },
            },
        }
    )
