"""WMS's data invariants, checked on the real database (in the spirit of Jepsen's bank checker).

``violations(conn)`` runs every check over one psycopg connection and returns what broke,
each violation with the offending rows, so a test asserts ``violations(...) == []`` and a
failure prints the rows. ``wait_until_delivered`` lets the outbox relay drain first, since
an event committed a moment ago is in flight, not lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from interlock.helpers.deadline import WaitTimeout, poll

__all__ = ["CHECKS", "Violation", "undelivered", "violations", "wait_until_delivered"]

SETTLED = "('paid', 'partially_refunded', 'refunded')"


@dataclass(frozen=True)
class Violation:
    """One broken invariant: its name, what it means, and the rows (as dicts) that break it."""

    name: str
    meaning: str
    rows: list[dict[str, Any]] = field(default_factory=list)


#: name -> (meaning, query returning the offending rows)
CHECKS: dict[str, tuple[str, str]] = {
    "invoice_paid_twice": (
        "an invoice has succeeded payments of more than one PaymentIntent (charged twice)",
        "SELECT invoice_id, array_agg(DISTINCT payment_intent_id) AS intents, "
        "count(*) AS payments FROM payments WHERE status = 'succeeded' "
        "GROUP BY invoice_id HAVING count(DISTINCT payment_intent_id) > 1",
    ),
    "payment_not_settling_its_invoice": (
        "a succeeded payment whose invoice is not settled by that very PaymentIntent",
        "SELECT p.id AS payment_id, p.invoice_id, p.payment_intent_id, i.status, "
        "i.payment_intent_id AS invoice_intent FROM payments p "
        "JOIN invoices i ON i.id = p.invoice_id WHERE p.status = 'succeeded' "
        f"AND (i.status NOT IN {SETTLED} "
        "OR i.payment_intent_id IS DISTINCT FROM p.payment_intent_id)",
    ),
    "settled_invoice_without_settlement": (
        "a settled invoice with no PaymentIntent or no payment time",
        "SELECT id AS invoice_id, status, payment_intent_id, paid_at FROM invoices "
        f"WHERE status IN {SETTLED} AND (payment_intent_id IS NULL OR paid_at IS NULL)",
    ),
    "settlement_not_applied_once": (
        "a settled invoice without exactly one invoice.paid event, or an unsettled one with any",
        "WITH paid AS (SELECT payload->'data'->>'invoice_id' AS invoice_id, count(*) AS n "
        "FROM outbox WHERE type = 'invoice.paid' GROUP BY 1) "
        "SELECT i.id AS invoice_id, i.status, coalesce(paid.n, 0) AS paid_events "
        "FROM invoices i LEFT JOIN paid ON paid.invoice_id = i.id::text "
        f"WHERE coalesce(paid.n, 0) <> CASE WHEN i.status IN {SETTLED} THEN 1 ELSE 0 END",
    ),
    "refunds_disagree_with_invoice": (
        "an invoice refunded more than it was paid, or whose refunds do not add up",
        "WITH r AS (SELECT invoice_id, sum(amount_cents) AS total FROM refunds "
        "GROUP BY invoice_id) SELECT i.id AS invoice_id, i.amount_cents, i.refunded_cents, "
        "coalesce(r.total, 0) AS refunds FROM invoices i LEFT JOIN r ON r.invoice_id = i.id "
        "WHERE i.refunded_cents > i.amount_cents OR i.refunded_cents <> coalesce(r.total, 0)",
    ),
    "orphan_rows": (
        "a row whose parent is gone",
        "SELECT 'payments' AS child, p.id::text AS id FROM payments p "
        "LEFT JOIN invoices i ON i.id = p.invoice_id WHERE i.id IS NULL "
        "UNION ALL SELECT 'refunds', r.id::text FROM refunds r "
        "LEFT JOIN invoices i ON i.id = r.invoice_id WHERE i.id IS NULL "
        "UNION ALL SELECT 'invoices', i.id::text FROM invoices i "
        "LEFT JOIN customers c ON c.id = i.customer_id WHERE c.id IS NULL "
        "UNION ALL SELECT 'invoices.subscription', i.id::text FROM invoices i "
        "LEFT JOIN subscriptions s ON s.id = i.subscription_id "
        "WHERE i.subscription_id IS NOT NULL AND s.id IS NULL "
        "UNION ALL SELECT 'subscriptions', s.id::text FROM subscriptions s "
        "LEFT JOIN customers c ON c.id = s.customer_id "
        "LEFT JOIN service_plans sp ON sp.id = s.plan_id WHERE c.id IS NULL OR sp.id IS NULL "
        "UNION ALL SELECT 'service_addresses', a.id::text FROM service_addresses a "
        "LEFT JOIN customers c ON c.id = a.customer_id WHERE c.id IS NULL "
        "UNION ALL SELECT 'notifications', n.id::text FROM notifications n "
        "LEFT JOIN customers c ON c.id = n.customer_id WHERE c.id IS NULL "
        "UNION ALL SELECT 'users', u.id::text FROM users u "
        "LEFT JOIN customers c ON c.id = u.customer_id "
        "WHERE u.customer_id IS NOT NULL AND c.id IS NULL",
    ),
}

UNDELIVERED = (
    "a committed outbox event never published",
    "SELECT id, channel, type, created_at FROM outbox WHERE published_at IS NULL "
    "AND created_at < %(before)s ORDER BY created_at LIMIT 50",
)


def _rows(
    conn: psycopg.Connection[Any], sql: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(sql, params)  # type: ignore[arg-type]  # fixed SQL of this module
        return list(cursor.fetchall())


def undelivered(conn: psycopg.Connection[Any], before: datetime) -> list[dict[str, Any]]:
    """Outbox events created before ``before`` and not yet published (50 at most)."""
    return _rows(conn, UNDELIVERED[1], {"before": before})


def violations(
    conn: psycopg.Connection[Any], *, delivered_before: datetime | None = None
) -> list[Violation]:
    """Every broken invariant of WMS's database, [] when all hold.

    ``delivered_before`` (what ``wait_until_delivered`` returns): every event created
    before it must be published; later ones are in flight. None (a snapshot, such as a
    restored dump, whose pending events are published once a relay runs on it): no event
    is counted as lost.
    """
    found = []
    for name, (meaning, sql) in CHECKS.items():
        rows = _rows(conn, sql)
        if rows:
            found.append(Violation(name, meaning, rows))
    if delivered_before is not None and undelivered(conn, delivered_before):
        # created_at is when its transaction began: one that began before the moment but
        # committed after wait_until_delivered looked is in flight, not lost. Lost is
        # still unpublished once the relay has had its turns (a wait on the condition).
        try:
            poll(
                lambda: not undelivered(conn, delivered_before),
                timeout=10,
                what="events committed late to be published",
            )
        except WaitTimeout:
            rows = undelivered(conn, delivered_before)
            found.append(Violation("event_not_delivered", UNDELIVERED[0], rows))
    return found


def wait_until_delivered(
    conn_of: Callable[[], psycopg.Connection[Any]], *, timeout: float = 30.0
) -> datetime:
    """Wait (up to ``timeout`` s) until the relay published every event committed so far;
    return that moment (the database's clock) for ``violations(delivered_before=...)``.

    Raises the deadline's AssertionError (WaitTimeout) when events are still pending.
    """
    now = _rows(conn_of(), "SELECT now() AS now")[0]["now"]
    assert isinstance(now, datetime)
    poll(
        lambda: not undelivered(conn_of(), now),
        timeout=timeout,
        what="every committed outbox event to be published",
    )
    return now
