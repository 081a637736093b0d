"""Valid, unique request bodies for WMS resources."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

_counter = itertools.count(1)


def customer_payload(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    token = secrets.token_hex(4)
    body: dict[str, Any] = {
        "name": f"Customer {token}",
        "email": f"customer-{token}-{n}@example.com",
        "phone": f"+1555{secrets.randbelow(10**7):07d}",
        "service_address": {
            "line1": f"{n} Recycling Way",
            "city": "Springfield",
            "postal_code": "62704",
        },
    }
    body.update(overrides)
    return body


def many_invoices(admin: Any, db: Any, count: int) -> str:
    """A new customer with ``count`` paid invoices, written straight into the database
    (then ANALYZEd, so the planner knows their number); returns the customer's id."""
    customer = admin.post("/api/v1/customers", json=customer_payload())
    assert customer.status_code == 201, customer.text
    customer_id = str(customer.json()["id"])
    db.query(
        "INSERT INTO invoices (id, customer_id, period_start, period_end, amount_cents,"
        " refunded_cents, currency, status, attempt_count)"
        " SELECT gen_random_uuid(), %s, DATE '2020-01-01' + n, DATE '2020-01-02' + n, 100,"
        " 0, 'usd', 'paid', 0 FROM generate_series(1, %s) AS n",
        (customer_id, count),
    )
    db.query("ANALYZE invoices")
    return customer_id
