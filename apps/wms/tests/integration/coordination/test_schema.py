"""WMS's migrations build exactly the schema its models declare."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wms.db import config_models, keys_models, operations_models  # noqa: F401  (their tables)
from wms.db.models import Base

pytestmark = pytest.mark.workflow


def test_migrations_and_models_agree(stack):
    # the stack is up once the app is ready, which is after it ran its migrations
    url = stack.postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
