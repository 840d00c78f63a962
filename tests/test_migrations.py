"""Migrations: one head; upgrade on an empty PostgreSQL and an empty SQLite database."""

from __future__ import annotations

import re

from alembic import command
from sqlalchemy import create_engine, inspect, text

from hierarchy.models import Base
from tenant_app import models  # noqa: F401
from tenant_app.migrate import alembic_config, heads, upgrade
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


_BARE_SCOPE_CALL = re.compile(r"(?<!SELECT )shouhu_scope(?:_lo|_hi|_ancestors)?\(\)")


def _policies(url: str) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {(r.tablename, r.policyname): (r.qual, r.with_check) for r in conn.execute(text(
                "SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public'"))}
    finally:
        engine.dispose()


def test_policies_read_the_scope_once_per_statement():
    """Every policy calls the scope functions through scalar sub-selects (InitPlans), whichever migration
    created it; downgrading 0009 restores the per-row form and upgrading again is exact."""
    url = create_test_database("shouhu_mig_policies")
    try:
        upgrade(url)
        wrapped = _policies(url)
        assert len(wrapped) > 30
        calls = [e for pair in wrapped.values() for e in pair if e and "shouhu_scope" in e]
        assert calls and not [e for e in calls if _BARE_SCOPE_CALL.search(e)]

        command.downgrade(alembic_config(url), "0008_inline_scope_functions")
        unwrapped = _policies(url)
        assert any(_BARE_SCOPE_CALL.search(e) for pair in unwrapped.values() for e in pair if e)
        upgrade(url)
        assert _policies(url) == wrapped

        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SET ROLE shouhu_app"))
            conn.execute(text("SELECT set_config('app.scope', '4402', false)"))
            plan = "\n".join(conn.scalars(text("EXPLAIN SELECT count(*) FROM tasks")))
        engine.dispose()
        assert "InitPlan" in plan
    finally:
        drop_test_database(url)
