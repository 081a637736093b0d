"""The API's coordination endpoints: the full health document, and the configuration's
admin API (read, put a new version, roll back, history, JSON Schema)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, Field

from wms.api.deps import require
from wms.coordination.configuration import Activation, ClusterView, WMSConfiguration
from wms.coordination.process import Coordination
from wms.domain.schemas import TEXT, ErrorResponse, Strict, integral
from wms.security import Principal

__all__ = ["router"]

router = APIRouter(tags=["coordination"])
ERR = {"model": ErrorResponse}
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {401: ERR, 403: ERR}


def coordination(request: Request) -> Coordination:
    found: Coordination = request.app.state.coordination
    return found


class ConfigPut(Strict):
    document: WMSConfiguration
    #: why the change is made, kept with the version
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class Rollback(Strict):
    #: the version to make active again; omitted, the newest one below the active version
    version: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(integral)] | None = None


class ConfigState(BaseModel):
    active: Activation
    #: what every process has applied, and which of them drift from the active version
    cluster: ClusterView


@router.get(
    "/health",
    responses={503: {"description": "a declared dependency is down"}},
)
async def health(co: Coordination = Depends(coordination)) -> JSONResponse:
    """This API process's health: its dependencies (latency, losses, recoveries), the
    configuration version it applied and the drift of every process, and how the
    security components see Redis. 503 while a declared dependency is down."""
    document = await co.health()
    return JSONResponse(document, status_code=200 if document["ready"] else 503)


@router.get("/api/v1/config", response_model=ConfigState, responses=ADMIN_ERRORS)
async def read_config(
    co: Coordination = Depends(coordination), _: Principal = Depends(require("admin"))
) -> ConfigState:
    """The active configuration version and every process's acknowledgement of it."""
    return ConfigState(active=await co.store.active(), cluster=await co.store.cluster())


@router.put(
    "/api/v1/config",
    response_model=Activation,
    responses={**ADMIN_ERRORS, 422: ERR},
)
async def put_config(
    body: ConfigPut,
    co: Coordination = Depends(coordination),
    who: Principal = Depends(require("admin")),
) -> Activation:
    """Store ``document`` as the next version and make it active everywhere: every
    process is told at once and acknowledges it (see ``GET /api/v1/config``). A document
    that does not match the schema (``GET /api/v1/config/schema``) is refused with 422."""
    return await co.store.put(body.document, author=str(who.user_id), reason=body.reason)


@router.post(
    "/api/v1/config/rollback",
    response_model=Activation,
    responses={**ADMIN_ERRORS, 404: ERR, 409: ERR, 422: ERR},
)
async def rollback_config(
    body: Rollback,
    co: Coordination = Depends(coordination),
    who: Principal = Depends(require("admin")),
) -> Activation:
    """Make an earlier version active again, everywhere. 409 when the active version has
    none before it, 404 for a version never stored."""
    return await co.store.rollback(author=str(who.user_id), to=body.version)


@router.get("/api/v1/config/history", responses=ADMIN_ERRORS)
async def config_history(
    co: Coordination = Depends(coordination), _: Principal = Depends(require("admin"))
) -> list[dict[str, Any]]:
    """The last 50 activations, newest first: ``{version, action, author, activated_at}``."""
    return await co.store.history()


@router.get("/api/v1/config/schema", responses=ADMIN_ERRORS)
async def config_schema(_: Principal = Depends(require("admin"))) -> dict[str, Any]:
    """The JSON Schema every configuration document is validated against."""
    return WMSConfiguration.model_json_schema()
