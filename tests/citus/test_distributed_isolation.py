"""The application's own schema, distributed by `shouhu db upgrade` (hierarchy.citus_schema): the tree loads into
its reference table, row-level security alone keeps every unit to its subtree on every shard, a missing or empty
scope reads nothing on any node, and a province's query runs on one shard."""

from __future__ import annotations

import csv
import shutil

import pytest
from sqlalchemy import create_engine, text

from hierarchy.loader import load_regions
from hierarchy.rls import app_role, jobs_role
from hierarchy.scope import Scope, apply_db_scope
from tenant_app.db import Database
from tests.citus.conftest import shard_rows, worker_shards
from tests.conftest import REGIONS

# (unit, province) of the rows written: two counties of Shaoguan (44) and a village of Liesan (34).
ROWS = [("440203001002", "44"), ("440203001002", "44"), ("440204001001", "44"), ("440205", "44"),
        ("340604001001", "34")]


@pytest.fixture(scope="module")
def app_db(migrated_url):
    database = Database()
    database.configure(migrated_url["url"], app_role(), jobs_role())
    yield database
    database.engine.dispose()


@pytest.fixture(scope="module")
def loaded(app_db, migrated_url):
    """Both bundled trees loaded through the loader as the jobs role, and notifications written by the owner."""
    with app_db.engine.begin() as connection:
        apply_db_scope(connection, Scope(all_tenants=True))
        report = load_regions(connection, [REGIONS / "shaoguan", REGIONS / "liesan"])
    owner = create_engine(migrated_url["url"])
    codes = {r[0] for r in owner.connect().execute(text("SELECT code FROM units WHERE code = ANY(:c)"),
                                                   {"c": [r[0] for r in ROWS]}).all()}
    assert codes == {r[0] for r in ROWS}, "the test's units are in the bundled trees"
    with owner.begin() as connection:
        connection.execute(text("DELETE FROM notifications"))
        connection.execute(text(
            "INSERT INTO notifications (region_code, province_code, kind, message, sender_name, created_at) "
            "SELECT r, p, 'reminder', '请按时完成', '县民政局', now() FROM unnest(CAST(:r AS text[]), "
            "CAST(:p AS text[])) AS x(r, p)"), {"r": [r[0] for r in ROWS], "p": [r[1] for r in ROWS]})
    owner.dispose()
    return report


def _codes(app_db: Database, scope: Scope, where: str = "") -> list[str]:
    with app_db.session_scope(scope, commit=False) as session:
        return sorted(session.execute(text(f"SELECT region_code FROM notifications {where}")).scalars())


def test_the_tree_loads_into_the_reference_table_and_reloads_by_list(loaded, app_db, migrated_url, tmp_path):
    assert sum(loaded.inserted.values()) > 1500 and not sum(loaded.renamed.values())
    # A second load of Shaoguan with a village renamed and one missing: renamed and retired, by list.
    copy = tmp_path / "shaoguan"
    shutil.copytree(REGIONS / "shaoguan", copy)
    villages = copy / "villages.csv"
    with villages.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    code_at, name_at = header.index("code"), header.index("name")
    renamed, dropped = body[0][code_at], body[1][code_at]
    body[0][name_at] += "（更名）"
    with villages.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, body[0], *body[2:]])
    with app_db.engine.begin() as connection:
        apply_db_scope(connection, Scope(all_tenants=True))
        report = load_regions(connection, [copy])
    assert sum(report.renamed.values()) == 1 and sum(report.retired.values()) == 1
    owner = create_engine(migrated_url["url"])
    try:
        with owner.begin() as connection:
            state = dict(connection.execute(text("SELECT code, retired FROM units WHERE code IN (:a, :b)"),
                                            {"a": renamed, "b": dropped}).all())
            assert state == {renamed: False, dropped: True}
    finally:
        owner.dispose()
    copies = []
    for _url, connection, shard in worker_shards(migrated_url["url"], "units"):
        with connection.begin():  # as the owner
            copies.append(connection.execute(text(f"SELECT retired FROM {shard} WHERE code = :b"),
                                             {"b": dropped}).scalar())
    assert copies == [True, True]  # each worker holds the same copy
    with app_db.engine.begin() as connection:  # the tree as it was, for the other tests
        apply_db_scope(connection, Scope(all_tenants=True))
        load_regions(connection, [REGIONS / "shaoguan"])


@pytest.mark.parametrize("unit", ["44", "4402", "440203", "440203001", "440203001002", "34", "3406", "65"])
def test_a_units_scope_reads_exactly_its_subtree_under_rls_alone(loaded, app_db, unit):
    assert _codes(app_db, Scope.unit(unit)) == sorted(code for code, _p in ROWS if code.startswith(unit))


def test_no_scope_reads_nothing_and_all_tenants_only_as_the_jobs_role(loaded, app_db):
    assert _codes(app_db, Scope()) == []
    assert _codes(app_db, Scope(all_tenants=True)) == sorted(code for code, _p in ROWS)
    with app_db.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET LOCAL app.scope = '*'")  # the application role asking for all
        assert connection.execute(text("SELECT count(*) FROM notifications")).scalar() == 0


def test_missing_or_empty_scope_reads_nothing_on_every_worker(loaded, migrated_url):
    seen = 0
    for url, connection, shard in worker_shards(migrated_url["url"], "notifications"):
        with connection.begin():
            seen += connection.execute(text(f"SELECT count(*) FROM {shard}")).scalar()  # as the owner
        for setting in (None, "", "4", "44x", "*"):
            assert shard_rows(connection, shard, setting) == [], (url, shard, setting)
        assert all(code.startswith("4402") for code in shard_rows(connection, shard, "4402"))
    assert seen == len(ROWS)


def test_a_provinces_query_runs_on_one_shard(loaded, app_db):
    def task_count(sql: str) -> int:
        with app_db.session_scope(Scope.unit("44"), commit=False) as session:
            plan = "\n".join(session.execute(text(f"EXPLAIN {sql}")).scalars())
        return int(plan.split("Task Count: ", 1)[1].split()[0])

    assert task_count("SELECT count(*) FROM children WHERE province_code = '44' AND region_code >= '440203' "
                      "AND region_code < '440203:'") == 1
    assert task_count("SELECT * FROM tasks WHERE province_code = '44' AND region_code = '440203001002'") == 1
    assert task_count("SELECT count(*) FROM children") > 1  # without the province: every shard
    assert _codes(app_db, Scope.unit("4402"), "WHERE province_code = '44'") == \
        sorted(code for code, _p in ROWS if code.startswith("4402"))
