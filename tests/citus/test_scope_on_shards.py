"""The scope reaches the shards: a table distributed by province under the policy form Citus accepts
(hierarchy.citus.in_scope_direct), read through the application's own connection set-up (tenant_app.db: Citus
found, `citus.propagate_set_commands = 'local'`, the application role) and its scope statement
(hierarchy.scope.apply_db_scope, `SET LOCAL` on Citus).

What would fail if the scope stayed on the coordinator: a query over every shard runs on the workers, whose
connections never saw `set_config()`; with the policy reading the settings there, they would return nothing (or,
with a policy that took an empty scope as a prefix of everything, every row)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hierarchy.citus import CITUS_INFO
from hierarchy.rls import app_role, jobs_role
from hierarchy.scope import Scope
from tenant_app.db import Database
from tests.citus.conftest import TABLE, probe_rows, shard_rows, worker_shards


@pytest.fixture(scope="module")
def probe(probe_table, citus_url):
    database = Database()
    database.configure(citus_url, app_role(), jobs_role())
    yield database
    database.engine.dispose()


def _read(database: Database, scope: Scope, where: str = "") -> list[str]:
    with database.session_scope(scope, commit=False) as session:
        return sorted(session.execute(text(f"SELECT region_code FROM {TABLE} {where}")).scalars())


def test_the_application_connection_finds_citus_and_propagates_local_settings(probe):
    with probe.engine.connect() as connection:
        assert connection.info.get(CITUS_INFO) is True
        assert connection.execute(text("SHOW citus.propagate_set_commands")).scalar() == "local"
        assert connection.execute(text("SELECT current_user")).scalar() == app_role()


@pytest.mark.parametrize("unit", ["44", "4402", "440203", "440203001", "440203001002", "65"])
def test_a_units_scope_reads_exactly_its_subtree_across_every_shard(probe, unit):
    expected = sorted(r for _p, r in probe_rows() if r.startswith(unit))
    assert expected  # every unit of the matrix has rows
    assert _read(probe, Scope.unit(unit)) == expected


def test_no_scope_reads_nothing_and_the_all_tenants_scope_only_as_the_jobs_role(probe):
    assert _read(probe, Scope()) == []
    # The all-tenants scope switches the transaction to the jobs role: every row.
    assert _read(probe, Scope(all_tenants=True)) == sorted(r for _p, r in probe_rows())
    # The application role setting '*' itself gets nothing, on the workers as on the coordinator.
    with probe.engine.connect() as connection, connection.begin():
        connection.exec_driver_sql("SET LOCAL app.scope = '*'")
        assert connection.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() == 0


def test_a_reused_connection_after_a_scoped_transaction_reads_nothing_without_a_scope(probe):
    """The trap measured when Citus was built here: a worker connection kept from a scoped transaction, then a
    transaction without a scope. The SET LOCAL ended with its transaction on the workers too."""
    for _ in range(3):
        assert _read(probe, Scope.unit("44"))
        assert _read(probe, Scope()) == []


def test_missing_or_empty_scope_reads_nothing_on_every_worker(probe, citus_url):
    """On each worker, straight at its shards as the application role: no scope, an empty one, a malformed one
    give no rows; a unit's scope gives its rows only."""
    seen = 0
    for url, connection, shard in worker_shards(citus_url, TABLE):
        with connection.begin():
            seen += connection.execute(text(f"SELECT count(*) FROM {shard}")).scalar()  # as the owner
        for setting in (None, "", "44x", "4402031", "*"):
            assert shard_rows(connection, shard, setting) == [], (url, shard, setting)
        codes = shard_rows(connection, shard, "44")
        assert all(code.startswith("44") for code in codes), (shard, codes)
    assert seen == len(probe_rows())  # every row was looked at on some worker


def test_a_province_filter_routes_to_one_shard_and_no_filter_to_all(probe):
    def task_count(where: str) -> int:
        with probe.session_scope(Scope.unit("44"), commit=False) as session:
            plan = "\n".join(session.execute(text(f"EXPLAIN SELECT count(*) FROM {TABLE} {where}")).scalars())
        return int(plan.split("Task Count: ", 1)[1].split()[0])

    assert task_count("WHERE province_code = '44'") == 1
    with probe.engine.connect() as connection:
        shards = connection.execute(text(
            f"SELECT count(*) FROM citus_shards WHERE table_name = '{TABLE}'::regclass")).scalar()
    assert task_count("") == shards > 1
    assert _read(probe, Scope.unit("44"), "WHERE province_code = '44'") == \
        sorted(r for _p, r in probe_rows() if r.startswith("44"))
