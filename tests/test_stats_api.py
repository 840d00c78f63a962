"""The stats API: figures of a unit and its child units, history, campaign progress; isolation in the API (a
county never reads a sibling's or an ancestor's figures) and in the database alone (RLS)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hierarchy.scope import Scope, apply_db_scope, scoped
from sync import rollup
from sync.indicators import KEYS, identity_problems
from tenant_app import clock
from tests.test_sync_rollup import TODAY, insert_dataset

CHILD = {"village": 0, "left_behind": True, "difficulty": "orphan", "de_facto": False, "sex": "female",
         "age_days": 3000, "guardianship": "unattended", "schooling": "primary", "registered": False, "risk": "high",
         "unattended": True, "exit": None, "exited_days": None, "created_days": 200, "visits": []}


@pytest.fixture
def figures(db_connection):
    """Three children in 武江区 (two in one village), one in 浈江区, an open campaign; then a full rebuild."""
    today = clock.today_cst()
    with scoped(Scope(all_tenants=True)):
        apply_db_scope(db_connection, Scope(all_tenants=True))
        insert_dataset(db_connection, {
            "children": [CHILD, CHILD, {**CHILD, "village": 3, "sex": "male", "unattended": False,
                                        "guardianship": "good", "risk": "low", "created_days": 1},
                         {**CHILD, "village": 5}],
            "users": [(0, "staff", True), (len(("v",) * 7), "staff", True)],
            "tasks": [(0, 0, "approved", 5, 0), (3, 0, "pending", -1, None), (5, 0, "submitted", 2, 0)],
            "policy": None}, [0])
        # The generated deadlines are relative to the property tests' fixed day: move them to today.
        db_connection.execute(text("UPDATE tasks SET due_on = due_on + :shift, submitted_at = submitted_at + "
                                   "make_interval(days => :shift)"), {"shift": (today - TODAY).days})
        rollup.rebuild(db_connection)
    return db_connection


def test_county_reads_its_figures_and_its_townships(figures, make_user, token_for, client):
    user = make_user("440203", "viewer")
    response = client.get("/api/v1/stats/440203", headers=token_for(user.username))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["code"] == "440203" and body["name"] == "武江区" and body["level"] == 3
    assert body["as_of"] is not None
    assert set(body["indicators"]) == set(KEYS)
    ind = body["indicators"]
    assert ind["children_total"] >= 3 and ind["unattended"] >= 2 and ind["high_risk"] >= 2
    assert ind["townships_with_supervisor"] >= 1 and ind["villages_with_director"] >= 1
    assert identity_problems(ind) == []
    codes = [c["code"] for c in body["children"]]
    assert codes == sorted(codes) and "440203001" in codes and all(c.startswith("440203") for c in codes)
    assert all(len(c) == 9 for c in codes)
    # The county's figures are the sum of its townships'.
    for key in KEYS:
        assert ind[key] == sum(c["indicators"][key] for c in body["children"]), key
    campaign = next(c for c in body["campaigns"] if c["title"] == "开放任务")
    assert campaign["total"] >= 2 and campaign["approved"] >= 1 and campaign["overdue"] >= 1
    assert campaign["completion_rate"] == pytest.approx((campaign["submitted"] + campaign["approved"])
                                                        / campaign["total"], abs=1e-4)


def test_village_figures_and_a_change_after_recompute(figures, make_user, token_for, client):
    village = "440203001002"
    headers = token_for(make_user(village, "staff").username)
    first = client.get(f"/api/v1/stats/{village}", headers=headers).get_json()
    assert first["children"] == []
    assert first["indicators"]["villages_total"] == 1 and first["indicators"]["villages_with_director"] == 1
    with scoped(Scope(all_tenants=True)):
        apply_db_scope(figures, Scope(all_tenants=True))
        figures.execute(text("UPDATE children SET unattended = FALSE, guardianship_type = 'fair' "
                             "WHERE region_code = :v"), {"v": village})
        rollup.recompute(figures, [village])
    second = client.get(f"/api/v1/stats/{village}", headers=headers).get_json()
    assert second["indicators"]["unattended"] == first["indicators"]["unattended"] - 2
    assert second["indicators"]["guardianship_fair"] == first["indicators"]["guardianship_fair"] + 2


@pytest.mark.parametrize("code", ["440204", "4402", "44", "440204001", "4403", "99", "abc", "440203999999"])
def test_outside_the_subtree_is_404_ancestors_included(figures, make_user, token_for, client, code):
    headers = token_for(make_user("440203", "staff").username)
    assert client.get(f"/api/v1/stats/{code}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/stats/{code}/history", headers=headers).status_code == 404


def test_province_sees_everything_below_and_needs_a_token(figures, make_user, token_for, client):
    assert client.get("/api/v1/stats/44").status_code == 401
    body = client.get("/api/v1/stats/44", headers=token_for(make_user("44", "viewer").username)).get_json()
    assert [c["code"] for c in body["children"]] == ["4402"]
    assert body["indicators"] == body["children"][0]["indicators"]  # one city in the test tree


def test_history_has_the_current_month(figures, make_user, token_for, client):
    headers = token_for(make_user("440203", "viewer").username)
    body = client.get("/api/v1/stats/440203/history?months=6", headers=headers).get_json()
    month = clock.today_cst().strftime("%Y-%m")
    assert body["code"] == "440203" and body["points"][-1]["month"] == month
    assert body["points"][-1]["indicators"]["children_total"] >= 3
    assert client.get("/api/v1/stats/440203/history?months=0", headers=headers).status_code == 422


def test_rls_alone_keeps_stats_in_the_subtree(figures, scoped_sql):
    tables = ("unit_stats", "unit_stats_monthly", "unit_campaign_stats")
    for table in tables:
        codes = {r.unit_code for r in scoped_sql("440203", f"SELECT unit_code FROM {table}")}
        assert codes and all(c.startswith("440203") for c in codes), table
        assert not codes & {"44", "4402", "440204"}
    assert {r.unit_code for r in scoped_sql("440203001002", "SELECT unit_code FROM unit_stats")} == {"440203001002"}
    assert scoped_sql(None, "SELECT unit_code FROM unit_stats") == []
    # Only the roll-up job (all tenants) writes figures: a unit cannot touch even its own row.
    assert scoped_sql("440203", "UPDATE unit_stats SET unattended = 0 WHERE unit_code = '440203' "
                                "RETURNING unit_code") == []
    assert scoped_sql("440203", "DELETE FROM unit_stats RETURNING unit_code") == []
    with pytest.raises(Exception, match="row-level security"):
        scoped_sql("440203", "INSERT INTO unit_stats_monthly (unit_code, month, level, as_of) "
                             "VALUES ('440203', DATE '2000-01-01', 3, now())")


def test_export_has_a_row_per_unit_under_chinese_headers(figures, make_user, app):
    from io import BytesIO

    from openpyxl import load_workbook

    from tenant_app.db import db
    from tenant_app.stats.services import export_stats_xlsx

    user = make_user("440203001", "viewer")
    with app.test_request_context(), scoped(Scope.unit("440203001")):
        session = db.new_session()
        data = export_stats_xlsx(session, user, "440203001")
        session.close()
    sheet = load_workbook(BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("代码", "名称", "在册儿童", "留守儿童")
    assert rows[1][0] == "440203001" and rows[1][2] >= 2
    assert {r[0] for r in rows[2:] if r and r[0] and r[0].isdigit()} >= {"440203001002"}
