"""The migrations run on a Citus coordinator as on a single server: every revision, from an empty database (one
that deploy/citus/test.sh makes afresh on every node for each run) to the one head."""

from __future__ import annotations

import os

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from tenant_app.migrate import alembic_config, upgrade

EMPTY_URL = os.environ.get("SHOUHU_TEST_CITUS_EMPTY_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:9700/shouhu_migrations")


def test_migrations_run_from_an_empty_database_to_the_head_on_the_coordinator(citus_url):
    engine = create_engine(EMPTY_URL)
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar():
                pytest.fail(f"{EMPTY_URL} is not empty: deploy/citus/test.sh makes it afresh before the run")
            assert connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar()
        upgrade(EMPTY_URL)
        head = ScriptDirectory.from_config(alembic_config(EMPTY_URL)).get_current_head()
        with engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
            # The schema is there, under row-level security.
            forced = connection.execute(text(
                "SELECT count(*) FROM pg_class WHERE relname IN ('children', 'tasks', 'units') "
                "AND relrowsecurity AND relforcerowsecurity")).scalar()
            assert forced == 3
    finally:
        engine.dispose()
