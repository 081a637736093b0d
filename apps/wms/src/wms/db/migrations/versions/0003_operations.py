"""Operations: depots, vehicles, GPS positions, routes and pickups.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def _fk(
    name: str, target: str, *, nullable: bool = False, ondelete: str | None = None
) -> sa.Column[Any]:
    return sa.Column(name, sa.Uuid(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "depots",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("line1", sa.String(200), nullable=False),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("postal_code", sa.String(20), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        _at("created_at", nullable=False, now=True),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        _fk("depot_id", "depots.id"),
        sa.Column("samsara_vehicle_id", sa.String(64), unique=True),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("speed_mph", sa.Float()),
        sa.Column("heading_deg", sa.Float()),
        _at("position_at"),
        _at("created_at", nullable=False, now=True),
    )
    op.create_index("ix_vehicles_depot_id", "vehicles", ["depot_id"])
    op.create_table(
        "vehicle_positions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("vehicle_id", "vehicles.id", ondelete="CASCADE"),
        _at("recorded_at", nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("speed_mph", sa.Float()),
        sa.Column("heading_deg", sa.Float()),
        _at("received_at", nullable=False, now=True),
        sa.UniqueConstraint("vehicle_id", "recorded_at"),
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("depot_id", "depots.id"),
        _fk("vehicle_id", "vehicles.id"),
        _fk("driver_id", "users.id"),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("degraded", sa.Boolean(), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        _at("starts_at", nullable=False),
        _at("eta_from"),
        _at("created_at", nullable=False, now=True),
        _at("updated_at", nullable=False, now=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("airtable_synced_version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("vehicle_id", "service_date"),
        sa.UniqueConstraint("driver_id", "service_date"),
    )
    op.create_index("ix_routes_depot_id", "routes", ["depot_id"])
    op.create_index("ix_routes_driver_id", "routes", ["driver_id"])
    op.create_table(
        "pickups",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _fk("customer_id", "customers.id", ondelete="CASCADE"),
        _fk("address_id", "service_addresses.id", ondelete="CASCADE"),
        _fk("depot_id", "depots.id", nullable=True),
        _fk("subscription_id", "subscriptions.id", nullable=True),
        _fk("route_id", "routes.id", nullable=True, ondelete="SET NULL"),
        sa.Column("sequence", sa.Integer()),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_date", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text()),
        _fk("requested_by", "users.id", nullable=True),
        _at("planned_eta"),
        _at("eta"),
        _at("completed_at"),
        _fk("completed_by", "users.id", nullable=True),
        sa.Column("proof_latitude", sa.Float()),
        sa.Column("proof_longitude", sa.Float()),
        sa.Column("proof_photo_ref", sa.String(500)),
        sa.Column("missed_reason", sa.String(32)),
        sa.Column("missed_note", sa.Text()),
        _at("missed_at"),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        _at("created_at", nullable=False, now=True),
        _at("updated_at", nullable=False, now=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("airtable_synced_version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("subscription_id", "scheduled_date"),
    )
    op.create_index("ix_pickups_customer_id", "pickups", ["customer_id"])
    op.create_index("ix_pickups_route_id", "pickups", ["route_id"])
    op.create_index("ix_pickups_day", "pickups", ["scheduled_date", "status"])
    for table in ("routes", "pickups"):
        op.create_index(
            f"ix_{table}_unmirrored",
            table,
            ["updated_at"],
            postgresql_where=sa.text("airtable_synced_version < version"),
        )
    op.create_index(
        "ux_pickups_open_per_address_day",
        "pickups",
        ["address_id", "scheduled_date"],
        unique=True,
        postgresql_where=sa.text("status IN ('scheduled', 'assigned')"),
    )


def downgrade() -> None:
    for table in ("pickups", "routes", "vehicle_positions", "vehicles", "depots"):
        op.drop_table(table)
