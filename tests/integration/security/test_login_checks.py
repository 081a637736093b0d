"""The brute-force and enumeration checks pass on an app that throttles and answers
alike, and fail on one that does not throttle, names unknown accounts or answers them
faster."""

from __future__ import annotations

import pytest
from tests.integration.security.tiny_app import USERS

from interlock.security import (
    CheckFailed,
    check_account_throttled,
    check_client_throttled,
    check_no_enumeration,
)

EMAIL, PASSWORD = next(iter(USERS.items()))


def test_the_account_check_passes_when_the_right_password_is_throttled(flawed, settings):
    app = flawed()  # a fresh app: the check spends the account's allowance
    answer = check_account_throttled(app.url, settings.login, email=EMAIL, password=PASSWORD)
    assert (answer.status, answer.retry_after) == (429, "60")


def test_the_account_check_fails_without_throttling(flawed, settings):
    app = flawed("no-throttle")
    with pytest.raises(CheckFailed, match="200, expected 429"):
        check_account_throttled(app.url, settings.login, email=EMAIL, password=PASSWORD)


def test_the_client_check_passes_when_one_address_is_throttled(holding, settings):
    answer = check_client_throttled(holding.url, settings.login, source_address="127.0.0.21")
    assert answer.status == 429


def test_the_client_check_fails_without_throttling(flawed, settings):
    app = flawed("no-throttle")
    with pytest.raises(CheckFailed, match="401, expected 429"):
        check_client_throttled(app.url, settings.login, source_address="127.0.0.22")


def test_the_enumeration_check_passes_when_answers_are_alike(flawed, settings):
    app = flawed()
    unknown_ms, known_ms = check_no_enumeration(app.url, settings.login, email=EMAIL)
    assert unknown_ms > 0
    assert known_ms > 0


def test_the_enumeration_check_fails_on_different_messages(flawed, settings):
    app = flawed("tells-unknown-accounts")
    with pytest.raises(CheckFailed, match="answer differently"):
        check_no_enumeration(app.url, settings.login, email=EMAIL)


def test_the_enumeration_check_fails_when_unknown_accounts_answer_faster(flawed, settings):
    app = flawed("skips-hash-for-unknown")
    with pytest.raises(CheckFailed, match="the time tells them apart"):
        check_no_enumeration(app.url, settings.login, email=EMAIL)
