"""One JSON error shape for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as db_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from wms.api.security_events import REFUSALS, report_refusal
from wms.coordination.errors import report_error
from wms.errors import UpstreamError, WMSError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("wms.api")


def error_response(
    status: int,
    code: str,
    message: str,
    details: object = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (the router names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.url.path):
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _report(
    request: Request,
    kind: str,
    status: int,
    message: str,
    *,
    source: str = "api",
    service: str | None = None,
) -> None:
    route = getattr(request.scope.get("route"), "path", request.url.path)
    endpoint = f"{request.method} {route}"
    report_error(kind, source, message, status=status, endpoint=endpoint, service=service)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WMSError)
    async def wms_error(request: Request, exc: WMSError) -> JSONResponse:
        if exc.code in REFUSALS:
            client = request.client.host if request.client else "unknown"
            report_refusal(
                request.app.state.services, exc.code, client=client, path=request.url.path
            )
        if exc.status >= 500:
            log.warning("%s %s failed: %s", request.method, request.url.path, exc.message)
            service = exc.service if isinstance(exc, UpstreamError) else None
            _report(request, exc.code, exc.status, exc.message, service=service)
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        return error_response(422, "validation_error", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # the framework's "error parsing the body": the same answer as any invalid body
            return error_response(422, "malformed_body", str(exc.detail))
        code = {
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            429: "too_many_requests",
        }.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, code, str(exc.detail), headers=headers or None)

    # the database refused or dropped the connection (or none was free in time): the
    # request was not done, and may be sent again; not a bug of WMS's (500)
    @app.exception_handler(db_errors.OperationalError)
    @app.exception_handler(db_errors.InterfaceError)
    @app.exception_handler(db_errors.TimeoutError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
        _report(request, "database_unavailable", 503, str(exc))
        return error_response(
            503,
            "database_unavailable",
            "the database is unavailable; try again",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        _report(request, "internal_error", 500, f"{type(exc).__name__}: {exc}")
        return error_response(500, "internal_error", "internal error")
