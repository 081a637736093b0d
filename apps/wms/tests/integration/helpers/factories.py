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
