"""Errors of fault injection, each with the HTTP status the control API answers it with.

    InterlockError
    ├── ConfigError                400  a toxic or proxy value that is refused
    └── FaultError                 400  a fault request that cannot be carried out
        ├── FaultNotFound          404  no proxy, toxic or fault rule by that name or id
        ├── FaultExists            409  a proxy or toxic by that name exists already
        └── ProxyUnavailable       503  the proxy cannot listen on its port (taken meanwhile)

The proxy set raises them; the control API turns them into responses in one place.
"""

from __future__ import annotations

from typing import ClassVar

from interlock.errors import InterlockError

__all__ = ["FaultError", "FaultExists", "FaultNotFound", "ProxyUnavailable"]


class FaultError(InterlockError):
    """A fault request that cannot be carried out; ``status`` is its HTTP status."""

    status: ClassVar[int] = 400


class FaultNotFound(FaultError):
    status = 404


class FaultExists(FaultError):
    status = 409


class ProxyUnavailable(FaultError):
    status = 503
