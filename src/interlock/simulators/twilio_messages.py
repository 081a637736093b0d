"""The rules of Twilio's Messages resource the simulator keeps: limits, test numbers, segments.

From Twilio's Message resource reference and error dictionary: the 1600-character body
(21617), the statuses a message ends in (only such a message can be deleted or redacted),
the create parameters the simulator does not act on, PageSize's ceiling, the magic test
numbers and the SMS segment count.
"""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = [
    "FINAL_STATUSES",
    "MAGIC_NUMBERS",
    "MAX_BODY_CHARACTERS",
    "MAX_PAGE_SIZE",
    "UNSERVED_CREATE_PARAMS",
    "segments",
    "sent_on",
]

#: the longest Body Twilio sends (error 21617 above it; twilio.com/docs/api/errors/21617)
MAX_BODY_CHARACTERS = 1600
#: the statuses a message ends in; only such a message may be deleted
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "received", "read", "canceled"})
#: what Twilio's Message create takes beyond To, From, MessagingServiceSid, Body and
#: StatusCallback (Message resource reference); each changes what Twilio does, so each is
#: refused by name rather than ignored. Names Twilio does not know it ignores, as here.
UNSERVED_CREATE_PARAMS = frozenset(
    {
        "MediaUrl",
        "ContentSid",
        "ContentVariables",
        "ApplicationSid",
        "MaxPrice",
        "ProvideFeedback",
        "Attempt",
        "ValidityPeriod",
        "ForceDelivery",
        "ContentRetention",
        "AddressRetention",
        "SmartEncoded",
        "PersistentAction",
        "TrafficType",
        "ShortenUrls",
        "ScheduleType",
        "SendAt",
        "SendAsMms",
        "RiskCheck",
    }
)
#: the largest PageSize Twilio honours
MAX_PAGE_SIZE = 1000
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


def sent_on(items: list[dict[str, Any]], param: str, value: str) -> list[dict[str, Any]]:
    """The messages whose send date (UTC, YYYY-MM-DD) is on, before or after ``value``."""
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
