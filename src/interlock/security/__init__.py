"""Security checks any project can run against its own API.

- :func:`parse_security`: ``[tool.interlock.security]``, checked (done when the
  configuration loads, so a mistake is one line and exit 2)
- :func:`jwt_attacks`: forged tokens a verifier must refuse (RFC 8725); :func:`resigned`
  re-signs a token with changed claims
- :func:`parse_authz`: the role x endpoint -> status matrix of ``[tool.interlock.security]``
- :func:`signing_key`: the project's key and algorithm, from its configuration
- ``check_*``: request limits (streamed body, declared length, headers), WebSocket
  (handshake, channels, frame size, malformed messages), login (throttling per account
  and per client, enumeration by message and time); each raises :class:`CheckFailed`
  (an AssertionError, so a failed check is a failed test) with one line
- :func:`scan_for_secrets`: tokens, keys, passwords and card numbers left in a run's files
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from interlock.security.authz import ANONYMOUS, AuthzCase, parse_authz
from interlock.security.jwt_attacks import JwtAttack, jwt_attacks, resigned
from interlock.security.limits import (
    check_declared_body_refused,
    check_huge_headers_refused,
    check_streamed_body_refused,
)
from interlock.security.outcome import CheckFailed
from interlock.security.project import signing_key
from interlock.security.scan import Leak, scan_for_secrets, scan_text
from interlock.security.settings import (
    LimitSettings,
    LoginSettings,
    SecuritySettings,
    WebSocketSettings,
    parse_security,
)

if TYPE_CHECKING:
    from interlock.security.login import (
        LoginAnswer,
        check_account_throttled,
        check_client_throttled,
        check_no_enumeration,
    )
    from interlock.security.websocket import (
        FOREIGN_ORIGIN,
        MALFORMED_MESSAGES,
        check_channel,
        check_handshake_refused,
        check_huge_frame_closes,
        check_malformed_messages_answered,
        ws_connect,
    )

# imported on first use: httpx and websockets' clients cost ~0.3 s, and loading a
# configuration (every command) checks [tool.interlock.security] through this package
_LAZY = {
    **dict.fromkeys(
        [
            "LoginAnswer",
            "check_account_throttled",
            "check_client_throttled",
            "check_no_enumeration",
        ],
        "login",
    ),
    **dict.fromkeys(
        [
            "FOREIGN_ORIGIN",
            "MALFORMED_MESSAGES",
            "check_channel",
            "check_handshake_refused",
            "check_huge_frame_closes",
            "check_malformed_messages_answered",
            "ws_connect",
        ],
        "websocket",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'interlock.security' has no attribute {name!r}")
    return getattr(importlib.import_module(f"interlock.security.{module}"), name)


__all__ = [
    "ANONYMOUS",
    "FOREIGN_ORIGIN",
    "MALFORMED_MESSAGES",
    "AuthzCase",
    "CheckFailed",
    "JwtAttack",
    "Leak",
    "LimitSettings",
    "LoginAnswer",
    "LoginSettings",
    "SecuritySettings",
    "WebSocketSettings",
    "check_account_throttled",
    "check_channel",
    "check_client_throttled",
    "check_declared_body_refused",
    "check_handshake_refused",
    "check_huge_frame_closes",
    "check_huge_headers_refused",
    "check_malformed_messages_answered",
    "check_no_enumeration",
    "check_streamed_body_refused",
    "jwt_attacks",
    "parse_authz",
    "parse_security",
    "resigned",
    "scan_for_secrets",
    "scan_text",
    "signing_key",
    "ws_connect",
]
