"""``[tool.interlock.security]``, checked once: keys, types and ranges, one line per error.

E.g.::

    [tool.interlock.security]
    roles = ["admin", "driver", "customer"]
    signing_key_env = "APP_JWT_SECRET"
    algorithm = "HS256"

    [tool.interlock.security.login]       # brute force and enumeration
    path = "/api/v1/auth/token"           # POSTed {email_field: ..., password_field: ...}
    per_account = 5                       # failures against one account, then 429
    per_client = 20                       # failures from one address, then 429

    [tool.interlock.security.limits]      # request limits, bytes
    max_body_bytes = 1048576              # a streamed body past this: 413
    max_header_bytes = 16384              # headers past this: header_status
    max_frame_bytes = 1048576             # a WebSocket frame past this: close 1009

    [tool.interlock.security.websocket]
    path = "/ws"
    subscribe = '{"action": "subscribe", "channels": ["{channel}"]}'
    subscribed = { type = "subscribed" }  # the keys of the frame that confirms one

    [tool.interlock.security.websocket.channels]   # channel = { role = "allowed" | "refused" }
    pickups = { driver = "refused", "*" = "allowed" }
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, final

from interlock.config._checks import as_str, as_table, known_keys
from interlock.errors import ConfigError

__all__ = [
    "LimitSettings",
    "LoginSettings",
    "SecuritySettings",
    "WebSocketSettings",
    "parse_security",
]

_WHERE = "[tool.interlock.security]"
_KEYS = {"roles", "signing_key_env", "algorithm", "authz", "login", "limits", "websocket"}
_LOGIN_KEYS = {"path", "email_field", "password_field", "per_account", "per_client"}
_LIMIT_KEYS = {"max_body_bytes", "max_header_bytes", "max_frame_bytes", "header_status"}
_WS_KEYS = {"path", "token", "subscribe", "subscribed", "channels"}
_VERDICTS = ("allowed", "refused")
MIB = 1024 * 1024


@final
@dataclass(frozen=True, kw_only=True)
class LoginSettings:
    """The login endpoint: ``path`` takes a JSON object of ``email_field`` and
    ``password_field``; ``per_account`` / ``per_client`` failures (counts) are allowed
    before it answers 429 with Retry-After."""

    path: str
    email_field: str = "email"
    password_field: str = "password"
    per_account: int = 5
    per_client: int = 20


@final
@dataclass(frozen=True, kw_only=True)
class LimitSettings:
    """Request limits in bytes; ``header_status`` answers headers past the limit (431)."""

    max_body_bytes: int = MIB
    max_header_bytes: int = 16 * 1024
    max_frame_bytes: int = MIB
    header_status: int = 431


@final
@dataclass(frozen=True, kw_only=True)
class WebSocketSettings:
    """The WebSocket endpoint: ``path``, where the token rides (``"query"``:
    ``?token=``, or ``"header"``: ``Authorization: Bearer``), the ``subscribe`` message
    (JSON text with ``{channel}``), the keys of the frame that confirms a subscription,
    and per channel (``{placeholders}`` allowed) the verdict each role must get."""

    path: str = "/ws"
    token: Literal["query", "header"] = "query"
    subscribe: str = '{"action": "subscribe", "channels": ["{channel}"]}'
    subscribed: Mapping[str, Any] = field(default_factory=lambda: {"type": "subscribed"})
    channels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def subscription(self, channel: str) -> str:
        """The message subscribing to ``channel`` (JSON text)."""
        return self.subscribe.replace("{channel}", channel)

    def verdict(self, channel: str, role: str) -> str:
        """``"allowed"`` or ``"refused"``: what ``role`` must get on ``channel``."""
        rules = self.channels[channel]
        return rules.get(role, rules.get("*", "refused"))


@final
@dataclass(frozen=True, kw_only=True)
class SecuritySettings:
    """The whole section; ``login`` and ``websocket`` are None when not configured."""

    roles: tuple[str, ...] = ()
    login: LoginSettings | None = None
    limits: LimitSettings = field(default_factory=LimitSettings)
    websocket: WebSocketSettings | None = None


def _int(where: str, value: Any, *, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{where} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _path(where: str, value: Any) -> str:
    path = as_str(where, value)
    if not path.startswith("/"):
        raise ConfigError(f"{where} must be a path starting with '/', got {path!r}")
    return path


def _login(value: Any) -> LoginSettings:
    where = f"{_WHERE[:-1]}.login]"
    table = as_table(where, value)
    known_keys(where, table, _LOGIN_KEYS)
    if "path" not in table:
        raise ConfigError(f"{where} path must name the login endpoint, e.g. '/api/login'")
    return LoginSettings(
        path=_path(f"{where} path", table["path"]),
        email_field=as_str(f"{where} email_field", table.get("email_field", "email")),
        password_field=as_str(f"{where} password_field", table.get("password_field", "password")),
        per_account=_int(f"{where} per_account", table.get("per_account", 5), low=1, high=1000),
        per_client=_int(f"{where} per_client", table.get("per_client", 20), low=1, high=100_000),
    )


def _limits(value: Any) -> LimitSettings:
    where = f"{_WHERE[:-1]}.limits]"
    table = as_table(where, value)
    known_keys(where, table, _LIMIT_KEYS)
    sizes = {
        key: _int(f"{where} {key}", table[key], low=1, high=1024 * MIB)
        for key in ("max_body_bytes", "max_header_bytes", "max_frame_bytes")
        if key in table
    }
    status = _int(f"{where} header_status", table.get("header_status", 431), low=400, high=499)
    return LimitSettings(**sizes, header_status=status)


def _websocket(value: Any, roles: tuple[str, ...]) -> WebSocketSettings:
    where = f"{_WHERE[:-1]}.websocket]"
    table = as_table(where, value)
    known_keys(where, table, _WS_KEYS)
    token = table.get("token", "query")
    if token not in ("query", "header"):
        raise ConfigError(f"{where} token must be 'query' or 'header', got {token!r}")
    defaults = WebSocketSettings()
    subscribe = as_str(f"{where} subscribe", table.get("subscribe", defaults.subscribe))
    if "{channel}" not in subscribe:
        raise ConfigError(f"{where} subscribe must hold {{channel}} where the channel goes")
    try:
        json.loads(subscribe.replace("{channel}", "x"))
    except ValueError:
        raise ConfigError(f"{where} subscribe must be JSON text, got {subscribe!r}") from None
    subscribed = as_table(f"{where} subscribed", table.get("subscribed", {"type": "subscribed"}))
    channels: dict[str, dict[str, str]] = {}
    for channel, rules in as_table(f"{where[:-1]}.channels]", table.get("channels", {})).items():
        here = f"{where[:-1]}.channels] {channel!r}"
        rules = as_table(here, rules)
        known_keys(here, rules, {*roles, "anonymous", "*"} if roles else set(rules))
        for role, verdict in rules.items():
            if verdict not in _VERDICTS:
                raise ConfigError(f"{here} {role} must be 'allowed' or 'refused', got {verdict!r}")
        channels[channel] = dict(rules)
    return WebSocketSettings(
        path=_path(f"{where} path", table.get("path", "/ws")),
        token=token,
        subscribe=subscribe,
        subscribed=subscribed,
        channels=channels,
    )


def parse_security(section: Mapping[str, Any]) -> SecuritySettings:
    """The checked ``[tool.interlock.security]`` table (``Config.security``).

    Raises ConfigError (one line, with the nearest known key for a misspelt one) for an
    unknown key, a value of the wrong type or out of range, a path without a leading
    ``/``, or a channel rule naming a role that ``roles`` does not list. The ``authz``
    table is checked by :func:`interlock.security.parse_authz`.
    """
    table = dict(section)
    known_keys(_WHERE, table, _KEYS)
    roles: tuple[str, ...] = ()
    if "roles" in table:
        raw = table["roles"]
        if not isinstance(raw, list) or not all(isinstance(r, str) and r for r in raw):
            raise ConfigError(f"{_WHERE} roles must be a list of role names, got {raw!r}")
        roles = tuple(raw)
    for key in ("signing_key_env", "algorithm"):
        if key in table:
            as_str(f"{_WHERE} {key}", table[key])
    return SecuritySettings(
        roles=roles,
        login=_login(table["login"]) if "login" in table else None,
        limits=_limits(table.get("limits", {})),
        websocket=_websocket(table["websocket"], roles) if "websocket" in table else None,
    )
