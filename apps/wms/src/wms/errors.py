"""WMS's exception tree; every error maps to one JSON shape and one HTTP status.

WMSError                     500 internal
├── NotFound                 404
├── Conflict                 409
├── Forbidden                403
├── Unauthorized             401
├── InvalidInput             422
└── UpstreamError            502  an external service failed
    └── UpstreamUnavailable  503  its breaker is open / it timed out
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Unauthorized",
    "UpstreamError",
    "UpstreamUnavailable",
    "WMSError",
]


class WMSError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(WMSError):
    status = 404
    code = "not_found"


class Conflict(WMSError):
    status = 409
    code = "conflict"


class Forbidden(WMSError):
    status = 403
    code = "forbidden"


class Unauthorized(WMSError):
    status = 401
    code = "unauthorized"


class InvalidInput(WMSError):
    status = 422
    code = "invalid_input"


class UpstreamError(WMSError):
    status = 502
    code = "upstream_error"

    def __init__(self, service: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{service}: {message}", code=code, details={"service": service})
        self.service = service


class UpstreamUnavailable(UpstreamError):
    status = 503
    code = "upstream_unavailable"
