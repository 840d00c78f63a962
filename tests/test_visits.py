"""Visits (走访): record and list, per-field errors that write nothing, the child's risk and assessment
updated through the children service (with history), due / overdue by risk with a controlled "today",
province visit intervals, isolation through the API and through row-level security alone."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from hierarchy.models import Base
from hierarchy.scope import Scope, scoped
from tenant_app import models  # noqa: F401  (every model on the metadata)
from tenant_app.children.models import Child
from tenant_app.children.validation import today_cst
from tenant_app.db import ShouhuSession, db
from tenant_app.errors import NotFound, ValidationFailed
from tenant_app.visits import services
from tenant_app.visits.models import Visit
from tests.test_children_api import child_payload, make_id

VILLAGE = "440203001002"
SIBLING_VILLAGE = "440203001003"
TOWNSHIP = "440203001"
COUNTY = "440203"
CITY = "4402"
PROVINCE = "44"
OTHER_COUNTY = "440204"

T = today_cst()


def ago(days: int) -> str:
    return (T - timedelta(days=days)).isoformat()


@pytest.fixture
def director(make_user, token_for):
    user = make_user(VILLAGE, "staff", real_name="王主任")
    return user, token_for(user.username)


@pytest.fixture
def new_child(client, director):
    """new_child(seq="013", **overrides) -> the created record (JSON), in VILLAGE."""

    def make(seq: str = "013", headers=None, **overrides):
        payload = child_payload(id_number=make_id(seq=seq), **overrides)
        response = client.post("/api/v1/children", json=payload, headers=headers or director[1])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def visit(client, director):
    """visit(child_id, headers=None, **fields) -> response; a valid visit unless overridden."""

    def post(child_id: int, headers=None, **fields):
        body = {"visited_on": ago(1), "met": ["child", "guardian"], "findings": "孩子在家，祖父照料尚可。"}
        body.update(fields)
        return client.post(f"/api/v1/children/{child_id}/visits", json=body, headers=headers or director[1])

    return post


@contextlib.contextmanager
def service_session(unit: str):
    """A session joined to the test's transaction, under `unit`'s scope (both locks live)."""
    with scoped(Scope.unit(unit)):
        session = db.new_session()
        try:
            yield session
        finally:
            session.close()


def count_visits(scoped_sql, unit: str = COUNTY) -> int:
    return scoped_sql(unit, "SELECT count(*) FROM visits")[0][0]


# --- recording and listing ---------------------------------------------------------------------------

def test_record_and_list_visits_newest_first(client, director, new_child, visit, make_user, token_for):
    child = new_child()
    first = visit(child["id"], visited_on=ago(10), findings="第一次走访", follow_up="下月复访")
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["child_id"] == child["id"] and body["village_code"] == VILLAGE
    assert body["visited_on"] == ago(10) and body["met"] == ["child", "guardian"]
    assert body["visitor_user_id"] == director[0].id and body["visitor_name"] == "王主任"
    assert body["follow_up"] == "下月复访" and body["risk_level"] is None
    # A township supervisor visits too (supervisor visit), under their own name.
    supervisor = make_user(TOWNSHIP, "staff")
    second = visit(child["id"], headers=token_for(supervisor.username), visited_on=ago(2), findings="督导走访",
                   met="mother", visitor_name="李督导")
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["met"] == ["mother"] and second.get_json()["visitor_name"] == "李督导"
    county = make_user(COUNTY, "staff")
    assert visit(child["id"], headers=token_for(county.username)).status_code == 201

    listed = client.get(f"/api/v1/children/{child['id']}/visits", headers=director[1]).get_json()
    assert listed["total"] == 3
    assert [v["visited_on"] for v in listed["items"]] == [ago(1), ago(2), ago(10)]
    # Viewers and admins read, never record; staff above the county do not record either.
    for unit, role in ((COUNTY, "viewer"), (VILLAGE, "admin"), (TOWNSHIP, "viewer")):
        headers = token_for(make_user(unit, role).username)
        assert client.get(f"/api/v1/children/{child['id']}/visits", headers=headers).get_json()["total"] == 3
        assert visit(child["id"], headers=headers).status_code == 403
    for unit in (CITY, PROVINCE):
        assert visit(child["id"], headers=token_for(make_user(unit, "staff").username)).status_code == 403
    assert client.get(f"/api/v1/children/{child['id']}/visits").status_code == 401


def test_field_errors_are_per_field_and_write_nothing(client, director, new_child, visit, scoped_sql):
    child = new_child()
    before = count_visits(scoped_sql)
    future = visit(child["id"], visited_on=(T + timedelta(days=1)).isoformat(), findings="  ", risk_level="high")
    assert future.status_code == 422
    assert future.mimetype == "application/problem+json"
    errors = future.get_json()["errors"]
    assert set(errors) == {"visited_on", "findings"}
    before_birth = visit(child["id"], visited_on="2016-02-28", risk_level="high",
                         guardianship_assessment="poor")
    assert before_birth.status_code == 422 and set(before_birth.get_json()["errors"]) == {"visited_on"}
    missing = client.post(f"/api/v1/children/{child['id']}/visits", json={"findings": "x"}, headers=director[1])
    assert missing.status_code == 422 and "visited_on" in missing.get_json()["errors"]
    bad_enum = visit(child["id"], met=["neighbour"], risk_level="extreme")
    # a list's bad item is reported under the list's field, where the form shows it
    assert bad_enum.status_code == 422 and {"met", "risk_level"} <= set(bad_enum.get_json()["errors"])
    assert count_visits(scoped_sql) == before
    # The child was not touched either (the risk level above was never applied).
    record = client.get(f"/api/v1/children/{child['id']}", headers=director[1]).get_json()
    assert record["version"] == 1 and record["risk_level"] == "low"
    assert record["guardianship_assessment"] is None


def test_service_validates_every_field_itself(app, director, new_child, scoped_sql):
    child = new_child()
    with service_session(VILLAGE) as session:
        with pytest.raises(ValidationFailed) as caught:
            services.record_visit(session, director[0], child["id"], {
                "visited_on": T - timedelta(days=1), "findings": "", "met": ["child", "stranger"],
                "risk_level": "severe", "guardianship_assessment": "bad"}, today=T)
        assert set(caught.value.errors) == {"findings", "met", "risk_level", "guardianship_assessment"}
        with pytest.raises(ValidationFailed) as caught:
            services.record_visit(session, director[0], child["id"],
                                  {"visited_on": T, "findings": "ok"}, today=T - timedelta(days=1))
        assert set(caught.value.errors) == {"visited_on"}
        with pytest.raises(ValidationFailed) as caught:
            services.record_visit(session, director[0], child["id"], {"findings": "ok"}, today=T)
        assert set(caught.value.errors) == {"visited_on"}
    assert count_visits(scoped_sql) == 0


def test_risk_and_assessment_land_in_the_child_record_and_its_history(client, director, new_child, visit):
    child = new_child()
    response = visit(child["id"], risk_level="high", guardianship_assessment="poor",
                     findings="祖父住院，孩子独自在家两天。", follow_up="联系父母返乡")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["risk_level"] == "high"
    record = client.get(f"/api/v1/children/{child['id']}", headers=director[1]).get_json()
    assert record["risk_level"] == "high" and record["guardianship_assessment"] == "poor"
    assert record["version"] == 2 and record["updated_by_id"] == director[0].id
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=director[1]).get_json()
    assert [h["version"] for h in history] == [1, 2]
    assert history[-1]["action"] == "update"
    assert history[-1]["changes"] == {"risk_level": ["low", "high"], "guardianship_assessment": [None, "poor"]}
    # The same assessment again changes nothing in the record.
    assert visit(child["id"], risk_level="high", guardianship_assessment="poor").status_code == 201
    again = client.get(f"/api/v1/children/{child['id']}", headers=director[1]).get_json()
    assert again["version"] == 2
    # Only the assessment this time.
    assert visit(child["id"], guardianship_assessment="fair").status_code == 201
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=director[1]).get_json()
    assert history[-1]["changes"] == {"guardianship_assessment": ["poor", "fair"]}


def test_child_record_failing_its_own_rules_blocks_the_visit(client, director, new_child, visit, scoped_sql,
                                                             monkeypatch):
    """When the stored record no longer validates, the child's errors come back prefixed and nothing is
    written, neither the record nor the visit."""
    from tenant_app.children import services as child_services

    child = new_child()
    monkeypatch.setattr(child_services, "validate_child", lambda data, ref=None: {"schooling": ["过期 / stale"]})
    response = visit(child["id"], risk_level="medium")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"child.schooling": ["过期 / stale"]}
    assert count_visits(scoped_sql) == 0
    assert scoped_sql(VILLAGE, "SELECT version, risk_level FROM children WHERE id = :id", id=child["id"]) == [
        (1, "low")]
    # Without a change to the record the visit itself is fine.
    assert visit(child["id"]).status_code == 201


def test_unattended_child_stays_high_risk(client, director, new_child, visit, scoped_sql):
    child = new_child(guardian_name="", guardian_relationship="", guardian_phone="")
    assert child["unattended"] is True and child["risk_level"] == "high"
    response = visit(child["id"], risk_level="low")
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"risk_level"}
    assert count_visits(scoped_sql) == 0
    assert visit(child["id"], risk_level="high").status_code == 201


def test_exited_child_gets_no_new_visits(client, director, new_child, visit):
    child = new_child()
    exited = client.patch(f"/api/v1/children/{child['id']}", headers=director[1],
                          json={"version": 1, "status": "exited", "exit_reason": "moved_away"})
    assert exited.status_code == 200, exited.get_json()
    assert visit(child["id"]).status_code == 409


# --- due and overdue ---------------------------------------------------------------------------------

def _record(session, actor, child_id, days_ago, **fields):
    data = {"visited_on": T - timedelta(days=days_ago), "findings": "走访", **fields}
    return services.record_visit(session, actor, child_id, data, today=T)


def test_due_list_with_a_controlled_today(app, director, new_child):
    high = new_child("011", name="甲", risk_level="high")          # visited 10 days ago -> due T+20
    medium = new_child("013", name="乙", risk_level="medium")      # never visited -> due T+90
    low = new_child("015", name="丙", risk_level="low")            # visited 5 days ago -> due T+175
    tie_high = new_child("017", name="丁", risk_level="high")      # never visited -> due T+30
    tie_medium = new_child("019", name="戊", risk_level="medium")  # visited 60 days ago -> due T+30
    gone = new_child("021", name="己", risk_level="high")
    with service_session(VILLAGE) as session:
        actor = director[0]
        _record(session, actor, high["id"], 20)
        _record(session, actor, high["id"], 10)  # the latest visit counts
        _record(session, actor, low["id"], 5)
        _record(session, actor, tie_medium["id"], 60)
        services.record_visit(session, actor, gone["id"], {"visited_on": T, "findings": "x"}, today=T)
        record = session.get(Child, gone["id"])
        record.status, record.exit_reason, record.exited_at = "exited", "moved_away", T
        session.flush()

        def due(today, status="all", unit=None, **kw):
            items, total = services.due_visits(session, actor, unit=unit, status=status, today=today, **kw)
            return items, total

        items, total = due(T + timedelta(days=40))
        assert total == 5  # the exited child is not due
        assert [i["name"] for i in items] == ["甲", "丁", "戊", "乙", "丙"]
        assert [i["child_id"] for i in items] == [c["id"] for c in (high, tie_high, tie_medium, medium, low)]
        first = items[0]
        assert first["child_id"] == high["id"] and first["village_code"] == VILLAGE
        assert first["risk_level"] == "high" and first["last_visit_on"] == T - timedelta(days=10)
        assert first["due_on"] == T + timedelta(days=20) and first["days_overdue"] == 20
        assert first["status"] == "overdue"
        assert items[1]["last_visit_on"] is None and items[1]["due_on"] == T + timedelta(days=30)
        assert items[1]["days_overdue"] == 10 and items[2]["days_overdue"] == 10  # tie: high risk first
        assert items[3]["due_on"] == T + timedelta(days=90) and items[3]["days_overdue"] == -50
        assert items[4]["due_on"] == T + timedelta(days=175)

        overdue, total = due(T + timedelta(days=40), "overdue")
        assert [i["name"] for i in overdue] == ["甲", "丁", "戊"] and total == 3
        # The due day itself is not overdue yet; it is due soon.
        assert due(T + timedelta(days=20), "overdue")[1] == 0
        soon, _ = due(T + timedelta(days=20), "due_soon")
        assert [i["name"] for i in soon] == ["甲"] and soon[0]["days_overdue"] == 0
        soon, _ = due(T + timedelta(days=85), "due_soon")
        assert [(i["name"], i["days_overdue"], i["status"]) for i in soon] == [("乙", -5, "due_soon")]
        assert due(T + timedelta(days=82), "due_soon")[1] == 0  # 8 days ahead is not "soon"
        # Pages keep the order.
        page2, total = due(T + timedelta(days=40), page=2, per_page=2)
        assert total == 5 and [i["name"] for i in page2] == ["戊", "乙"]
        # Nothing outside the caller's subtree.
        for unit in (SIBLING_VILLAGE, OTHER_COUNTY, TOWNSHIP, "4402x"):
            with pytest.raises(NotFound):
                due(T, unit=unit)


def test_due_api_and_province_interval(client, director, new_child, visit, make_user, token_for):
    child = new_child(name="高风险", risk_level="high")
    assert visit(child["id"], visited_on=ago(20)).status_code == 201
    county_viewer = token_for(make_user(COUNTY, "viewer").username)

    def due(headers, **params):
        response = client.get("/api/v1/visits/due", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    listed = due(county_viewer, unit=VILLAGE, status="all")
    assert listed["total"] == 1 and listed["page"] == 1
    item = listed["items"][0]
    assert item == {"child_id": child["id"], "name": "高风险", "village_code": VILLAGE, "risk_level": "high",
                    "last_visit_on": ago(20), "due_on": (T + timedelta(days=10)).isoformat(),
                    "days_overdue": -10, "status": "ok"}
    assert due(county_viewer, status="overdue")["total"] == 0

    policy = client.get("/api/v1/visit-policy", headers=director[1]).get_json()
    assert policy["province_code"] == PROVINCE and policy["is_default"] is True
    assert (policy["high_days"], policy["medium_days"], policy["low_days"]) == (30, 90, 180)

    province_staff = token_for(make_user(PROVINCE, "staff").username)
    for headers in (county_viewer, director[1], token_for(make_user(COUNTY, "staff").username),
                    token_for(make_user(PROVINCE, "admin").username)):
        forbidden = client.put("/api/v1/visit-policy", json={"high_days": 1, "medium_days": 2, "low_days": 3},
                               headers=headers)
        assert forbidden.status_code == 403
    for body, fields in (({"high_days": 100, "medium_days": 60, "low_days": 120}, {"high_days"}),
                         ({"high_days": 10, "medium_days": 60, "low_days": 0}, {"low_days"}),
                         ({"high_days": "10", "medium_days": 60}, {"high_days", "low_days"})):
        bad = client.put("/api/v1/visit-policy", json=body, headers=province_staff)
        assert bad.status_code == 422 and set(bad.get_json()["errors"]) == fields, bad.get_json()
    changed = client.put("/api/v1/visit-policy", json={**policy, "high_days": 10, "medium_days": 60,
                                                       "low_days": 120}, headers=province_staff)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["is_default"] is False
    seen = client.get("/api/v1/visit-policy", headers=director[1]).get_json()
    assert (seen["high_days"], seen["medium_days"], seen["low_days"]) == (10, 60, 120)

    overdue = due(county_viewer, status="overdue")
    assert overdue["total"] == 1
    assert overdue["items"][0]["days_overdue"] == 10 and overdue["items"][0]["due_on"] == ago(10)
    # Another province keeps the defaults.
    other = token_for(make_user("34", "staff").username)
    assert client.get("/api/v1/visit-policy", headers=other).get_json()["high_days"] == 30
    assert client.get("/api/v1/visits/due?status=bogus", headers=county_viewer).status_code == 422


# --- isolation ---------------------------------------------------------------------------------------

def test_sibling_village_sees_no_visits_through_the_api(client, director, new_child, visit, make_user,
                                                       token_for):
    child = new_child()
    assert visit(child["id"]).status_code == 201
    sibling = token_for(make_user(SIBLING_VILLAGE, "staff").username)
    other_county = token_for(make_user(OTHER_COUNTY, "staff").username)
    for headers in (sibling, other_county):
        assert client.get(f"/api/v1/children/{child['id']}/visits", headers=headers).status_code == 404
        assert visit(child["id"], headers=headers).status_code == 404
        assert client.get("/api/v1/visits/due", headers=headers).get_json()["total"] == 0
        assert client.get(f"/api/v1/visits/due?unit={VILLAGE}", headers=headers).status_code == 404
    township = token_for(make_user(TOWNSHIP, "viewer").username)
    assert client.get("/api/v1/visits/due", headers=township).get_json()["total"] == 1


def test_rls_alone_isolates_visits_and_policies(client, director, new_child, visit, scoped_sql, make_user,
                                                token_for):
    child = new_child()
    assert visit(child["id"]).status_code == 201
    assert visit(child["id"], visited_on=ago(3)).status_code == 201
    assert count_visits(scoped_sql, VILLAGE) == 2
    assert count_visits(scoped_sql, TOWNSHIP) == 2
    assert count_visits(scoped_sql, PROVINCE) == 2
    assert count_visits(scoped_sql, SIBLING_VILLAGE) == 0
    assert count_visits(scoped_sql, OTHER_COUNTY) == 0
    assert count_visits(scoped_sql, "34") == 0
    assert scoped_sql(None, "SELECT count(*) FROM visits")[0][0] == 0
    insert = ("INSERT INTO visits (region_code, child_id, visited_on, visitor_name, met, findings, follow_up, "
              "created_at) VALUES (:code, :child, CURRENT_DATE, '', '[]', 'x', '', now())")
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(SIBLING_VILLAGE, insert, code=VILLAGE, child=child["id"])
    assert scoped_sql(SIBLING_VILLAGE, "UPDATE visits SET findings = 'changed' RETURNING id") == []

    province_staff = token_for(make_user(PROVINCE, "staff").username)
    assert client.put("/api/v1/visit-policy", json={"high_days": 7, "medium_days": 30, "low_days": 90},
                      headers=province_staff).status_code == 200
    for unit in (PROVINCE, COUNTY, VILLAGE):  # the province's row is an ancestor of every unit in it
        assert scoped_sql(unit, "SELECT province_code, high_days FROM visit_policies") == [(PROVINCE, 7)]
    assert scoped_sql("34", "SELECT count(*) FROM visit_policies")[0][0] == 0
    assert scoped_sql(None, "SELECT count(*) FROM visit_policies")[0][0] == 0
    # Units below the province read the row but cannot change it.
    assert scoped_sql(COUNTY, "UPDATE visit_policies SET high_days = 1 RETURNING province_code") == []
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(COUNTY, "INSERT INTO visit_policies (province_code, high_days, medium_days, low_days, "
                           "updated_at) VALUES ('34', 1, 2, 3, now())")


def test_visits_follow_the_child_on_a_transfer(client, director, new_child, visit, make_user, token_for,
                                               scoped_sql):
    child = new_child(risk_level="high")
    assert visit(child["id"], visited_on=ago(40)).status_code == 201
    assert visit(child["id"], visited_on=ago(35)).status_code == 201
    receiver = token_for(make_user(SIBLING_VILLAGE, "staff").username)
    transfer = client.post(f"/api/v1/children/{child['id']}/transfer", json={"to_village": SIBLING_VILLAGE},
                           headers=director[1])
    assert transfer.status_code == 201, transfer.get_json()
    accepted = client.post(f"/api/v1/transfers/{transfer.get_json()['id']}/accept", headers=receiver)
    assert accepted.status_code == 200, accepted.get_json()
    listed = client.get(f"/api/v1/children/{child['id']}/visits", headers=receiver).get_json()
    assert listed["total"] == 2 and {v["village_code"] for v in listed["items"]} == {SIBLING_VILLAGE}
    assert count_visits(scoped_sql, VILLAGE) == 0 and count_visits(scoped_sql, SIBLING_VILLAGE) == 2
    due = client.get("/api/v1/visits/due?status=overdue", headers=receiver).get_json()
    assert [(i["child_id"], i["last_visit_on"], i["days_overdue"]) for i in due["items"]] == [
        (child["id"], ago(35), 5)]


# --- the same SQL on SQLite ----------------------------------------------------------------------------

def test_due_query_runs_on_sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/due.sqlite3")
    Base.metadata.create_all(engine)
    today = date(2026, 6, 30)
    created = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)  # 2026-04-01 01:30 in China

    def child(code, name, risk):
        return Child(region_code=code, province_code=code[:2], name=name, sex="male", birth_date=date(2016, 3, 1),
                     risk_level=risk, created_at=created, updated_at=created)

    with scoped(Scope(all_tenants=True)):
        session = ShouhuSession(bind=engine)
        a, b, c = child(VILLAGE, "甲", "high"), child(VILLAGE, "乙", "medium"), child(SIBLING_VILLAGE, "丙", "high")
        session.add_all([a, b, c])
        session.flush()
        session.add_all([Visit(region_code=VILLAGE, child_id=a.id, visited_on=date(2026, 5, 1), findings="x"),
                         Visit(region_code=VILLAGE, child_id=a.id, visited_on=date(2026, 5, 20), findings="x")])
        session.commit()
    with scoped(Scope.unit(VILLAGE)):  # the application lock alone: the sibling's child stays out
        query, order = services.due_query(COUNTY, services.DEFAULT_INTERVALS, today, "all")
        rows = session.execute(query.order_by(*order)).all()
        assert [(r.name, r.last_visit_on, r.due_on, r.days_overdue) for r in rows] == [
            ("甲", date(2026, 5, 20), date(2026, 6, 19), 11),
            ("乙", None, date(2026, 6, 30), 0),
        ]
        query, order = services.due_query(VILLAGE, {"high": 30, "medium": 90, "low": 180}, today, "overdue")
        assert [r.name for r in session.execute(query.order_by(*order))] == ["甲"]
    session.close()
    engine.dispose()
