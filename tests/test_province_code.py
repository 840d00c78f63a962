"""`province_code` on every tenant table (migration 0028, hierarchy.province): present and NOT NULL, equal to the
first two digits of the row's own code whatever wrote the row: the ORM on insert and when the code moves to
another province, a statement that does not name it (the trigger), and refused when it disagrees (the CHECK)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from hierarchy.models import Base
from hierarchy.province import PROVINCE_SOURCES
from hierarchy.scope import Scope, scoped
from tenant_app.auth.models import User
from tenant_app.db import db

VILLAGE = "440203001002"  # Guangdong
OTHER_PROVINCE_VILLAGE = "340604001001"  # Anhui


def test_every_tenant_table_has_its_province_not_null_and_checked(db_connection):
    rows = db_connection.execute(text(
        "SELECT c.relname, a.attnotnull, "
        "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = 'ck_' || c.relname "
        "|| '_province_code') FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "AND a.attname = 'province_code' AND NOT a.attisdropped "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'")).all()
    found = {name: (not_null, checked) for name, not_null, checked in rows}
    for table in PROVINCE_SOURCES:
        assert found.get(table) == (True, True), table
    # Every table under row-level security carries its province, except the tree itself (a reference table).
    secured = set(db_connection.execute(text(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
        "AND relrowsecurity")).scalars())
    assert secured - set(found) == {"units"}
    # The models say the same: every model of these tables maps the column and names its source.
    for mapper in Base.registry.mappers:
        table = mapper.local_table.name
        if table in PROVINCE_SOURCES:
            assert mapper.class_.__province_source__ == PROVINCE_SOURCES[table], table
            assert "province_code" in mapper.columns, table


def test_the_orm_fills_it_on_insert_and_when_the_unit_moves_province(app):
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            user = User(region_code=VILLAGE, username="province_mover", role="staff", password_hash="x",
                        real_name="迁移")
            session.add(user)
            session.flush()
            assert user.province_code == "44"
            user.region_code = OTHER_PROVINCE_VILLAGE
            session.flush()
            stored = session.execute(text("SELECT province_code FROM users WHERE id = :i"), {"i": user.id}).scalar()
            assert user.province_code == stored == "34"
            user.real_name = "改名"  # a change that does not move it leaves it alone
            session.flush()
            assert session.execute(text("SELECT province_code FROM users WHERE id = :i"),
                                   {"i": user.id}).scalar() == "34"
        finally:
            session.rollback()
            session.close()


def test_a_statement_that_does_not_name_it_gets_it_and_a_wrong_one_is_refused(db_connection):
    from hierarchy.scope import apply_db_scope

    def run(sql: str, **params):
        with db_connection.begin_nested():
            apply_db_scope(db_connection, Scope(all_tenants=True))
            return db_connection.execute(text(sql), params).all()

    assert run("INSERT INTO sync_outbox (region_code, kind, created_at) VALUES (:c, 'children', now()) "
               "RETURNING province_code", c=VILLAGE) == [("44",)]
    user_id, province = run("INSERT INTO users (region_code, username, password_hash, role, real_name) "
                            "VALUES (:c, 'province_sql', 'x', 'staff', '测试') RETURNING id, province_code",
                            c=VILLAGE)[0]
    assert province == "44"
    # Moved to another province by a statement: the province follows its code.
    assert run("UPDATE users SET region_code = :c WHERE id = :i RETURNING province_code",
               c=OTHER_PROVINCE_VILLAGE, i=user_id) == [("34",)]
    with pytest.raises(IntegrityError, match="ck_users_province_code"):
        run("UPDATE users SET province_code = '11' WHERE id = :i", i=user_id)

def test_sqlite_fills_it_too(tmp_path):
    """The quick start's SQLite: the same migration, AFTER triggers in place of PostgreSQL's BEFORE ones."""
    from tenant_app.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'province.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            assert "province_code" in {c["name"] for c in inspect(connection).get_columns("tasks")}
            connection.execute(text("INSERT INTO sync_outbox (region_code, kind, created_at) "
                                    "VALUES (:c, 'children', '2026-12-02 00:00:00')"), {"c": VILLAGE})
            assert connection.execute(text("SELECT province_code FROM sync_outbox")).scalar() == "44"
            connection.execute(text("UPDATE sync_outbox SET region_code = :c"), {"c": OTHER_PROVINCE_VILLAGE})
            assert connection.execute(text("SELECT province_code FROM sync_outbox")).scalar() == "34"
    finally:
        engine.dispose()


def _inserts_without_the_province() -> set[tuple[str, str]]:
    """(file, table) of every INSERT into a table of PROVINCE_SOURCES, in SQL text or as a Core from_select,
    whose column list does not name province_code (a column list built from a constant counts by its name)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sql = re.compile(r"INSERT INTO (\w+)\s*\(([^)]*)\)", re.S)
    core = re.compile(r"insert\((\w+)\.__table__\)\.from_select\(\s*\[([^\]]*)\]", re.S)
    tables_of = {mapper.class_.__name__: mapper.local_table.name for mapper in Base.registry.mappers}
    sources = {path: path.read_text(encoding="utf-8") for path in
               [*root.glob("tenant_app/**/*.py"), *root.glob("sync/*.py"), *root.glob("hierarchy/*.py")]}
    everything = "\n\n".join(sources.values())
    found = set()
    for path, source in sources.items():
        for table, columns in sql.findall(source):
            constant = re.fullmatch(r"\s*\{(?:\w+\.)?(\w+)\}\s*", columns)
            if constant:  # a column list kept in a module-level constant: its definition counts
                defined = re.search(rf"^{constant.group(1)} = (.{{0,400}})", source, re.M | re.S) \
                    or re.search(rf"^{constant.group(1)} = (.{{0,400}})", everything, re.M | re.S)
                columns = defined.group(1).split("\n\n")[0] if defined else columns
            if table in PROVINCE_SOURCES and "province_code" not in columns:
                found.add((str(path.relative_to(root)), table))
        for model, columns in core.findall(source):
            table = tables_of.get(model)
            if table in PROVINCE_SOURCES and "province_code" not in columns:
                found.add((str(path.relative_to(root)), table))
    return found


def test_set_based_inserts_name_the_province():
    """Every set-based INSERT names province_code: a Citus coordinator routes a row by the value the statement
    gives, before any trigger could fill it (deploy/citus/SCHEMA.md)."""
    assert _inserts_without_the_province() == set()


def test_every_policy_has_a_form_a_citus_coordinator_accepts(db_connection):
    """hierarchy.citus_schema rewrites each policy of the schema without sub-selects when it distributes it; a new
    policy that reads another table fails here until it has such a form."""
    from hierarchy.citus_schema import citus_form

    policies = db_connection.execute(text(
        "SELECT polname, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) FROM pg_policy")).all()
    assert len(policies) > 60
    rewritten = {name: [citus_form(e) for e in (using, check) if e] for name, using, check in policies}
    assert all("SELECT" not in e.upper() for forms in rewritten.values() for e in forms)
    assert "reporter_user_id = shouhu_partner_user()" in rewritten["cases_partner_read"][0]
    assert "shouhu_partner_org_kind(shouhu_partner_user())" in rewritten["roll_uploads_department_read"][0]
