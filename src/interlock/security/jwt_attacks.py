"""Forged JWTs an API must refuse (RFC 8725, OWASP API Top 10 2023 API2).

Start from one token the API accepts and the project's signing key; every attack is a
variation of it that a correct verifier refuses with 401. PyJWT and ``cryptography``
come with the ``security`` extra and are imported only when a matrix is built.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, final

from interlock.errors import ConfigError

__all__ = ["JwtAttack", "jwt_attacks", "resigned"]

#: one forged token's size for the "huge token" case, bytes (past any sane header limit
#: of a JWT, still under a server's header limit so the API itself must refuse it)
HUGE_TOKEN_BYTES = 7_000


@final
@dataclass(frozen=True, kw_only=True)
class JwtAttack:
    """One forged token: ``name`` (the test id), ``token``, and ``why`` it must be refused."""

    name: str
    token: str
    why: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: Mapping[str, Any], claims: Mapping[str, Any], signature: str = "") -> str:
    head = _b64(json.dumps(dict(header)).encode())
    body = _b64(json.dumps(dict(claims)).encode())
    return f"{head}.{body}.{signature}"


def _claims_of(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise ConfigError(f"the token to attack is not a JWT ({exc})") from None
    if not isinstance(claims, dict):
        raise ConfigError("the token to attack carries no claims object")
    return claims


def _pyjwt() -> Any:
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "interlock.security needs the 'security' extra "
            f"(pip install interlock[security]): {exc}"
        ) from None
    return jwt


def _check_key(key: str, algorithm: str) -> None:
    if not key:
        raise ConfigError("forging a token needs the project's signing key")
    if algorithm not in ("HS256", "HS384", "HS512"):
        raise ConfigError(f"interlock.security forges with HMAC keys only, not {algorithm!r}")


def resigned(
    token: str,
    *,
    key: str,
    algorithm: str = "HS256",
    changes: Mapping[str, Any] | None = None,
    drop: tuple[str, ...] = (),
) -> str:
    """``token``'s claims with ``changes`` applied and ``drop`` removed, signed again with
    ``key``: e.g. an expired copy of a valid token (``changes={"exp": now - 3600}``).

    Raises ConfigError for a token that is not a JWT, an empty key or a non-HMAC
    algorithm; ImportError (naming the ``security`` extra) without PyJWT.
    """
    _check_key(key, algorithm)
    claims = {k: v for k, v in {**_claims_of(token), **(changes or {})}.items() if k not in drop}
    encoded: str = _pyjwt().encode(claims, key, algorithm=algorithm)
    return encoded


def jwt_attacks(
    valid_token: str,
    *,
    key: str,
    algorithm: str = "HS256",
    now: Callable[[], float] = time.time,
) -> list[JwtAttack]:
    """Every forged variation of ``valid_token`` (a token the API accepts, signed with
    ``key`` under the HMAC ``algorithm``) that the API must refuse.

    Raises ConfigError when ``valid_token`` is not a JWT, ``key`` is empty or the
    algorithm is not HS256/HS384/HS512, and ImportError (naming the ``security``
    extra) without PyJWT and ``cryptography``.
    """
    _check_key(key, algorithm)
    jwt = _pyjwt()
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "interlock.security needs the 'security' extra "
            f"(pip install interlock[security]): {exc}"
        ) from None

    claims = _claims_of(valid_token)
    t = int(now())

    def signed(changes: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> str:
        return resigned(valid_token, key=key, algorithm=algorithm, changes=changes, drop=drop)

    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_pem = attacker.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = attacker.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    admin = {**claims, "role": "admin"} if "role" in claims else claims
    head, body, _ = valid_token.split(".")
    huge_claims = {**claims, "pad": "A" * HUGE_TOKEN_BYTES}
    cases = [
        ("alg-none", _unsigned({"alg": "none", "typ": "JWT"}, admin), "alg none, no signature"),
        ("alg-None", _unsigned({"alg": "None", "typ": "JWT"}, admin), "alg None (case variant)"),
        (
            "alg-none-with-signature",
            _unsigned({"alg": "none"}, admin, valid_token.split(".")[2]),
            "alg none keeping the old signature",
        ),
        (
            "signature-stripped",
            f"{head}.{body}.",
            "the real header and claims without a signature",
        ),
        (
            "claims-swapped",
            f"{head}.{_b64(json.dumps(admin | {'sub': 'someone-else'}).encode())}."
            + valid_token.split(".")[2],
            "claims changed under the original signature",
        ),
        (
            "wrong-key",
            jwt.encode(admin, key + "-not", algorithm=algorithm),
            "signed with another key",
        ),
        ("empty-key", _hmac_empty(admin, algorithm), "signed with an empty key"),
        (
            "rs256-attacker-key",
            jwt.encode(admin, attacker_pem, algorithm="RS256"),
            "RS256 with the attacker's own key (HS/RS confusion)",
        ),
        (
            "hs256-public-key-as-secret",
            _hmac_raw(admin, public_pem, algorithm),
            "HMAC keyed with a public key (RS/HS confusion)",
        ),
        (
            "jku-header",
            jwt.encode(
                admin,
                attacker_pem,
                algorithm="RS256",
                headers={"jku": "http://127.0.0.1:9/jwks.json", "kid": "attacker"},
            ),
            "jku points at the attacker's key set",
        ),
        (
            "x5u-header",
            jwt.encode(
                admin, attacker_pem, algorithm="RS256", headers={"x5u": "http://127.0.0.1:9/c.pem"}
            ),
            "x5u points at the attacker's certificate",
        ),
        (
            "kid-path-traversal",
            _hmac_raw(admin, b"", algorithm, headers={"kid": "../../../../dev/null"}),
            "kid names an empty file, signed with an empty key",
        ),
        (
            "kid-injection",
            jwt.encode(admin, key + "x", algorithm=algorithm, headers={"kid": "' OR '1'='1"}),
            "kid carries SQL",
        ),
        ("expired", signed({"iat": t - 7200, "exp": t - 3600}), "exp an hour ago"),
        ("no-exp", signed({}, drop=("exp",)), "no exp claim"),
        ("future-nbf", signed({"nbf": t + 3600}), "not valid for another hour"),
        ("future-iat", signed({"iat": t + 86_400, "exp": t + 90_000}), "issued tomorrow"),
        ("wrong-iss", signed({"iss": "https://attacker.example"}), "another issuer"),
        ("no-iss", signed({}, drop=("iss",)), "no issuer"),
        ("wrong-aud", signed({"aud": "another-api"}), "another audience"),
        ("no-aud", signed({}, drop=("aud",)), "no audience"),
        ("no-sub", signed({}, drop=("sub",)), "no subject"),
        ("unknown-role", signed({"role": "root"}), "a role the API does not have"),
        ("huge", jwt.encode(huge_claims, key, algorithm=algorithm), "a 7 KB token"),
        ("garbage", "not-a-token", "not a JWT"),
        ("empty", "", "an empty token"),
        ("two-parts", f"{head}.{body}", "two segments"),
        ("four-parts", f"{valid_token}.x", "four segments"),
        ("bad-base64", f"{head}.%%%.{valid_token.split('.')[2]}", "claims not base64url"),
        (
            "json-array-claims",
            f"{_b64(json.dumps({'alg': algorithm}).encode())}.{_b64(b'[]')}.x",
            "claims are not an object",
        ),
    ]
    return [JwtAttack(name=name, token=token, why=why) for name, token, why in cases]


def _hmac_raw(
    claims: Mapping[str, Any],
    secret: bytes,
    algorithm: str,
    *,
    headers: Mapping[str, Any] | None = None,
) -> str:
    # PyJWT refuses to HMAC with a PEM key or an empty one (rightly); an attacker does not
    import hashlib
    import hmac

    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    head = _b64(json.dumps({"alg": algorithm, "typ": "JWT", **(headers or {})}).encode())
    body = _b64(json.dumps(dict(claims)).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), digest[algorithm]).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _hmac_empty(claims: Mapping[str, Any], algorithm: str) -> str:
    return _hmac_raw(claims, b"", algorithm)
