"""The advised index: named within PostgreSQL's limit, built in the order the plan sorts by,
and acknowledged only by ids that name an index."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wms.coordination.advice import _index_ddl, _scans, index_name
from wms.coordination.configuration import WMSConfiguration


def top_n(*sort_key: str) -> dict[str, object]:
    """EXPLAIN's plan of ``SELECT ... ORDER BY ... LIMIT`` over a sequential scan."""
    scan = {"Node Type": "Seq Scan", "Relation Name": "invoices"}
    return {
        "Node Type": "Limit",
        "Plans": [{"Node Type": "Sort", "Sort Key": list(sort_key), "Plans": [scan]}],
    }


def test_a_mixed_order_is_advised_as_an_index_in_that_order():
    [(_, columns, why)] = _scans(top_n("invoices.created_at DESC", "invoices.id"))
    assert (columns, why) == (["created_at DESC", "id"], "top_n")
    name = index_name("invoices", columns)
    assert name == "ix_invoices_created_at_desc_id"
    assert _index_ddl(name, "invoices", columns) == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_invoices_created_at_desc_id" '
        'ON "invoices" ("created_at" DESC, "id")'
    )


def test_an_order_by_an_expression_advises_no_index_of_columns():
    assert list(_scans(top_n("lower((invoices.currency)::text)"))) == []


def test_a_long_index_name_is_cut_to_63_characters_and_told_apart_by_a_digest():
    first = index_name(
        "service_addresses", ["customer_id", "created_at", "postal_code", "scheduled_day_a"]
    )
    second = index_name(
        "service_addresses", ["customer_id", "created_at", "postal_code", "scheduled_day_b"]
    )
    assert len(first) == len(second) == 63
    assert first != second
    assert first.startswith("ix_service_addresses_customer_id_created_at")


@pytest.mark.parametrize("given", ["ix_invoices; DROP TABLE invoices", "IX_UPPER", "", "x" * 64])
def test_only_an_index_name_can_be_acknowledged(given):
    with pytest.raises(ValidationError):
        WMSConfiguration(acknowledged_migrations=[given])
    assert WMSConfiguration(acknowledged_migrations=["ix_invoices_created_at_desc_id"])
