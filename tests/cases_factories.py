"""Factories for case tests: people of every unit around one village (with API tokens), child records, and
reports filed through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenant_app import clock
from tenant_app.auth.services import issue_token
from tenant_app.db import db
from tests.test_children_api import child_payload, make_id

PROVINCE, CITY, COUNTY, TOWNSHIP = "44", "4402", "440203", "440203001"
VILLAGE, SIBLING_VILLAGE = "440203001002", "440203001003"
OTHER_COUNTY, OTHER_COUNTY_VILLAGE = "440204", "440204001001"
CASE_TABLES = ("reports", "cases", "case_children", "case_actions", "case_reads")


@pytest.fixture
def person(app, make_user):
    """person(unit, role="staff") -> (user, headers); one user per (unit, role), tokens issued directly (no
    password hash per test)."""
    made: dict = {}

    def get(unit: str, role: str = "staff"):
        if (unit, role) not in made:
            user = make_user(unit, role)
            with app.app_context():
                session = db.new_session()
                try:
                    token, _ = issue_token(session, user)
                    session.commit()
                finally:
                    session.close()
            made[(unit, role)] = (user, {"Authorization": f"Bearer {token}"})
        return made[(unit, role)]

    return get


def headers_of(person, unit: str, role: str = "staff") -> dict:
    return person(unit, role)[1]


@pytest.fixture
def new_child(client, person):
    """new_child(seq="013", village=VILLAGE, **overrides) -> the record (JSON), created by the village's staff."""

    def make(seq: str = "013", village: str = VILLAGE, **overrides):
        payload = child_payload(id_number=make_id(seq=seq), **overrides)
        response = client.post("/api/v1/children", json=payload, headers=person(village)[1])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def problem(response, status: int, *fields) -> dict:
    """The problem+json body of a refusal with `status`; with `fields`, exactly those fields have errors."""
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    if fields:
        assert set(body.get("errors", {})) == set(fields), body
    return body


def report_body(**overrides) -> dict:
    body = {"category": "living_alone", "urgency": "normal", "village_code": VILLAGE,
            "occurred_at": (clock.now() - timedelta(hours=2)).isoformat(),
            "narrative": "邻居反映孩子独自在家已三天，父母在外务工联系不上。",
            "unknown_child_description": "约8岁男孩，住村东头", "reporter_kind": "school",
            "reporter_name": "张老师", "reporter_contact": "13900001234"}
    body.update(overrides)
    return body


@pytest.fixture
def file_report(client, person):
    """file_report(unit=COUNTY, **fields) -> the created case (JSON); fails the test unless 201."""

    def make(unit: str = COUNTY, **fields):
        response = client.post("/api/v1/reports", json=report_body(**fields), headers=person(unit)[1])
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def post_case(client, person):
    """post_case(case_id, step, body, unit=COUNTY, role="staff") -> response (step: accept, advance, ...)."""

    def post(case_id: int, step: str, body: dict, unit: str = COUNTY, role: str = "staff"):
        return client.post(f"/api/v1/cases/{case_id}/{step}", json=body, headers=person(unit, role)[1])

    return post


@pytest.fixture
def get_case(client, person):
    def get(case_id: int, unit: str = COUNTY, role: str = "staff"):
        response = client.get(f"/api/v1/cases/{case_id}", headers=person(unit, role)[1])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return get


@pytest.fixture
def case_state(scoped_sql):
    """case_state(case_id) -> what a refused request must leave unchanged: the case row, its timeline length,
    and the counts of every case table (read under the database lock as the county)."""

    def state(case_id: int | None = None):
        counts = tuple(scoped_sql(COUNTY, f"SELECT count(*) FROM {table}")[0][0] for table in CASE_TABLES)
        row = None
        if case_id is not None:
            row = tuple(scoped_sql(COUNTY, "SELECT stage, version, risk_level, accepted_at, first_measure_at, "
                                           "assessed_at, help_plan_at, closed_at, screen_out_reason, outcome "
                                           "FROM cases WHERE id = :id", id=case_id)[0])
        children = tuple(scoped_sql(COUNTY, "SELECT id, version FROM children ORDER BY id"))
        return counts, row, children

    return state
