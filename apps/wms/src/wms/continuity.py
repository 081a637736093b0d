"""What WMS promises when one dependency is unavailable: its declared continuity.

Data, not behaviour: for each dependency made unavailable in turn, what each business
workflow does. The integration suite measures the same matrix and fails where they differ,
so a change that makes a workflow stop surviving a loss it was declared to survive is red.
Kept in WMS (not in the suite or in configuration) because it is WMS's own claim about
itself, typed and checked like its code, and changed in the same commit as the behaviour.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["DEPENDENCIES", "EXPECTED", "WORKFLOWS", "Outcome"]

#: works: as if nothing were wrong; degrades: done, with part of it queued or marked
#: failed to retry later; fails: refused (502-504, worth retrying), nothing half-done
Outcome = Literal["works", "degrades", "fails"]

WORKFLOWS: Final = (
    "onboard_customer",  # Stripe customer, row, welcome e-mail and SMS
    "read_invoice",
    "pay_invoice",
    "announce_invoice",  # an invoice created and its invoice.created event published
)
DEPENDENCIES: Final = ("postgres", "redis", "stripe", "sendgrid", "twilio")

_ALL_FAIL: dict[str, Outcome] = dict.fromkeys(WORKFLOWS, "fails")
_ALL_WORK: dict[str, Outcome] = dict.fromkeys(WORKFLOWS, "works")

#: dependency -> workflow -> what WMS does while that dependency is unavailable
EXPECTED: Final[dict[str, dict[str, Outcome]]] = {
    # the system of record: nothing can be done or read without it
    "postgres": _ALL_FAIL,
    # events wait in the outbox and are published once Redis is back
    "redis": {**_ALL_WORK, "announce_invoice": "degrades"},
    # no customer account, no charge; reading and invoicing go on
    "stripe": {**_ALL_WORK, "onboard_customer": "fails", "pay_invoice": "fails"},
    # the welcome message is recorded as failed; the customer is onboarded
    "sendgrid": {**_ALL_WORK, "onboard_customer": "degrades"},
    "twilio": {**_ALL_WORK, "onboard_customer": "degrades"},
}
