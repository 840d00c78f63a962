"""The migrations run on a Citus coordinator as on a single server, from an empty database (one that
deploy/citus/test.sh makes afresh on every node for each run) to the one head; then `shouhu db upgrade` distributes
the schema (hierarchy.citus_schema): reference tables, every other table with province_code distributed by it and
co-located, keys and foreign keys holding the province, policies without sub-selects."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from hierarchy import citus_schema
from hierarchy.rls import app_role, jobs_role
from tenant_app.migrate import alembic_config, distribute_on_citus


def _rows(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).all()
    finally:
        engine.dispose()


def test_migrations_run_from_an_empty_database_to_the_head_on_the_coordinator(migrated_url):
    url = migrated_url["url"]
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert _rows(url, "SELECT version_num FROM alembic_version") == [(head,)]
    # The schema is there, under row-level security.
    forced = _rows(url, "SELECT count(*) FROM pg_class WHERE relname IN ('children', 'tasks', 'units') "
                        "AND relrowsecurity AND relforcerowsecurity")
    assert forced == [(3,)]


def test_every_table_with_a_province_is_distributed_by_it_and_colocated(migrated_url):
    url = migrated_url["url"]
    assert migrated_url["statements"]  # this run distributed it
    with_province = {r[0] for r in _rows(url, """
        SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'province_code'
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'""")}
    placed = {r[0]: r[1:] for r in _rows(url, """
        SELECT logicalrelid::regclass::text, partmethod, column_to_column_name(logicalrelid, partkey), colocationid
        FROM pg_dist_partition""")}
    assert {t for t, (method, _k, _c) in placed.items() if method == "n"} == set(citus_schema.REFERENCE_TABLES)
    distributed = {t: v for t, v in placed.items() if v[0] == "h"}
    assert set(distributed) == with_province - set(citus_schema.REFERENCE_TABLES)
    assert len(distributed) >= 35
    assert {key for _m, key, _c in distributed.values()} == {"province_code"}
    assert len({colocation for _m, _k, colocation in distributed.values()}) == 1
    # the shards, and so the provinces, lie on both workers
    assert _rows(url, "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'children'::regclass") \
        == [(2,)]


def test_keys_and_foreign_keys_between_distributed_tables_hold_the_province(migrated_url):
    url = migrated_url["url"]
    keys = _rows(url, """
        SELECT con.conrelid::regclass::text, con.conname, con.contype,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
               con.confrelid::regclass::text
        FROM pg_constraint con JOIN pg_dist_partition p ON p.logicalrelid = con.conrelid AND p.partmethod = 'h'
        WHERE con.contype IN ('p', 'u', 'f')""")
    reference = set(citus_schema.REFERENCE_TABLES)
    unique = [k for k in keys if k[2] in ("p", "u")]
    assert unique and all("province_code" in k[3] for k in unique), [k for k in unique if "province_code" not in k[3]]
    between = [k for k in keys if k[2] == "f" and k[5] not in reference]
    assert len(between) >= 25
    assert all(k[3][0] == "province_code" and k[4][0] == "province_code" for k in between), between
    # the case's reporter travels with the partner's own entries (migration 0029)
    assert any(k[1] == "fk_case_actions_case_id_cases_reporter" and k[3] == ["province_code", "case_id",
                                                                                "partner_user_id"] for k in between)


def test_policies_have_no_sub_selects_and_the_roles_may_log_in(migrated_url):
    url = migrated_url["url"]
    policies = _rows(url, "SELECT polrelid::regclass::text, polname, coalesce(pg_get_expr(polqual, polrelid), '') "
                          "|| ' ' || coalesce(pg_get_expr(polwithcheck, polrelid), '') FROM pg_policy")
    assert len(policies) > 60
    assert [p for p in policies if "SELECT" in p[2].upper()] == []
    partner_case = [p[2] for p in policies if p[1] == "cases_partner_read"]
    assert partner_case and "reporter_user_id = shouhu_partner_user()" in partner_case[0]
    logins = dict(_rows(url, f"SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('{app_role()}', "
                             f"'{jobs_role()}')"))
    assert logins == {app_role(): True, jobs_role(): True}
    # the fill-in triggers are gone: the coordinator routes by the value a statement gives
    assert _rows(url, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%province_code'") == [(0,)]


def test_a_second_upgrade_distributes_nothing(migrated_url):
    assert distribute_on_citus(migrated_url["url"]) == []
