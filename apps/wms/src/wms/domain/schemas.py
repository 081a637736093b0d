"""Request and response models of the public API."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import Strict as StrictType

from wms.security import COMMON_PASSWORDS

Role = Literal["admin", "dispatcher", "driver", "billing", "customer"]
StaffRole = Literal["admin", "dispatcher", "driver", "billing"]


#: a deliberately plain address (letters, digits and ._%+- before the @, a dotted host
#: with an alphabetic top-level label), stated in the schema as a pattern so that what
#: the spec allows is exactly what the service accepts
EMAIL_PATTERN = (
    r"^[A-Za-z0-9_%+-]{1,32}(\.[A-Za-z0-9_%+-]{1,15}){0,2}"  # at most 64 before the @
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EmailStr = Annotated[
    str,
    Field(max_length=254, pattern=EMAIL_PATTERN, json_schema_extra={"format": "email"}),
]


#: PostgreSQL text cannot hold NUL, so the schema excludes it (refused with 422, not a 500)
TEXT = r"^[^\x00]*$"


# Every request body is validated strictly: JSON carries its own types, and Pydantic's lax
# mode reads more than the OpenAPI schema states (true or "120" as an integer, 7 as a
# string, a number as a date). Only what JSON can spell solely as a string (a UUID, a
# date, a date-time) is parsed from text, and only in the form its schema `format` names.
#: the years a date or date-time may name: any plan, invoice or pickup falls within them,
#: and a period or a time-zone offset added to one can neither leave Python's date range
#: (years 1-9999, an OverflowError) nor PostgreSQL's
YEARS = "(19[0-9]{2}|2[0-9]{3})"
DAY_PATTERN = rf"^{YEARS}-[0-9]{{2}}-[0-9]{{2}}$"
MOMENT_PATTERN = (
    rf"^{YEARS}-[0-9]{{2}}-[0-9]{{2}}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_DAY = re.compile(DAY_PATTERN)
_MOMENT = re.compile(MOMENT_PATTERN)


def _iso_day(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD, of a year from 1900 to 2999")


def _iso_moment(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _MOMENT.fullmatch(value)):
        return value
    raise ValueError(
        "expected a date-time as in RFC 3339, with its offset, of a year from 1900 to 2999"
    )


def _uuid_text(value: object) -> object:
    if isinstance(value, uuid.UUID | str):
        return value
    raise ValueError("expected a UUID as a string")


def integral(value: object) -> object:
    """JSON Schema counts 7.0 as the integer 7 (a number with no fractional part)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: ``type: integer``: a JSON number with no fractional part, never a boolean or a string.
#: Inside a union or a list, write ``Annotated[int, Field(...), BeforeValidator(integral)]``:
#: constraints put after the validator are lost from the OpenAPI schema.
Integer = Annotated[int, BeforeValidator(integral)]
#: ``format: uuid``: a string in its canonical form
Uuid = Annotated[uuid.UUID, StrictType(False), BeforeValidator(_uuid_text)]
#: ``format: date``: YYYY-MM-DD, years 1900-2999 (stated in the schema as a pattern)
Day = Annotated[
    date,
    StrictType(False),
    Field(json_schema_extra={"pattern": DAY_PATTERN}),
    BeforeValidator(_iso_day),
]
#: ``format: date-time``: RFC 3339 with its offset, years 1900-2999 (a pattern, likewise)
Moment = Annotated[
    AwareDatetime,
    StrictType(False),
    Field(json_schema_extra={"pattern": MOMENT_PATTERN}),
    BeforeValidator(_iso_moment),
]


#: a new password is none of the most common ones (stated in the API schema too)
NOT_COMMON: dict[str, Any] = {"not": {"enum": sorted(COMMON_PASSWORDS)}}


class Strict(BaseModel):
    """Base of every request body: unknown fields and coerced types are refused (422)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class TokenRequest(Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=200, pattern=TEXT)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role


class UserCreate(Strict):
    """A staff account; customers get theirs through /customers/{id}/users."""

    email: EmailStr
    password: str = Field(min_length=8, max_length=200, pattern=TEXT, json_schema_extra=NOT_COMMON)
    role: StaffRole


class CustomerUserCreate(Strict):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200, pattern=TEXT, json_schema_extra=NOT_COMMON)


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    customer_id: uuid.UUID | None


class AddressIn(Strict):
    line1: str = Field(min_length=1, max_length=200, pattern=TEXT)
    city: str = Field(min_length=1, max_length=100, pattern=TEXT)
    postal_code: str = Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")


class AddressOut(BaseModel):
    id: uuid.UUID
    line1: str
    city: str
    postal_code: str
    latitude: float | None
    longitude: float | None


class CustomerCreate(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=TEXT)
    email: EmailStr
    phone: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164, e.g. +15551234567")
    service_address: AddressIn


class NotificationOut(BaseModel):
    channel: Literal["email", "sms"]
    kind: str
    status: Literal["sent", "failed"]


class NotificationView(NotificationOut):
    id: uuid.UUID
    #: the provider's last word on delivery (SMS only, with a public URL configured)
    delivery: str | None = None
    #: the provider's error code when delivery failed (Twilio's 30003, ...)
    error_code: str | None = None
    created_at: datetime


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    phone: str
    status: str
    stripe_customer_id: str | None
    service_addresses: list[AddressOut]
    created_at: datetime
    notifications: list[NotificationOut] = []


class ErrorBody(BaseModel):
    code: str
    message: str
    details: object | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
