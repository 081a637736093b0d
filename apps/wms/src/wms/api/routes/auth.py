"""Log-in, log-out, passwords and user administration."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException

from wms.api.deps import Services, forget_standing, require, services
from wms.api.passwords import check_password, new_password_hash
from wms.api.security_events import report_refusal, security_event
from wms.api.throttle import LoginThrottle
from wms.db.models import AuditEntry, Customer, User
from wms.domain.schemas import (
    NOT_COMMON,
    TEXT,
    CustomerUserCreate,
    ErrorResponse,
    StaffRole,
    Strict,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from wms.errors import Conflict, NotFound, Unauthorized
from wms.security import ROLES, Principal, issue_token

router = APIRouter(prefix="/api/v1", tags=["auth"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
ERR404 = {"model": ErrorResponse}
ERR409 = {"model": ErrorResponse}
# a token must not be kept by a browser or a proxy cache
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=200, pattern=TEXT)
    new_password: str = Field(
        min_length=8, max_length=200, pattern=TEXT, json_schema_extra=NOT_COMMON
    )


class UserUpdate(Strict):
    role: StaffRole


@router.post(
    "/auth/token", response_model=TokenResponse, responses={**ERRORS, 429: {"model": ErrorResponse}}
)
async def token(
    body: TokenRequest, request: Request, response: Response, svc: Services = Depends(services)
) -> TokenResponse:
    client = request.client.host if request.client else "unknown"
    throttle = LoginThrottle(
        svc.redis,
        per_account=svc.settings.login_failures_per_account,
        per_client=svc.settings.login_failures_per_client,
        window_s=svc.settings.login_window_seconds,
        unthrottled_clients=frozenset(svc.settings.login_unthrottled_clients),
    )
    try:
        await throttle.check(body.email, client)
    except HTTPException:
        # a throttled guesser can send these as fast as it likes: reported once a minute
        # per client, in the background, so that a 429 costs no database write
        report_refusal(svc, "login_throttled", client=client, path=request.url.path)
        raise
    async with svc.sessions() as session:
        user = await session.scalar(select(User).where(User.email == body.email))
    ok = await check_password(body.password, user.password_hash if user else None)
    if ok:
        await throttle.succeeded(body.email)
        async with svc.sessions() as session, session.begin():
            session.add(AuditEntry(actor=body.email, action="login", details={}))
    else:
        await throttle.failed(body.email, client)
        await _security_event(svc, "security.login_failed", email=body.email, client=client)
    # one answer for an unknown e-mail and a wrong password: no account enumeration
    if not ok or user is None:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    settings = svc.settings
    principal = Principal(
        user_id=user.id,
        email=user.email,
        role=user.role,
        customer_id=user.customer_id,
        token_version=user.token_version,
    )
    response.headers.update(NO_STORE)
    return TokenResponse(
        access_token=issue_token(
            principal,
            secret=settings.jwt_secret.get_secret_value(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=settings.token_ttl_seconds,
        ),
        expires_in=settings.token_ttl_seconds,
        role=user.role,
    )


@router.post("/auth/logout", status_code=204, responses=ERRORS)
async def logout(
    svc: Services = Depends(services), me: Principal = Depends(require(*ROLES))
) -> Response:
    """End every session of the caller: each token issued to them stops working."""
    await _revoke(svc, me.user_id, actor=me.email, action="logout")
    return Response(status_code=204)


@router.post("/auth/password", status_code=204, responses=ERRORS)
async def change_password(
    body: PasswordChange,
    svc: Services = Depends(services),
    me: Principal = Depends(require(*ROLES)),
) -> Response:
    """Change the caller's password; every token issued before stops working."""
    async with svc.sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == me.user_id))
    if not await check_password(body.current_password, stored):
        raise Unauthorized("wrong password", code="bad_credentials")
    new_hash = await new_password_hash(body.new_password)
    await _revoke(
        svc, me.user_id, actor=me.email, action="password_changed", password_hash=new_hash
    )
    return Response(status_code=204)


@router.post("/users", response_model=UserOut, status_code=201, responses={**ERRORS, 409: ERR409})
async def create_user(
    body: UserCreate,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> UserOut:
    """Create a staff account (admin, dispatcher, driver or billing)."""
    return await _create_user(
        svc, admin, email=body.email, password=body.password, role=body.role, customer_id=None
    )


@router.patch("/users/{user_id}", response_model=UserOut, responses={**ERRORS, 404: ERR404})
async def update_user(
    user_id: uuid.UUID,
    body: UserUpdate,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> UserOut:
    """Change a staff account's role; its tokens stop working (it logs in again)."""
    async with svc.sessions() as session, session.begin():
        user = await session.get(User, user_id, with_for_update=True)
        if user is None or user.customer_id is not None:
            raise NotFound("user not found")
        user.role = body.role
        user.token_version += 1
        session.add(
            AuditEntry(
                actor=admin.email,
                action="user_role_changed",
                details={"user_id": str(user_id), "role": body.role},
            )
        )
    await forget_standing(svc, user_id)
    return UserOut(id=user.id, email=user.email, role=user.role, customer_id=user.customer_id)


@router.delete("/users/{user_id}", status_code=204, responses={**ERRORS, 404: ERR404})
async def delete_user(
    user_id: uuid.UUID,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> Response:
    """Delete an account; its tokens stop working at once."""
    async with svc.sessions() as session, session.begin():
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("user not found")
        await session.delete(user)
        session.add(
            AuditEntry(actor=admin.email, action="user_deleted", details={"user_id": str(user_id)})
        )
    await forget_standing(svc, user_id)
    return Response(status_code=204)


@router.post(
    "/customers/{customer_id}/users",
    response_model=UserOut,
    status_code=201,
    responses={**ERRORS, 404: ERR404, 409: ERR409},
)
async def create_customer_user(
    customer_id: uuid.UUID,
    body: CustomerUserCreate,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> UserOut:
    """Give a customer a login; it sees only that customer's resources."""
    return await _create_user(
        svc,
        admin,
        email=body.email,
        password=body.password,
        role="customer",
        customer_id=customer_id,
    )


async def _security_event(svc: Services, type_: str, *, email: str, client: str) -> None:
    await security_event(svc, type_, actor=email, details={"email": email, "client": client})


async def _revoke(
    svc: Services, user_id: uuid.UUID, *, actor: str, action: str, password_hash: str | None = None
) -> None:
    values: dict[str, Any] = {"token_version": User.token_version + 1}
    if password_hash is not None:
        values["password_hash"] = password_hash
    async with svc.sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user_id).values(**values))
        session.add(AuditEntry(actor=actor, action=action, details={}))
    await forget_standing(svc, user_id)


async def _create_user(
    svc: Services,
    admin: Principal,
    *,
    email: str,
    password: str,
    role: str,
    customer_id: uuid.UUID | None,
) -> UserOut:
    password_hash = await new_password_hash(password)
    try:
        async with svc.sessions() as session, session.begin():
            if customer_id and await session.get(Customer, customer_id) is None:
                raise NotFound("customer not found")
            user = User(
                email=email,
                password_hash=password_hash,
                role=role,
                customer_id=customer_id,
            )
            session.add(user)
            session.add(
                AuditEntry(
                    actor=admin.email, action="user_created", details={"email": email, "role": role}
                )
            )
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a user with e-mail {email} exists", code="user_exists") from None
    return UserOut(id=user.id, email=user.email, role=user.role, customer_id=user.customer_id)
