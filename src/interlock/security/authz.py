"""The authorization matrix: role x endpoint -> expected status, from configuration.

``[tool.interlock.security.authz]`` maps ``"METHOD /path"`` to ``{role = status}``; the
role ``"*"`` is every configured role not named, and ``anonymous`` is a call without a
token. Paths may hold ``{placeholders}`` (e.g. ``{other_customer}``: an object of another
owner, which must answer 404) that the suite fills in when it runs a case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, final

from interlock.errors import ConfigError

__all__ = ["ANONYMOUS", "AuthzCase", "parse_authz"]

#: the role of a call that carries no credentials
ANONYMOUS = "anonymous"
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


@final
@dataclass(frozen=True, kw_only=True)
class AuthzCase:
    """One call: ``role`` makes ``method path`` (placeholders unfilled) and gets ``status``."""

    role: str
    method: str
    path: str
    status: int

    @property
    def name(self) -> str:
        """The test id: ``driver-GET /api/v1/customers/{other_customer}-403``."""
        return f"{self.role}-{self.method} {self.path}-{self.status}"


def parse_authz(security: Mapping[str, Any]) -> list[AuthzCase]:
    """The cases of ``[tool.interlock.security]``: its ``roles`` list and ``authz`` table.

    Raises ConfigError (one line naming the key) for an unknown role, a method or path
    that is not ``"METHOD /path"``, a status outside 100-599, or an endpoint that leaves
    a role without an expectation (every endpoint answers for every role: no gaps).
    """
    where = "[tool.interlock.security]"
    roles = security.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ConfigError(f"{where} roles must be a non-empty list of role names")
    known = [*roles, ANONYMOUS] if ANONYMOUS not in roles else list(roles)
    table = security.get("authz")
    if not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{where} authz must be a table of 'METHOD /path' = {{role = status}}")
    cases: list[AuthzCase] = []
    for endpoint, expected in table.items():
        here = f"{where} authz {endpoint!r}"
        method, _, path = str(endpoint).partition(" ")
        if method not in _METHODS or not path.startswith("/"):
            raise ConfigError(f"{here}: write the endpoint as 'METHOD /path'")
        if not isinstance(expected, Mapping):
            raise ConfigError(f"{here} must be a table of role = status")
        for role, status in expected.items():
            if role != "*" and role not in known:
                raise ConfigError(f"{here}: unknown role {role!r} (roles: {', '.join(known)})")
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status < 600:
                raise ConfigError(f"{here} {role}: status must be an HTTP status, got {status!r}")
        for role in known:
            status = expected.get(role, expected.get("*"))
            if status is None:
                raise ConfigError(f"{here}: no expected status for role {role!r} (add it or '*')")
            cases.append(AuthzCase(role=role, method=method, path=path, status=status))
    return cases
