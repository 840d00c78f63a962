"""The Citus group: runs against a local Citus cluster (a coordinator and two workers), which
`deploy/citus/test.sh` builds, starts and points these tests at. Without the cluster every test fails with a
message saying how to start it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CITUS_URL = os.environ.get("SHOUHU_TEST_CITUS_URL", "postgresql+psycopg://postgres@127.0.0.1:9700/shouhu")


@pytest.fixture(scope="session")
def citus_url() -> str:
    engine = create_engine(CITUS_URL)
    try:
        with engine.connect() as connection:
            has_citus = connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar()
            workers = connection.execute(text("SELECT count(*) FROM citus_get_active_worker_nodes()")).scalar() \
                if has_citus else 0
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is the same message
        pytest.fail(f"no Citus coordinator at {make_url(CITUS_URL).render_as_string()}: {type(exc).__name__}. "
                    "Start the local cluster with deploy/citus/test.sh (or deploy/citus/cluster.sh start).")
    finally:
        engine.dispose()
    if not has_citus or workers < 2:
        pytest.fail(f"{CITUS_URL}: citus extension {'present' if has_citus else 'missing'}, {workers} active "
                    "workers (two are needed): run deploy/citus/cluster.sh start")
    return CITUS_URL


def worker_urls(citus_url: str) -> list[str]:
    engine = create_engine(citus_url)
    try:
        with engine.connect() as connection:
            nodes = connection.execute(text("SELECT node_name, node_port FROM citus_get_active_worker_nodes() "
                                            "ORDER BY node_port")).all()
    finally:
        engine.dispose()
    url = make_url(citus_url)
    return [url.set(host=name, port=port).render_as_string(hide_password=False) for name, port in nodes]


# A table distributed by province under the policy form Citus accepts, with rows in every province.
TABLE = "citus_scope_probe"
PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
             "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
# Per province: two villages of one county and one of another.
VILLAGES = ("0203001001", "0203001002", "0204001001")


def probe_rows() -> list[tuple[str, str]]:
    """(province code, village code) of every row of the probe table."""
    return [(p, p + v) for p in PROVINCES for v in VILLAGES]


def _each_node(citus_url: str, statements: list[str]) -> None:
    """Run `statements` on the coordinator and on every worker, without propagation (roles are per node)."""
    for url in [citus_url, *worker_urls(citus_url)]:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                if url == citus_url:
                    connection.execute(text("SET citus.enable_ddl_propagation = off"))
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def probe_table(citus_url):
    from hierarchy.citus import in_scope_direct
    from hierarchy.rls import app_role, jobs_role

    app, jobs = app_role(), jobs_role()
    roles = []
    for role in (app, jobs):
        roles += [f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
                  f"CREATE ROLE {role}; END IF; END $$",
                  # Citus opens the worker connections as the role the coordinator's session switched to.
                  f"ALTER ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"]
    roles += [f"GRANT {app} TO {jobs}", f"GRANT {app}, {jobs} TO current_user"]
    _each_node(citus_url, roles)
    owner = create_engine(citus_url)
    predicate = in_scope_direct("region_code", jobs)
    rows = probe_rows()
    try:
        with owner.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
            connection.execute(text(f'CREATE TABLE {TABLE} (province_code varchar(2) COLLATE "C" NOT NULL, '
                                    f'region_code varchar(12) COLLATE "C" NOT NULL, n integer NOT NULL)'))
            connection.execute(text(f"SELECT create_distributed_table('{TABLE}', 'province_code')"))
            connection.execute(text(f"INSERT INTO {TABLE} SELECT p, r, 1 FROM unnest(CAST(:p AS text[]), "
                                    f"CAST(:r AS text[])) AS x(p, r)"),
                               {"p": [r[0] for r in rows], "r": [r[1] for r in rows]})
            connection.execute(text(f"GRANT SELECT ON {TABLE} TO {app}"))
            connection.execute(text(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY"))
            connection.execute(text(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY"))
            connection.execute(text(f"CREATE POLICY {TABLE}_tenant ON {TABLE} TO {app} USING ({predicate})"))
            placed = connection.execute(text(f"SELECT count(DISTINCT nodeport) FROM citus_shards "
                                             f"WHERE table_name = '{TABLE}'::regclass")).scalar()
        assert placed == 2  # the shards, and so the provinces, lie on both workers
        yield TABLE
    finally:
        with owner.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        owner.dispose()


EMPTY_URL = os.environ.get("SHOUHU_TEST_CITUS_EMPTY_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:9700/shouhu_migrations")


@pytest.fixture(scope="session")
def migrated_url(citus_url) -> dict:
    """The database deploy/citus/test.sh makes afresh on every node, taken to the head by `shouhu db upgrade`'s
    own function (which distributes the schema on Citus), once per run: {"url", "statements"} (those that
    distributed it)."""
    from tenant_app.migrate import upgrade

    engine = create_engine(EMPTY_URL)
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar():
                pytest.fail(f"{EMPTY_URL} is not empty: deploy/citus/test.sh makes it afresh before the run")
            assert connection.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'citus'")).scalar()
    finally:
        engine.dispose()
    import hierarchy.citus_schema as citus_schema

    ran: list[str] = []
    original = citus_schema.distribute

    def recording(connection):
        ran.extend(original(connection))
        return ran

    citus_schema.distribute = recording
    try:
        upgrade(EMPTY_URL)
    finally:
        citus_schema.distribute = original
    return {"url": EMPTY_URL, "statements": ran}


def worker_shards(citus_url: str, table: str):
    """(worker URL, connection, shard name) for each shard of `table` on each worker, straight at the worker as
    the owner (shards are hidden from the table list unless asked)."""
    for url in worker_urls(citus_url):
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SET citus.override_table_visibility = off")
                shards = connection.execute(text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relname ~ :pattern AND c.relkind = 'r'"),
                    {"pattern": f"^{table}_[0-9]+$"}).scalars().all()
                connection.commit()  # the session-wide setting stays; each read below is its own transaction
                assert shards, (url, table)
                for shard in shards:
                    yield url, connection, shard
        finally:
            engine.dispose()


def shard_rows(connection, shard: str, setting: str | None, column: str = "region_code") -> list[str]:
    """`column` of the shard's rows as the application role, with app.scope set to `setting` (None: not set)."""
    from hierarchy.rls import app_role

    with connection.begin():
        connection.exec_driver_sql(f'SET LOCAL ROLE "{app_role()}"')
        if setting is not None:
            connection.exec_driver_sql(f"SET LOCAL app.scope = '{setting}'")
        return connection.execute(text(f"SELECT {column} FROM {shard}")).scalars().all()
