"""The rules of Twilio's Messages resource the simulator keeps: limits, test numbers, segments.

From Twilio's Message resource reference and error dictionary: the 1600-character body
(21617), the statuses a message ends in (only such a message can be deleted or redacted),
the create parameters the simulator does not act on, PageSize's ceiling, the magic test
numbers and the SMS segment count. The parameter names and PageSize's bounds are read
from Twilio's OpenAPI description (``specs/twilio/openapi.json``, trimmed from
github.com/twilio/twilio-oai by ``scripts/trim_twilio_openapi.py``; MIT, ``LICENSE``).
"""

from __future__ import annotations

import json
import math
from email.utils import parsedate_to_datetime
from importlib import resources
from typing import Any

__all__ = [
    "CREATE_PARAMS",
    "FINAL_STATUSES",
    "MAGIC_NUMBERS",
    "MAX_BODY_CHARACTERS",
    "MAX_PAGE_SIZE",
    "SERVED_CREATE_PARAMS",
    "UNSERVED_CREATE_PARAMS",
    "segments",
    "sent_on",
]

#: the longest Body Twilio sends (error 21617 above it; twilio.com/docs/api/errors/21617)
MAX_BODY_CHARACTERS = 1600
#: the statuses a message ends in; only such a message may be deleted
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "received", "read", "canceled"})
#: Twilio's test numbers for "To", and the error each one provokes
MAGIC_NUMBERS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' "
        "phone number: {sender} via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by "
        "the 'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}


def _spec() -> dict[str, Any]:
    text = resources.files("interlock.simulators").joinpath("specs/twilio/openapi.json")
    document: dict[str, Any] = json.loads(text.read_text())
    return document


_MESSAGES = _spec()["paths"]["/2010-04-01/Accounts/{AccountSid}/Messages.json"]
_FORM = "application/x-www-form-urlencoded"
#: every parameter Twilio's Message create takes
CREATE_PARAMS = frozenset(
    _MESSAGES["post"]["requestBody"]["content"][_FORM]["schema"]["properties"]
)
#: those the simulator acts on; the rest each change what Twilio does, so each is refused
#: by name rather than ignored (names Twilio does not know it ignores, and so does this)
SERVED_CREATE_PARAMS = frozenset({"To", "From", "MessagingServiceSid", "Body", "StatusCallback"})
UNSERVED_CREATE_PARAMS = CREATE_PARAMS - SERVED_CREATE_PARAMS
#: the largest PageSize Twilio honours
MAX_PAGE_SIZE: int = next(
    p["schema"]["maximum"] for p in _MESSAGES["get"]["parameters"] if p["name"] == "PageSize"
)


def sent_on(items: list[dict[str, Any]], param: str, value: str) -> list[dict[str, Any]]:
    """The messages whose send date (UTC) is on, before or after ``value``'s date (Twilio
    compares dates; the SDK sends ``YYYY-MM-DD`` or a full ISO 8601 time)."""
    value = value[:10]
    kept = []
    for message in items:
        if message["date_sent"] is None:
            continue
        day = parsedate_to_datetime(message["date_sent"]).date().isoformat()
        if (
            (param == "DateSent" and day == value)
            or (param == "DateSent<" and day <= value)
            or (param == "DateSent>" and day >= value)
        ):
            kept.append(message)
    return kept


def segments(body: str) -> int:
    """SMS segments of a body: 160 characters in one (70 outside ASCII, taken here for
    GSM-7), and 153 (67) a part once it is split, the rest carrying the joining header."""
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / part)
