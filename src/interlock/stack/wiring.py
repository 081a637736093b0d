"""How the stack's parts find each other: placeholders, readiness probes, proxied URLs."""

from __future__ import annotations

import http.client
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from interlock.errors import ConfigError
from interlock.stack.redaction import redact_text

__all__ = ["HttpProbe", "fill", "fill_all", "host_port", "with_port"]


class HttpProbe:
    """Ready when ``GET http://host:port<path>`` answers 2xx; ``last`` says what it saw."""

    def __init__(self, host: str, port: int, path: str, *, timeout: float = 0.5) -> None:
        self.url = f"http://{host}:{port}{path}"
        self.host, self.port, self.path, self.timeout = host, port, path, timeout
        #: what the last poll saw, for an error message: "GET <url> answered 503: ..."
        self.last = f"GET {self.url} was never polled"

    def __call__(self) -> bool:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            body = response.read(200).decode(errors="replace").strip().replace("\n", " ")
            self.last = f"GET {self.url} answered {response.status}" + (f": {body}" if body else "")
            return 200 <= response.status < 300
        except (OSError, http.client.HTTPException) as exc:
            why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self.last = f"GET {self.url} failed: {why}"
            return False
        finally:
            connection.close()


def host_port(url: str) -> tuple[str, int] | None:
    """Where a TCP proxy would connect for ``url``; None for a Unix socket or unknown port."""
    parts = urlsplit(url)
    if not parts.hostname or parts.hostname.startswith("/"):
        return None  # a Unix socket: nothing to put a TCP proxy in front of
    default = {"postgresql": 5432, "postgres": 5432, "redis": 6379, "http": 80, "https": 443}
    port = parts.port or default.get(parts.scheme.split("+")[0])
    return (parts.hostname, port) if port else None


def with_port(url: str, port: int) -> str:
    """The same URL, pointed at the proxy on loopback."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def fill_all(
    data: Any, values: Mapping[str, str], where: str, disabled: Mapping[str, str] | None = None
) -> Any:
    """``fill`` over every string inside a seed document."""
    if isinstance(data, str):
        return fill(data, values, where, disabled)
    if isinstance(data, dict):
        return {key: fill_all(value, values, where, disabled) for key, value in data.items()}
    if isinstance(data, list):
        return [fill_all(value, values, where, disabled) for value in data]
    return data


def fill(
    template: str,
    values: Mapping[str, str],
    where: str,
    disabled: Mapping[str, str] | None = None,
) -> str:
    """Replace ``{name}`` placeholders; raises ConfigError for an unknown one, or for one
    that stands for a disabled server (``disabled`` maps it to the reason)."""
    shown = redact_text(template)
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(template)]
    except ValueError as exc:
        raise ConfigError(f"{where}: bad placeholder in {shown!r}: {exc}") from None
    for field in fields:
        if field is None or field in values:
            continue
        if disabled and field in disabled:
            raise ConfigError(
                f"{where}: placeholder {{{field}}} is used in {shown!r}, but {disabled[field]}",
                hint="enable it, or remove the placeholder",
            )
        raise ConfigError(
            f"{where}: unknown placeholder {{{field}}} in {shown!r}",
            hint=f"known: {', '.join('{' + k + '}' for k in sorted(values))}",
        )
    try:
        return template.format(**values)
    except (ValueError, IndexError, KeyError) as exc:
        raise ConfigError(f"{where}: bad placeholder in {shown!r}: {exc}") from None
