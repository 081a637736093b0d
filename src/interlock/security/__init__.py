"""Security checks any project can run against its own API.

- :func:`jwt_attacks`: forged tokens a verifier must refuse (RFC 8725)
- :func:`parse_authz`: the role x endpoint -> status matrix of ``[tool.interlock.security]``
- :func:`signing_key`: the project's key and algorithm, from its configuration
- :func:`scan_for_secrets`: tokens, keys, passwords and card numbers left in a run's files
"""

from __future__ import annotations

from interlock.security.authz import ANONYMOUS, AuthzCase, parse_authz
from interlock.security.jwt_attacks import JwtAttack, jwt_attacks
from interlock.security.project import signing_key
from interlock.security.scan import Leak, scan_for_secrets, scan_text

__all__ = [
    "ANONYMOUS",
    "AuthzCase",
    "JwtAttack",
    "Leak",
    "jwt_attacks",
    "parse_authz",
    "scan_for_secrets",
    "scan_text",
    "signing_key",
]
