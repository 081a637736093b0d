"""Brute-force and enumeration checks of a login endpoint (OWASP API2:2023).

Password guessing must be throttled per account and per client (429 with Retry-After,
even for the right password once the account's allowance is spent), and an unknown
e-mail must get the same answer as a wrong password for a known one: the same status,
the same body and about the same time (a login that skips the hash for an unknown
account tells an attacker which accounts exist).
"""

from __future__ import annotations

import secrets
import statistics
import time
from dataclasses import dataclass
from typing import final

import httpx

from interlock.security.outcome import CheckFailed
from interlock.security.settings import LoginSettings
from interlock.tls import shared_tls

__all__ = [
    "ENUMERATION_MIN_GAP_MS",
    "ENUMERATION_TIME_RATIO",
    "LoginAnswer",
    "check_account_throttled",
    "check_client_throttled",
    "check_no_enumeration",
]

#: the slower of unknown and known accounts' median answer times, over the faster, past
#: which the difference tells them apart: generous, a hash is 10-100x a lookup
ENUMERATION_TIME_RATIO = 3.0
#: ... and the least gap between them, ms, that counts: scheduling noise on a busy host
#: reaches a few ms, a password hash takes tens
ENUMERATION_MIN_GAP_MS = 10.0


@final
@dataclass(frozen=True, kw_only=True)
class LoginAnswer:
    """One login attempt: ``status``, ``body`` (bytes), ``retry_after`` (the header, or
    None) and ``elapsed_ms``."""

    status: int
    body: bytes
    retry_after: str | None
    elapsed_ms: float


def _client(app_url: str, source_address: str | None, timeout: float) -> httpx.Client:
    transport = (
        httpx.HTTPTransport(local_address=source_address, verify=shared_tls())
        if source_address
        else None
    )
    return httpx.Client(base_url=app_url, timeout=timeout, transport=transport, verify=shared_tls())


def _attempt(http: httpx.Client, login: LoginSettings, email: str, password: str) -> LoginAnswer:
    began = time.perf_counter()
    answer = http.post(login.path, json={login.email_field: email, login.password_field: password})
    elapsed = (time.perf_counter() - began) * 1000
    return LoginAnswer(
        status=answer.status_code,
        body=answer.content,
        retry_after=answer.headers.get("retry-after"),
        elapsed_ms=elapsed,
    )


def _unknown_email() -> str:
    return f"nobody-{secrets.token_hex(6)}@example.com"


def _throttled(answer: LoginAnswer, what: str) -> LoginAnswer:
    if answer.status != 429:
        raise CheckFailed(f"{what}: {answer.status}, expected 429")
    if answer.retry_after is None or not answer.retry_after.isdigit():
        raise CheckFailed(f"{what}: 429 without a Retry-After in seconds ({answer.retry_after!r})")
    if int(answer.retry_after) < 1:
        raise CheckFailed(f"{what}: 429 with Retry-After {answer.retry_after}, expected >= 1")
    return answer


def _refused_each(answers: list[LoginAnswer], what: str) -> None:
    for number, answer in enumerate(answers, start=1):
        if answer.status == 429:
            raise CheckFailed(f"{what}: throttled at failure {number}, before the configured limit")
        if answer.status < 400:
            raise CheckFailed(f"{what}: a wrong password got {answer.status}")


def check_account_throttled(
    app_url: str,
    login: LoginSettings,
    *,
    email: str,
    password: str,
    source_address: str | None = None,
    timeout: float = 30,
) -> LoginAnswer:
    """Fail ``login.per_account`` logins to the account ``email`` (a fresh one: this
    spends its allowance), then log in with its right ``password``: that must get 429
    with Retry-After >= 1 s. Returns that answer; raises CheckFailed otherwise."""
    with _client(app_url, source_address, timeout) as http:
        wrong = [
            _attempt(http, login, email, f"not-{password}-{n}") for n in range(login.per_account)
        ]
        _refused_each(wrong, f"{login.path} for one account")
        right = _attempt(http, login, email, password)
    what = f"{login.path}: the right password after {login.per_account} failures"
    return _throttled(right, what)


def check_client_throttled(
    app_url: str, login: LoginSettings, *, source_address: str, timeout: float = 30
) -> LoginAnswer:
    """From ``source_address`` (a loopback address of its own, e.g. ``127.0.0.7``: the
    check spends its allowance), fail ``login.per_client`` logins to as many unknown
    accounts: the next must get 429 with Retry-After >= 1 s. Raises CheckFailed otherwise."""
    with _client(app_url, source_address, timeout) as http:
        wrong = [_attempt(http, login, _unknown_email(), "x") for _ in range(login.per_client)]
        _refused_each(wrong, f"{login.path} from {source_address}")
        after = _attempt(http, login, _unknown_email(), "x")
    what = f"{login.path}: a login from {source_address} after {login.per_client} failures"
    return _throttled(after, what)


def check_no_enumeration(
    app_url: str,
    login: LoginSettings,
    *,
    email: str,
    samples: int = 3,
    source_address: str | None = None,
    timeout: float = 30,
) -> tuple[float, float]:
    """Alternate ``samples`` wrong-password logins to the known account ``email`` with
    as many to unknown ones: every answer must have the same status and body, and the
    median times must be within ENUMERATION_TIME_RATIO (or ENUMERATION_MIN_GAP_MS) of
    each other. Returns the
    medians (unknown, known) in ms; raises CheckFailed otherwise. ``samples`` must stay
    below ``login.per_account``, or the known account is throttled."""
    if not 1 <= samples < login.per_account:
        raise ValueError(f"samples must be 1 to {login.per_account - 1}, not {samples}")
    unknown: list[LoginAnswer] = []
    known: list[LoginAnswer] = []
    with _client(app_url, source_address, timeout) as http:
        for n in range(samples):
            unknown.append(_attempt(http, login, _unknown_email(), f"guess-{n}"))
            known.append(_attempt(http, login, email, f"guess-{n}"))
    answers = {(a.status, a.body) for a in unknown + known}
    if len(answers) > 1:
        shown = "; ".join(f"{s} {b[:80]!r}" for s, b in sorted(answers))
        raise CheckFailed(f"{login.path}: unknown and known accounts answer differently: {shown}")
    if unknown[0].status < 400:
        raise CheckFailed(f"{login.path}: a wrong password got {unknown[0].status}")
    medians = (
        statistics.median(a.elapsed_ms for a in unknown),
        statistics.median(a.elapsed_ms for a in known),
    )
    slow, fast = max(medians), min(medians)
    if slow > ENUMERATION_TIME_RATIO * fast and slow - fast > ENUMERATION_MIN_GAP_MS:
        raise CheckFailed(
            f"{login.path}: unknown accounts answer in {medians[0]:.1f} ms, known ones in "
            f"{medians[1]:.1f} ms (median): the time tells them apart"
        )
    return medians
