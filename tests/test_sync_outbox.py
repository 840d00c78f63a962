"""The outbox's write side: every change to children, visits, tasks, census checks and staff writes its outbox
rows in the changing transaction (and rolls back with it); bulk writers record theirs; the drain is requested
once per commit that wrote rows."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from hierarchy.scope import Scope, scoped
from sync import outbox
from tenant_app.auth.models import User
from tenant_app.children import services as child_services
from tenant_app.db import db
from tests.tasks_factories import VALID, make_campaign, people  # noqa: F401  (fixtures)
from tests.test_children_api import child_payload, make_id

VILLAGE = "440203001002"
SIBLING = "440203001003"
TOWNSHIP = "440203001"
OTHER_TOWNSHIP_VILLAGE = "440203002001"


@pytest.fixture
def held(app, monkeypatch, scoped_sql):
    """Commits request a drain, but nothing drains: the test reads the outbox. Yields the list of requests."""
    scoped_sql("44", "DELETE FROM sync_outbox RETURNING id")
    calls = []
    monkeypatch.setattr(outbox, "request_drain", lambda *a, **k: calls.append((a, k)))
    return calls


@pytest.fixture
def rows(scoped_sql):
    """rows() -> sorted distinct (region_code, kind) in the outbox (Guangdong's subtree)."""

    def read(unit: str = "44"):
        return sorted({tuple(r) for r in scoped_sql(unit, "SELECT region_code, kind FROM sync_outbox")})

    return read


@pytest.fixture
def director(make_user, token_for):
    user = make_user(VILLAGE, "staff")
    return user, token_for(user.username)


def _create_child(client, headers, **overrides) -> dict:
    response = client.post("/api/v1/children", json=child_payload(**overrides), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_child_create_and_edit_write_outbox_rows_and_request_one_drain_per_commit(client, director, held, rows):
    assert rows() == []
    body = _create_child(client, director[1])
    assert rows() == [(VILLAGE, "children")]
    assert len(held) == 1
    response = client.patch(f"/api/v1/children/{body['id']}", headers=director[1],
                            json={"version": body["version"], "guardian_phone": "13900002222"})
    assert response.status_code == 200, response.get_json()
    assert len(held) == 2
    assert count_rows(VILLAGE) == 2  # one per commit that touched the village
    assert client.get(f"/api/v1/children/{body['id']}", headers=director[1]).status_code == 200
    assert len(held) == 2  # a read (audited) changes no figure: no drain


def test_transfer_writes_both_villages(client, director, held, rows, make_user, token_for):
    body = _create_child(client, director[1])
    receiver = token_for(make_user(OTHER_TOWNSHIP_VILLAGE, "staff").username)
    transfer = client.post(f"/api/v1/children/{body['id']}/transfer", headers=director[1],
                           json={"to_village": OTHER_TOWNSHIP_VILLAGE}).get_json()
    held_before = len(held)
    sending, receiving = count_rows(VILLAGE), count_rows(OTHER_TOWNSHIP_VILLAGE)
    response = client.post(f"/api/v1/transfers/{transfer['id']}/accept", headers=receiver)
    assert response.status_code == 200, response.get_json()
    assert len(held) == held_before + 1
    # Both villages' figures change: the one the child left and the one it joined.
    assert count_rows(VILLAGE) == sending + 1
    assert count_rows(OTHER_TOWNSHIP_VILLAGE) == receiving + 1


def count_rows(code) -> int:
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            return session.execute(text("SELECT count(*) FROM sync_outbox WHERE region_code = :c"),
                                   {"c": code}).scalar()
        finally:
            session.close()


def test_visit_writes_a_visits_row(client, director, held, rows):
    body = _create_child(client, director[1])
    response = client.post(f"/api/v1/children/{body['id']}/visits", headers=director[1],
                           json={"visited_on": "2026-01-05", "met": ["child"], "findings": "家中安全"})
    assert response.status_code == 201, response.get_json()
    assert (VILLAGE, "visits") in rows()


def test_task_status_changes_write_tasks_rows_and_draft_autosaves_do_not(client, make_campaign, people, held, rows):  # noqa: F811
    made = make_campaign()
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.execute(text("DELETE FROM sync_outbox"))
        session.commit()
        session.close()
    task = made.tasks[VILLAGE]
    response = client.put(f"/api/v1/tasks/{task}/draft", json={"answers": {"summary": "进行中"}},
                          headers=people["director"])
    assert response.status_code == 200, response.get_json()
    assert rows() == [(VILLAGE, "tasks")]
    assert count_rows(VILLAGE) == 1  # pending -> draft: the campaign's figures change
    drains = len(held)
    # Autosaves of the draft change its answers only, which no figure counts: no outbox row, no drain.
    for summary in ("进行中2", "进行中3"):
        response = client.put(f"/api/v1/tasks/{task}/draft", json={"answers": {"summary": summary}},
                              headers=people["director"])
        assert response.status_code == 200, response.get_json()
    assert count_rows(VILLAGE) == 1 and len(held) == drains
    response = client.post(f"/api/v1/tasks/{task}/submit", json={"answers": VALID}, headers=people["director"])
    assert response.status_code == 200, response.get_json()
    assert count_rows(VILLAGE) == 2 and len(held) == drains + 1


def test_staff_created_and_disabled_write_staff_rows_but_a_login_does_not(client, make_user, token_for, held,
                                                                          rows):
    admin = make_user(TOWNSHIP, "admin")
    headers = token_for(admin.username)
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.execute(text("DELETE FROM sync_outbox"))
        session.commit()
        session.close()
    response = client.post("/api/v1/users", headers=headers, json={
        "unit_code": VILLAGE, "username": "sync_new_director", "role": "staff", "password": "Passw0rd!x",
        "real_name": "新主任", "phone": "13800000000"})
    assert response.status_code == 201, response.get_json()
    assert rows() == [(VILLAGE, "staff")]
    user_id = response.get_json()["id"]
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        session.execute(text("DELETE FROM sync_outbox"))
        session.commit()
        session.close()
    token_for("sync_new_director", "Passw0rd!x")  # a login touches the user row: no figure changes
    assert rows() == []
    response = client.post(f"/api/v1/users/{user_id}/disable", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert rows() == [(VILLAGE, "staff")]


def test_a_rolled_back_change_leaves_no_outbox_row_and_requests_nothing(app, director, held, rows):
    actor = director[0]
    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        actor = session.get(User, actor.id)
        child_services.create_child(session, actor, child_payload(id_number=make_id(seq="023"),
                                                                   birth_date=date(2016, 3, 1)))
        assert rows() == [(VILLAGE, "children")]  # flushed in the same transaction ...
        session.rollback()
        session.close()
    assert rows() == []  # ... and gone with it
    assert held == []


def test_bulk_import_records_its_village(app, director, held, rows):
    from tenant_app.children import imports

    with scoped(Scope.unit(VILLAGE)):
        session = db.new_session()
        actor = session.get(User, director[0].id)
        values, errors = imports.check_rows(session, actor, [{
            "_row": 2, "村(居)代码": VILLAGE, "姓名": "李小明", "性别": "男", "出生日期": "2016-03-01",
            "身份证号": make_id(seq="033"), "父亲状况": "外出务工", "母亲状况": "外出务工",
            "受托监护人姓名": "李爷爷", "就学状况": "小学", "留守儿童": "是", "家庭收入来源": "务工、务农"}])
        assert errors == [] and len(values) == 1
        assert imports.insert_children(session, actor, [v for _, v in values]) == 1
        assert rows() == [(VILLAGE, "children")]
        session.commit()
        session.close()
    assert len(held) == 1  # a session's bulk write requests the drain after its commit


def test_demo_generate_records_the_villages_it_filled(app, db_connection, held, rows):
    from tenant_app.children.demo import generate_children

    generate_children(db_connection, 30, TOWNSHIP, seed=7)
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        filled = set(session.execute(text(
            "SELECT DISTINCT region_code FROM children WHERE region_code LIKE :p"), {"p": TOWNSHIP + "%"}).scalars())
        session.close()
    recorded = {code for code, kind in rows() if kind == "children"}
    assert filled and filled <= recorded
    assert all(code.startswith(TOWNSHIP) and len(code) == 12 for code in recorded)


def test_record_bulk_takes_a_select_or_a_list(app, db_connection, rows, held, scoped_sql):
    outbox.record_bulk(db_connection, "SELECT code AS region_code FROM units WHERE parent_code = :t",
                       "tasks", {"t": TOWNSHIP})
    villages = {r[0] for r in scoped_sql("44", "SELECT code FROM units WHERE parent_code = :t", t=TOWNSHIP)}
    assert {code for code, kind in rows() if kind == "tasks"} == villages
    outbox.record_bulk(db_connection, [TOWNSHIP, TOWNSHIP, "440203"], "campaign")
    assert {code for code, kind in rows() if kind == "campaign"} == {TOWNSHIP, "440203"}
    assert len([1 for code, kind in rows() if kind == "campaign"]) == 2


def test_targets_split_villages_units_and_subtrees():
    villages, others, subtrees = outbox.targets([
        (VILLAGE, "children"), (VILLAGE, "visits"), (SIBLING, "tasks"), (TOWNSHIP, "staff"),
        ("440203", "campaign"), ("440203001", "campaign"), ("44", "staff")])
    assert villages == sorted([VILLAGE, SIBLING])
    assert others == ["44", TOWNSHIP]
    assert subtrees == ["440203"]  # the township's campaign lies inside the county's


def test_units_with_task_writes_alone_are_campaign_only():
    events = [(VILLAGE, "tasks"), (VILLAGE, "tasks"), (SIBLING, "tasks"), (SIBLING, "children"),
              (TOWNSHIP, "tasks"), ("440203", "staff")]
    assert outbox.campaign_only(events, [VILLAGE, SIBLING, TOWNSHIP, "440203"]) == sorted([VILLAGE, TOWNSHIP])
    assert outbox.campaign_only(events, ["44"]) == []  # no row of its own: not narrowed
