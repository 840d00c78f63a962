"""Visit pages: record a visit with field errors next to the fields, the child's visits, the due list."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from hierarchy.scope import Scope, scoped
from tenant_app.children.validation import today_cst
from tenant_app.db import db
from tenant_app.visits.models import Visit
from tests.test_children_api import child_payload

VILLAGE = "440203001002"


def _visit_count(child_id: int) -> int:
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            return session.scalar(select(func.count()).select_from(Visit).where(Visit.child_id == child_id))
        finally:
            session.close()


def _child(client, token_for, user) -> int:
    response = client.post("/api/v1/children", json=child_payload(), headers=token_for(user.username))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_record_a_visit_with_errors_first(app, make_user, token_for, login):
    director = make_user(VILLAGE, "staff", real_name="王主任")
    child_id = _child(app.test_client(), token_for, director)
    browser = app.test_client()
    login(browser, director.username)

    page = browser.get(f"/children/{child_id}/visits")
    assert page.status_code == 200
    assert "登记走访" in page.get_data(as_text=True)

    future = (today_cst() + timedelta(days=3)).isoformat()
    bad = browser.post(f"/children/{child_id}/visits", data={"visited_on": future, "findings": ""})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="visited_on-errors"' in html and "走访日期不能晚于今天" in html
    assert 'id="findings-errors"' in html
    assert _visit_count(child_id) == 0

    ok = browser.post(f"/children/{child_id}/visits", data={
        "visited_on": today_cst().isoformat(), "findings": "孩子在家，爷爷照看良好", "met": ["child", "guardian"],
        "risk_level": "medium"})
    assert ok.status_code == 302
    assert _visit_count(child_id) == 1
    listed = browser.get(f"/children/{child_id}/visits").get_data(as_text=True)
    assert "孩子在家，爷爷照看良好" in listed
    record = app.test_client().get(f"/api/v1/children/{child_id}", headers=token_for(director.username))
    assert record.get_json()["risk_level"] == "medium"


def test_due_page_lists_never_visited_children_and_hides_siblings(app, make_user, token_for, login):
    director = make_user(VILLAGE, "staff")
    child_id = _child(app.test_client(), token_for, director)
    county = make_user("440203", "staff")
    browser = app.test_client()
    login(browser, county.username)
    html = browser.get("/visits/due?status=all").get_data(as_text=True)
    assert f"/children/{child_id}/visits" in html
    sibling = make_user("440204", "staff")
    other = app.test_client()
    login(other, sibling.username)
    assert f"/children/{child_id}/visits" not in other.get("/visits/due?status=all").get_data(as_text=True)
    assert other.get(f"/children/{child_id}/visits").status_code == 404


def test_viewer_sees_visits_but_no_form(app, make_user, token_for, login):
    director = make_user(VILLAGE, "staff")
    child_id = _child(app.test_client(), token_for, director)
    viewer = make_user(VILLAGE, "viewer")
    browser = app.test_client()
    login(browser, viewer.username)
    page = browser.get(f"/children/{child_id}/visits")
    assert page.status_code == 200
    assert 'id="visit-form"' not in page.get_data(as_text=True)
    assert browser.post(f"/children/{child_id}/visits", data={"findings": "x"}).status_code == 403
