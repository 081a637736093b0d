"""Alembic environment: runs on the connection handed over by wms.db.session.migrate."""

from __future__ import annotations

from alembic import context

# every module that declares tables, so that autogenerate sees the whole schema
from wms.db import config_models, keys_models, operations_models  # noqa: F401
from wms.db.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
