"""Log-in and user administration."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wms.api.deps import Services, require, services
from wms.db.models import AuditEntry, Customer, User
from wms.domain.schemas import (
    CustomerUserCreate,
    ErrorResponse,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserOut,
)
from wms.errors import Conflict, NotFound, Unauthorized
from wms.security import Principal, hash_password, issue_token, verify_password

router = APIRouter(prefix="/api/v1", tags=["auth"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
ERR404 = {"model": ErrorResponse}
ERR409 = {"model": ErrorResponse}


@router.post("/auth/token", response_model=TokenResponse, responses=ERRORS)
async def token(body: TokenRequest, svc: Services = Depends(services)) -> TokenResponse:
    async with svc.sessions() as session, session.begin():
        user = await session.scalar(select(User).where(User.email == body.email))
        ok = user is not None and verify_password(body.password, user.password_hash)
        session.add(
            AuditEntry(actor=body.email, action="login" if ok else "login_failed", details={})
        )
    if not ok or user is None:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    settings = svc.settings
    principal = Principal(
        user_id=user.id, email=user.email, role=user.role, customer_id=user.customer_id
    )
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


async def _create_user(
    svc: Services,
    admin: Principal,
    *,
    email: str,
    password: str,
    role: str,
    customer_id: uuid.UUID | None,
) -> UserOut:
    try:
        async with svc.sessions() as session, session.begin():
            if customer_id and await session.get(Customer, customer_id) is None:
                raise NotFound("customer not found")
            user = User(
                email=email,
                password_hash=hash_password(password),
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
