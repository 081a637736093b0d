"""The request-limit checks pass on an app that counts the bytes it receives and fail on
one that trusts Content-Length, waits for a declared body or takes any headers."""

from __future__ import annotations

import pytest

from interlock.security import (
    CheckFailed,
    check_declared_body_refused,
    check_huge_headers_refused,
    check_streamed_body_refused,
)


def test_a_streamed_body_check_passes_when_the_app_stops_reading(holding):
    answer = check_streamed_body_refused(holding.url, "/echo")
    assert answer.status == 413
    assert answer.sent < 10 * 1024 * 1024


def test_a_streamed_body_check_fails_when_the_app_reads_it_all(flawed):
    app = flawed("reads-any-body")
    with pytest.raises(CheckFailed, match="200, expected 413"):
        check_streamed_body_refused(app.url, "/echo")


def test_a_streamed_body_check_fails_when_the_app_refuses_only_after_reading_it(flawed):
    app = flawed("refuses-after-reading")
    with pytest.raises(CheckFailed, match="413 only after the whole body was read"):
        check_streamed_body_refused(app.url, "/echo")


def test_a_declared_length_check_passes_when_the_app_answers_before_the_body(holding, settings):
    assert check_declared_body_refused(holding.url, "/echo", settings.limits).status == 413


def test_a_declared_length_check_fails_when_the_app_waits_for_the_body(flawed, settings):
    app = flawed("waits-for-declared-body")
    with pytest.raises(CheckFailed, match="no HTTP answer within 2 s"):
        check_declared_body_refused(app.url, "/echo", settings.limits, timeout=2)


def test_a_header_check_passes_when_the_app_refuses_megabytes(holding, settings):
    assert check_huge_headers_refused(holding.url, "/echo", settings.limits).status == 431


def test_a_header_check_fails_when_the_app_takes_megabytes(flawed, settings):
    app = flawed("takes-any-headers")
    with pytest.raises(CheckFailed, match="expected 431"):
        check_huge_headers_refused(app.url, "/echo", settings.limits)
