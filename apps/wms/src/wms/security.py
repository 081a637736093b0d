"""Passwords (scrypt) and JWT access tokens (HS256 pinned; exp, iss and aud required)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from wms.errors import Unauthorized

__all__ = [
    "COMMON_PASSWORDS",
    "ROLES",
    "Principal",
    "hash_password",
    "issue_token",
    "verify_password",
    "verify_token",
]

ROLES = ("admin", "dispatcher", "driver", "billing", "customer")
ALGORITHM = "HS256"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: the most common passwords of the public breach lists, as written there (the API schema
#: states the same list, so a client can check before it asks): refused for any account
COMMON_PASSWORDS = frozenset(
    {
        "123456",
        "12345678",
        "123456789",
        "1234567890",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty",
        "qwerty123",
        "Qwerty123",
        "Password1",
        "Password123",
        "qwertyuiop",
        "11111111",
        "00000000",
        "12341234",
        "abc12345",
        "abcd1234",
        "iloveyou",
        "admin123",
        "administrator",
        "welcome1",
        "letmein1",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "trustno1",
        "superman",
        "1q2w3e4r",
        "1qaz2wsx",
        "zaq12wsx",
        "changeme",
        "starwars",
        "whatever",
        "dragon123",
        "monkey123",
        "master123",
    }
)

#: how far in the future a token's iat may be (clock skew between API processes), seconds
_LEEWAY = 60
#: a token longer than this is refused before it is parsed, characters
MAX_TOKEN_LENGTH = 4096


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who is calling: a user id, a role and, for customers, their customer id."""

    user_id: uuid.UUID
    email: str
    role: str
    customer_id: uuid.UUID | None = None
    #: the user's token version the token was issued under (see User.token_version)
    token_version: int = 0
    #: when the token stops working, seconds since the epoch (None: not from a token)
    expires_at: float | None = None


def issue_token(principal: Principal, *, secret: str, issuer: str, audience: str, ttl: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(principal.user_id),
        "email": principal.email,
        "role": principal.role,
        "cid": str(principal.customer_id) if principal.customer_id else None,
        "iat": now,
        "exp": now + ttl,
        "iss": issuer,
        "aud": audience,
        "jti": secrets.token_hex(8),
        "ver": principal.token_version,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, *, secret: str, issuer: str, audience: str) -> Principal:
    """The principal a valid token names; Unauthorized for anything else (the caller must
    still check the user exists and the version is current: see wms.api.deps)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("invalid token", code="invalid_token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        if not isinstance(claims.get("ver"), int) or claims["iat"] > time.time() + _LEEWAY:
            raise Unauthorized("invalid token", code="invalid_token")
        role = claims["role"]
        if role not in ROLES:
            raise Unauthorized("token carries an unknown role")
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            email=str(claims.get("email", "")),
            role=role,
            customer_id=uuid.UUID(claims["cid"]) if claims.get("cid") else None,
            token_version=claims["ver"],
            expires_at=float(claims["exp"]),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired", code="token_expired") from None
    except (jwt.PyJWTError, KeyError, ValueError):
        raise Unauthorized("invalid token", code="invalid_token") from None
