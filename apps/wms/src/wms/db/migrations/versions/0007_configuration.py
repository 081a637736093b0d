"""Versioned configuration: its versions, their activations (puts and rollbacks), and each
running process's acknowledgement of the version it applied.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("document", JSONB(), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_table(
        "config_activations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "version", sa.Integer(), sa.ForeignKey("config_versions.version"), nullable=False
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.CheckConstraint("action IN ('put', 'rollback')", name="ck_config_activation_action"),
    )
    op.create_table(
        "config_acks",
        sa.Column("process_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("config_acks")
    op.drop_table("config_activations")
    op.drop_table("config_versions")
