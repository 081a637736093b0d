"""The authorization matrix read from configuration."""

from __future__ import annotations

import pytest

from interlock.errors import ConfigError
from interlock.security import AuthzCase, parse_authz


def test_star_fills_every_role_not_named_and_anonymous_is_always_a_role():
    cases = parse_authz(
        {
            "roles": ["admin", "driver"],
            "authz": {"GET /keys": {"admin": 200, "anonymous": 401, "*": 403}},
        }
    )
    assert cases == [
        AuthzCase(role="admin", method="GET", path="/keys", status=200),
        AuthzCase(role="driver", method="GET", path="/keys", status=403),
        AuthzCase(role="anonymous", method="GET", path="/keys", status=401),
    ]
    assert cases[1].name == "driver-GET /keys-403"


@pytest.mark.parametrize(
    ("security", "message"),
    [
        ({"authz": {"GET /a": {"*": 200}}}, "roles must be"),
        ({"roles": ["admin"]}, "authz must be"),
        ({"roles": ["admin"], "authz": {"GET": {"*": 200}}}, "'METHOD /path'"),
        ({"roles": ["admin"], "authz": {"FETCH /a": {"*": 200}}}, "'METHOD /path'"),
        ({"roles": ["admin"], "authz": {"GET /a": {"root": 200}}}, "unknown role 'root'"),
        ({"roles": ["admin"], "authz": {"GET /a": {"admin": 42}}}, "HTTP status"),
        ({"roles": ["admin"], "authz": {"GET /a": {"admin": 200}}}, "no expected status"),
    ],
)
def test_a_bad_matrix_is_one_clear_configuration_error(security, message):
    with pytest.raises(ConfigError, match=message):
        parse_authz(security)
