"""pg_stat_statements in WMS's database, when the server has it preloaded and the role may.

Stream B reads per-query timings from it (``wms.coordination.statements``) and falls back
to its own SQLAlchemy timings without it, so a server without the library, or a role
that may not create extensions, migrates all the same (a notice says why it was left out).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements')
             AND 'pg_stat_statements' = ANY (string_to_array(
               replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
          THEN
            CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
          ELSE
            RAISE NOTICE 'pg_stat_statements left out: the server does not preload it';
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'pg_stat_statements left out: %', SQLERRM;
        END $$;
        """
    )


def downgrade() -> None:
    # nothing: the extension may have been there before this migration, and it holds no
    # data of WMS's
    pass
