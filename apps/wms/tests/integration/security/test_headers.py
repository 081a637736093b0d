"""Every answer forbids MIME sniffing and framing, the API docs and refusals included."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.security


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/live"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/api/v1/integrations"),
        ("GET", "/no-such-page"),
    ],
)
def test_each_answer_forbids_sniffing_and_framing(api, method, path):
    answer = api.request(method, path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
