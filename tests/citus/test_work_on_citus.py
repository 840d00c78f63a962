"""The application's work on a Citus cluster, with the application's own code paths: a country of two provinces
loaded, children generated, the fan-out of a national campaign (one per province, each on its shard), the full
roll-up and an incremental drain equal to a recount, and the hot requests of each level routed to one shard."""

from __future__ import annotations

import re

import psycopg
import pytest
from sqlalchemy import event, text

from hierarchy.scope import apply_db_scope, job_scope
from tenant_app.loadbench import country, dataset

# Two provinces whose shards lie on different workers (the placement follows the hash of the code).
PROVINCES = ("11", "13")
ROLES = ("admin", "staff", "viewer")


@pytest.fixture(scope="module")
def citus_country(citus_url):
    """A database of its own on every node, migrated and distributed by `shouhu db upgrade`'s function, with two
    provinces of 300 villages each, 3,000 children, the figures rebuilt and a national campaign published."""
    from tenant_app import create_app
    from tenant_app.db import db
    from tenant_app.migrate import upgrade

    url = dataset.create_database(citus_url, "shouhu_citus_work")
    try:
        upgrade(url)
        app = create_app({"SHOUHU_DATABASE_URL": url, "TESTING": True, "SHOUHU_REDIS_URL": None,
                          "SECRET_KEY": "citus-work", "SHOUHU_TRACKING_CACHE_SECONDS": 0})
        with app.app_context():
            villages = country.load_tree(db, PROVINCES, 600)
            children = country.generate_children(db, PROVINCES, 3000)
            # The accounts before the figures: a unit's staff count in them.
            accounts = {p: country._accounts(db, p) for p in PROVINCES}
            village = dataset._all(db, "SELECT min(code) FROM units WHERE level = 5 AND code >= :lo AND code < :hi",
                                   lo=accounts["11"]["county_code"], hi=accounts["11"]["county_code"] + ":")[0][0]
            dataset._insert_users(db, [(village, "citus_village", "staff")], "x")
            accounts["village"] = {"code": village, **dataset._issue_tokens(db, ["citus_village"])}
            # Every role at every level of province 11, on the village's line.
            matrix = [(village[:n], f"m{role}{village[:n]}", role) for n in (2, 4, 6, 9, 12) for role in ROLES]
            dataset._insert_users(db, matrix, "x")
            accounts["matrix"] = dataset._issue_tokens(db, [name for _code, name, _role in matrix])
            dataset.rebuild_figures(db)
            campaigns = country.national_campaign(db, PROVINCES)
        # Requests push an application context of their own (a test holding one would share `g` among them).
        yield {"app": app, "db": db, "url": url, "villages": villages, "children": children,
               "campaigns": campaigns, "accounts": accounts}
    finally:
        if db.engine is not None:
            db.engine.dispose()
        dataset.drop_database(citus_url, url)


def _jobs_rows(db, sql: str, **params):
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(sql), params).all()


def test_the_country_is_on_the_shards(citus_country):
    db = citus_country["db"]
    assert citus_country["villages"] == 600 and citus_country["children"] == 3000
    # The children lie on the workers' shards, each province's on exactly one shard.
    placed = _jobs_rows(db, "SELECT province_code, count(*) FROM children GROUP BY province_code ORDER BY 1")
    assert placed == [("11", 1500), ("13", 1500)]
    with db.engine.connect() as connection:
        ports = connection.execute(text(
            "SELECT p, s.nodeport FROM unnest(CAST(:p AS text[])) AS p JOIN citus_shards s "
            "ON s.shardid = get_shard_id_for_distribution_column('children', p) "
            "AND s.table_name = 'children'::regclass ORDER BY p"), {"p": list(PROVINCES)}).all()
    assert len({port for _p, port in ports}) == 2, ports


def test_the_national_fan_out_gives_every_village_one_task_of_its_provinces_campaign(citus_country):
    db, campaigns = citus_country["db"], citus_country["campaigns"]
    villages = {code for (code,) in _jobs_rows(db, "SELECT code FROM units WHERE level = 5 AND NOT retired")}
    tasks = _jobs_rows(db, "SELECT region_code, count(*), min(campaign_id), min(province_code) FROM tasks "
                           "GROUP BY region_code")
    assert len(villages) == 600 and {code for code, *_rest in tasks} == villages
    for code, count, campaign_id, province in tasks:
        assert (count, campaign_id, province) == (1, campaigns[code[:2]], code[:2]), code
    opened = _jobs_rows(db, "SELECT province_code, status, task_count, receipt_count > 0 FROM campaigns ORDER BY 1")
    assert opened == [("11", "open", 300, True), ("13", "open", 300, True)]
    # A second publish of the same campaign (a retried job) inserts nothing.
    from tenant_app.campaigns.fanout import fan_out

    with db.engine.begin() as connection, job_scope("11") as scope:
        apply_db_scope(connection, scope)
        assert fan_out(connection, campaigns["11"])["skipped"] is True
    assert _jobs_rows(db, "SELECT count(*) FROM tasks")[0][0] == 600


def test_the_full_roll_up_and_the_campaign_figures_equal_a_recount(citus_country):
    from sync.rollup import verify

    db = citus_country["db"]
    with citus_country["app"].app_context(), job_scope(all_tenants=True), \
            db.session_scope(commit=False) as session:
        for province in PROVINCES:
            assert verify(session.connection(), province) == [], province
    figures = dict(_jobs_rows(db, "SELECT unit_code, villages_total FROM unit_stats WHERE level = 1"))
    assert figures == {"11": 300, "13": 300}
    children = dict(_jobs_rows(db, "SELECT unit_code, children_total FROM unit_stats WHERE level = 1"))
    assert children == {"11": 1500, "13": 1500}
    progress = _jobs_rows(db, "SELECT unit_code, total, not_started FROM unit_campaign_stats "
                              "WHERE length(unit_code) = 2 ORDER BY 1")
    assert progress == [("11", 300, 300), ("13", 300, 300)]


def test_a_villages_change_is_rolled_up_by_the_drain(citus_country):
    from sync.outbox import drain_outbox
    from sync.rollup import verify
    from tenant_app.children.demo import generate_children

    db, village = citus_country["db"], citus_country["accounts"]["village"]["code"]
    before = dict(_jobs_rows(db, "SELECT unit_code, children_total FROM unit_stats WHERE unit_code IN "
                                 "(:v, :p)", v=village, p=village[:2]))
    with db.engine.begin() as connection:
        generate_children(connection, 7, village, seed=77)
    assert _jobs_rows(db, "SELECT count(*) FROM sync_outbox WHERE region_code = :v", v=village)[0][0] == 1
    with citus_country["app"].app_context(), job_scope(all_tenants=True):
        drained = drain_outbox()
    assert drained["events"] >= 1
    after = dict(_jobs_rows(db, "SELECT unit_code, children_total FROM unit_stats WHERE unit_code IN "
                                "(:v, :p)", v=village, p=village[:2]))
    assert after == {code: n + 7 for code, n in before.items()}
    with citus_country["app"].app_context(), job_scope(all_tenants=True), \
            db.session_scope(commit=False) as session:
        assert verify(session.connection(), village[:6]) == []


def _explained(app, db, token: str, path: str) -> list[tuple[str, list[int]]]:
    """Every statement on a distributed or reference table that answering `path` ran, with the task counts of
    its Citus plan (EXPLAIN with the same parameters, in the caller's scope)."""
    seen: list[tuple[str, dict]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert response.status_code == 200, (path, response.get_data(True)[:300])
    plans = []
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        for statement, parameters in seen:
            plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
            counts = [int(n) for n in re.findall(r"Task Count: (\d+)", plan)]
            if counts:
                plans.append((statement, counts))
    assert plans, f"{path}: no statement reached the cluster"
    return plans


@pytest.mark.parametrize("who, path", [
    ("village", "/api/v1/tasks"),
    ("village", "/api/v1/children"),
    ("county", "/api/v1/children"),
    ("county", "/api/v1/campaigns/{campaign}/progress?unit={county_code}"),
    ("county", "/api/v1/campaigns/{campaign}/overdue"),
    ("province", "/api/v1/campaigns/{campaign}/progress?unit=11"),
    ("province", "/api/v1/stats/11"),
])
def test_a_hot_request_runs_each_statement_on_one_shard(citus_country, who, path):
    accounts = citus_country["accounts"]
    token = {"village": accounts["village"]["citus_village"], "county": accounts["11"]["county"],
             "province": accounts["11"]["province"]}[who]
    path = path.format(campaign=citus_country["campaigns"]["11"], county_code=accounts["11"]["county_code"])
    for statement, counts in _explained(citus_country["app"], citus_country["db"], token, path):
        assert counts == [1] * len(counts), (path, statement[:400], counts)


def test_a_units_requests_see_only_its_subtree_on_the_cluster(citus_country):
    """The API's isolation on the cluster: a county reads its own children and none of the other province's, and
    the other province's unit figures and campaign are not found for it."""
    app, accounts, campaigns = citus_country["app"], citus_country["accounts"], citus_country["campaigns"]
    client = app.test_client()
    county = accounts["11"]["county_code"]
    headers = {"Authorization": f"Bearer {accounts['11']['county']}"}
    listed = client.get("/api/v1/children?per_page=100", headers=headers)
    assert listed.status_code == 200
    codes = {item["village_code"] for item in listed.get_json()["items"]}
    assert codes and all(code.startswith(county) for code in codes), codes
    other = _jobs_rows(citus_country["db"], "SELECT id FROM children WHERE province_code = '13' LIMIT 1")[0][0]
    assert client.get(f"/api/v1/children/{other}", headers=headers).status_code == 404
    assert client.get("/api/v1/stats/13", headers=headers).status_code in (403, 404)
    assert client.get(f"/api/v1/campaigns/{campaigns['13']}/progress", headers=headers).status_code in (403, 404)
    # The province of the other side reads its own figures.
    other_headers = {"Authorization": f"Bearer {accounts['13']['province']}"}
    figures = client.get("/api/v1/stats/13", headers=other_headers).get_json()
    assert (figures["code"], figures["indicators"]["villages_total"]) == ("13", 300)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("length", [2, 4, 6, 9, 12])
def test_the_api_isolation_matrix_on_the_cluster(citus_country, length, role):
    """Each role at each level reads its own subtree's children and figures, and nothing outside it: a child of
    another unit of the same province (or, for the province and its city, of the other province) is not found,
    nor are the figures of a unit outside its subtree."""
    db, client = citus_country["db"], citus_country["app"].test_client()
    code = citus_country["accounts"]["village"]["code"][:length]
    headers = {"Authorization": f"Bearer {citus_country['accounts']['matrix'][f'm{role}{code}']}"}
    listed = client.get("/api/v1/children?per_page=100", headers=headers)
    assert listed.status_code == 200, listed.get_data(True)[:300]
    villages = {item["village_code"] for item in listed.get_json()["items"]}
    assert villages and all(v.startswith(code) for v in villages), (code, villages)
    outside_province = "11" if length > 4 else "13"  # a province of 300 villages has a single city
    outside_child, outside_unit = _jobs_rows(
        db, "SELECT id, region_code FROM children WHERE province_code = :p AND region_code NOT LIKE :c "
            "ORDER BY id LIMIT 1", p=outside_province, c=code + "%")[0]
    assert client.get(f"/api/v1/children/{outside_child}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/stats/{outside_unit[:length]}", headers=headers).status_code == 404
    own = client.get(f"/api/v1/stats/{code}", headers=headers)
    assert own.status_code == 200 and own.get_json()["code"] == code
    inside = _jobs_rows(db, "SELECT id FROM children WHERE region_code LIKE :c ORDER BY id LIMIT 1",
                        c=code + "%")[0][0]
    assert client.get(f"/api/v1/children/{inside}", headers=headers).status_code == 200


def _task_counts_of(db, work) -> list[tuple[str, list[int]]]:
    """Run `work(connection)` as the jobs role with every tenant's scope, in a transaction rolled back at the end,
    and EXPLAIN each statement just before it runs (temporary tables made by earlier ones exist then): the task
    counts of each statement's Citus plan."""
    plans: list[tuple[str, list[int]]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            # Values bound by the client: Citus cannot plan an INSERT … SELECT whose values are left as parameters.
            probe = psycopg.ClientCursor(conn.connection.driver_connection)
            probe.execute("EXPLAIN " + statement, parameters)
            counts = [int(n) for n in re.findall(r"Task Count: (\d+)", "\n".join(r[0] for r in probe.fetchall()))]
            probe.close()
            if counts:
                plans.append((statement, counts))

    with db.engine.connect() as connection, job_scope(all_tenants=True) as scope:
        transaction = connection.begin()
        apply_db_scope(connection, scope)
        event.listen(connection, "before_cursor_execute", explain)
        try:
            work(connection)
        finally:
            event.remove(connection, "before_cursor_execute", explain)
            transaction.rollback()
    assert plans
    return plans


# Every province's by design: the ids of campaigns no longer open and their rows, and the provinces' case limits
# (a row per province, compiled into the deadline expression).
ALL_PROVINCES = ("SELECT id FROM campaigns WHERE status <> 'open'", "DELETE FROM unit_campaign_stats WHERE campaign_id",
                 "SELECT case_policies.")


@pytest.mark.parametrize("what", ["a village's drain", "a province's rebuild", "a county's rebuild"])
def test_the_roll_up_of_one_province_runs_each_statement_on_one_shard(citus_country, what):
    from sync import rollup

    village = citus_country["accounts"]["village"]["code"]
    work = {"a village's drain": lambda c: rollup.recompute(c, [village], unit_codes=[village[:9]]),
            "a province's rebuild": lambda c: rollup.rebuild(c, "11"),
            "a county's rebuild": lambda c: rollup.rebuild(c, village[:6])}[what]
    for statement, counts in _task_counts_of(citus_country["db"], work):
        if not statement.lstrip().startswith(ALL_PROVINCES):
            assert counts == [1] * len(counts), (what, statement[:600], counts)


def test_the_fan_out_of_a_provinces_campaign_runs_on_its_shard(citus_country):
    from tenant_app.campaigns.fanout import fan_out

    db = citus_country["db"]
    from tenant_app import clock

    with db.engine.begin() as connection, job_scope("11") as scope:
        apply_db_scope(connection, scope)
        campaign_id = connection.execute(dataset.CAMPAIGN_INSERT, {
            "p": "11", "province": "11", "title": "第二次排查", "directive": "请按时完成", "kind": "questionnaire",
            "start": clock.today_cst(), "due": clock.today_cst(), "q": "[]", "now": clock.now()}).scalar_one()
    try:
        plans = _task_counts_of(db, lambda c: fan_out(c, campaign_id, "11"))
        for statement, counts in plans:
            assert counts == [1] * len(counts), (statement[:600], counts)
        assert any(s.lstrip().startswith("INSERT INTO tasks") for s, _c in plans)
    finally:
        _jobs_rows(db, "DELETE FROM campaigns WHERE province_code = '11' AND id = :c RETURNING id", c=campaign_id)
