"""Request limits hold on the bytes received: a streamed body without Content-Length,
headers of megabytes and a huge WebSocket frame are all cut off before they are parsed
(Interlock's limit checks, with WMS's limits from [tool.interlock.security.limits])."""

from __future__ import annotations

import pytest

from interlock.security import (
    check_declared_body_refused,
    check_huge_frame_closes,
    check_huge_headers_refused,
    check_streamed_body_refused,
)

pytestmark = pytest.mark.security


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/webhooks/stripe",
        "/api/v1/webhooks/twilio/status",
        "/api/v1/auth/token",
        "/api/v1/customers",
        "/api/v1/no-such-endpoint",
    ],
)
def test_a_streamed_10_mb_body_is_refused_before_it_is_read(stack, path):
    check_streamed_body_refused(stack.app_url, path)


def test_megabytes_of_headers_are_refused(stack, security):
    check_huge_headers_refused(stack.app_url, "/api/v1/auth/token", security.limits)


def test_a_declared_length_over_the_limit_is_refused_before_the_body_comes(stack, security):
    check_declared_body_refused(stack.app_url, "/api/v1/auth/token", security.limits)


def test_a_2_mb_websocket_frame_closes_the_socket_with_1009(stack, security, callers):
    check_huge_frame_closes(
        stack.app_url, security.websocket, security.limits, token=callers.token("admin")
    )
