"""Fixtures of the monitor's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.integration.monitor.support import Target, serve_target


@pytest.fixture
def target() -> Iterator[Target]:
    with serve_target() as server:
        yield server
