"""The forged-token matrix: every case is one a strict verifier refuses, and each one
catches a verifier that skips the check it targets."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from interlock.errors import ConfigError
from interlock.security import jwt_attacks, resigned

KEY = "unit-test-signing-key-0123456789abcdef"


def _valid() -> str:
    now = int(time.time())
    claims = {"sub": "u1", "role": "driver", "iat": now, "exp": now + 600}
    return jwt.encode({**claims, "iss": "wms", "aud": "wms-api"}, KEY, algorithm="HS256")


def strict(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        KEY,
        algorithms=["HS256"],
        audience="wms-api",
        issuer="wms",
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    if claims["role"] not in ("admin", "driver") or claims["iat"] > time.time() + 60:
        raise jwt.InvalidTokenError("bad claims")
    if len(token) > 4096:
        raise jwt.InvalidTokenError("too long")
    return claims


def test_a_strict_verifier_accepts_the_valid_token():
    assert strict(_valid())["sub"] == "u1"


@pytest.mark.parametrize("attack", jwt_attacks(_valid(), key=KEY), ids=lambda a: a.name)
def test_a_strict_verifier_refuses_every_attack(attack):
    with pytest.raises((jwt.InvalidTokenError, KeyError, ValueError)):
        strict(attack.token)


def test_the_matrix_catches_a_verifier_that_does_not_check_expiry():
    def lax(token: str) -> dict[str, Any]:
        return jwt.decode(
            token, KEY, algorithms=["HS256"], audience="wms-api", options={"verify_exp": False}
        )

    accepted = []
    for attack in jwt_attacks(_valid(), key=KEY):
        try:
            lax(attack.token)
        except (jwt.InvalidTokenError, ValueError):
            continue
        accepted.append(attack.name)
    assert "expired" in accepted
    assert "alg-none" not in accepted


def test_the_matrix_covers_the_rfc_8725_cases():
    names = {a.name for a in jwt_attacks(_valid(), key=KEY)}
    assert {
        "alg-none",
        "rs256-attacker-key",
        "hs256-public-key-as-secret",
        "wrong-key",
        "empty-key",
        "expired",
        "no-exp",
        "future-nbf",
        "wrong-iss",
        "wrong-aud",
        "jku-header",
        "x5u-header",
        "kid-path-traversal",
        "huge",
        "garbage",
    } <= names


def test_without_a_key_or_a_jwt_it_refuses_to_build_a_matrix():
    with pytest.raises(ConfigError, match="signing key"):
        jwt_attacks(_valid(), key="")
    with pytest.raises(ConfigError, match="not a JWT"):
        jwt_attacks("nope", key=KEY)
    with pytest.raises(ConfigError, match="RS256"):
        jwt_attacks(_valid(), key=KEY, algorithm="RS256")


def test_resigned_changes_and_drops_claims_under_the_same_key():
    token = resigned(_valid(), key=KEY, changes={"exp": 1, "role": "admin"}, drop=("sub",))
    claims = jwt.decode(
        token, KEY, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
    )
    assert (claims["exp"], claims["role"]) == (1, "admin")
    assert "sub" not in claims
    with pytest.raises(ConfigError, match="signing key"):
        resigned(_valid(), key="")
    with pytest.raises(ConfigError, match="not a JWT"):
        resigned("nope", key=KEY)
