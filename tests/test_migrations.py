"""Migrations: one head; upgrade on an empty PostgreSQL and an empty SQLite database."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, text

from hierarchy.models import Base
from tenant_app import models  # noqa: F401
from tenant_app.migrate import heads, upgrade
from tests.conftest import create_test_database, drop_test_database


def test_one_head():
    assert len(heads()) == 1


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_empty_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    upgrade(url)
    assert set(Base.metadata.tables) <= _tables(url)
    upgrade(url)  # again: nothing to do, no error


def test_upgrade_empty_postgresql_creates_role_and_forced_rls():
    url = create_test_database("shouhu_mig")
    try:
        upgrade(url)
        assert set(Base.metadata.tables) <= _tables(url)
        engine = create_engine(url)
        with engine.connect() as conn:
            forced = dict(conn.execute(text(
                "SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN ('units','users','api_tokens')"
            )).all())
            role = conn.execute(text(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'shouhu_app'")).one()
        engine.dispose()
        assert forced == {"units": True, "users": True, "api_tokens": True}
        assert tuple(role) == (False, False)
    finally:
        drop_test_database(url)
