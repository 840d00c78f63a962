"""Training: courses and attendance through the API, with field errors and nothing written, the organiser's
subtree rule, version checks, isolation (a sibling county sees no course and no attendance, through the API and
under row-level security alone) and partner refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenant_app import clock
from tests import cases_factories, roster_factories
from tests.cases_factories import CITY, COUNTY, OTHER_COUNTY, OTHER_COUNTY_VILLAGE, PROVINCE, TOWNSHIP, VILLAGE

person = cases_factories.person
roster = roster_factories.roster

TODAY = clock.today_cst()
TABLES = ("training_courses", "training_attendance")


def course_body(**overrides) -> dict:
    body = {"title": "儿童主任业务培训", "topic": "mandatory_reporting",
            "starts_on": (TODAY - timedelta(days=2)).isoformat(), "ends_on": TODAY.isoformat(), "hours": 8}
    body.update(overrides)
    return body


def _count(scoped_sql, table: str, unit: str = PROVINCE) -> int:
    return scoped_sql(unit, f"SELECT count(*) FROM {table}")[0][0]


@pytest.fixture
def course(client, person):
    """course(unit=COUNTY, **fields) -> the course JSON, organised by `unit`'s staff."""

    def make(unit: str = COUNTY, **overrides):
        response = client.post("/api/v1/trainings", headers=person(unit)[1], json=course_body(**overrides))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


def test_an_invalid_course_is_refused_field_by_field_and_nothing_is_written(client, person, scoped_sql):
    headers = person(COUNTY)[1]
    response = client.post("/api/v1/trainings", headers=headers,
                           json=course_body(title=" ", topic="cooking", hours=0))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) == {"title", "topic", "hours"}
    response = client.post("/api/v1/trainings", headers=headers,
                           json=course_body(ends_on=(TODAY - timedelta(days=5)).isoformat(), level="province"))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"ends_on", "level"}
    response = client.post("/api/v1/trainings", headers=headers, json=course_body(unit_code=VILLAGE))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"unit_code"}
    assert client.post("/api/v1/trainings", headers=headers,
                       json=course_body(unit_code=OTHER_COUNTY)).status_code == 404
    # Villages and viewers read only.
    assert client.post("/api/v1/trainings", headers=person(VILLAGE)[1], json=course_body()).status_code == 403
    assert client.post("/api/v1/trainings", headers=person(COUNTY, "viewer")[1],
                       json=course_body()).status_code == 403
    assert all(_count(scoped_sql, t) == 0 for t in TABLES)


def test_attendance_within_the_organisers_subtree_with_field_errors(client, person, roster, course, scoped_sql):
    director, _ = roster(VILLAGE)
    outsider, _ = roster(OTHER_COUNTY_VILLAGE)
    made = course(TOWNSHIP, hours=6)
    assert made["level"] == "township" and made["unit_code"] == TOWNSHIP
    headers = person(TOWNSHIP)[1]
    url = f"/api/v1/trainings/{made['id']}/attendance"
    # A person outside the organiser's subtree, a credit without attendance, hours out of range: field errors.
    response = client.post(url, headers=headers, json={"person_id": outsider["id"]})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"person_id"}
    response = client.post(url, headers=headers, json={"person_id": director["id"], "attended": False,
                                                       "hours_credited": 3, "passed": True})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"hours_credited", "passed"}
    response = client.post(url, headers=headers, json={"person_id": director["id"], "hours_credited": 1001})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"hours_credited"}
    assert _count(scoped_sql, "training_attendance") == 0
    # Attended: the course's hours by default.
    response = client.post(url, headers=headers, json={"person_id": director["id"], "passed": True,
                                                       "certificate_no": "XH-2026-001"})
    assert response.status_code == 201, response.get_json()
    row = response.get_json()
    assert (row["hours_credited"], row["unit_code"], row["person_name"]) == (6, VILLAGE, "张主任")
    again = client.post(url, headers=headers, json={"person_id": director["id"]})
    assert again.status_code == 422 and set(again.get_json()["errors"]) == {"person_id"}
    # A stale version is a conflict and changes nothing.
    patch_url = f"{url}/{row['id']}"
    assert client.patch(patch_url, headers=headers, json={"version": row["version"], "hours_credited": 4}
                        ).status_code == 200
    stale = client.patch(patch_url, headers=headers, json={"version": row["version"], "hours_credited": 2})
    assert stale.status_code == 409
    assert client.get(patch_url, headers=headers).get_json()["hours_credited"] == 4
    # The units above the person see the attendance row, the course organiser's too.
    for unit in (COUNTY, CITY, PROVINCE, VILLAGE):
        assert _count(scoped_sql, "training_attendance", unit) == 1, unit
    # The certificate is listed for the units above the person (the course title carried on the row).
    certificates = client.get("/api/v1/trainings/certificates", headers=person(COUNTY)[1]).get_json()
    assert [(c["certificate_no"], c["course_title"]) for c in certificates["items"]] == [
        ("XH-2026-001", "儿童主任业务培训")]
    assert client.get("/api/v1/trainings/certificates", headers=person(OTHER_COUNTY)[1]).get_json()["total"] == 0
    # The figures: one director in post, trained this year, 4 hours.
    figures = client.get("/api/v1/trainings/figures", headers=person(COUNTY)[1]).get_json()
    assert figures["director"]["in_post"] == 1 and figures["director"]["trained"] == 1
    assert figures["director"]["share_trained"] == 1.0 and figures["total"]["hours_per_person"] == 4.0


def test_a_course_date_moved_reaches_its_attendance(client, person, roster, course):
    director, _ = roster(VILLAGE)
    made = course(COUNTY)
    headers = person(COUNTY)[1]
    url = f"/api/v1/trainings/{made['id']}/attendance"
    assert client.post(url, headers=headers, json={"person_id": director["id"]}).status_code == 201
    last_year = TODAY.replace(year=TODAY.year - 1)
    response = client.patch(f"/api/v1/trainings/{made['id']}", headers=headers, json={
        "version": made["version"], "starts_on": last_year.isoformat(), "ends_on": last_year.isoformat()})
    assert response.status_code == 200, response.get_json()
    assert client.patch(f"/api/v1/trainings/{made['id']}", headers=headers,
                        json={"version": made["version"], "hours": 3}).status_code == 409
    assert client.get(url, headers=headers).get_json()["items"][0]["course_ends_on"] == last_year.isoformat()
    figures = client.get("/api/v1/trainings/figures", headers=headers).get_json()
    assert figures["director"] == {"in_post": 1, "trained": 0, "share_trained": 0.0, "hours": 0,
                                   "hours_per_person": 0.0}


@pytest.mark.parametrize("unit", [OTHER_COUNTY, OTHER_COUNTY_VILLAGE, "34"])
def test_a_sibling_sees_no_course_and_no_attendance(client, person, roster, course, unit):
    director, _ = roster(VILLAGE)
    made = course(COUNTY)
    headers = person(COUNTY)[1]
    row = client.post(f"/api/v1/trainings/{made['id']}/attendance", headers=headers,
                      json={"person_id": director["id"]}).get_json()
    other = person(unit)[1]
    listed = client.get("/api/v1/trainings", headers=other).get_json()
    assert listed["total"] == 0 and listed["items"] == []
    for url in (f"/api/v1/trainings/{made['id']}", f"/api/v1/trainings/{made['id']}/attendance",
                f"/api/v1/trainings/{made['id']}/attendance/{row['id']}"):
        response = client.get(url, headers=other)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url
    assert client.patch(f"/api/v1/trainings/{made['id']}", headers=other,
                        json={"version": 1, "hours": 1}).status_code in (403, 404)
    assert client.post(f"/api/v1/trainings/{made['id']}/attendance", headers=other,
                       json={"person_id": director["id"]}).status_code in (403, 404)
    assert client.get(f"/api/v1/trainings/figures?unit={COUNTY}", headers=other).status_code == 404


@pytest.mark.parametrize("table", TABLES)
def test_a_sibling_sees_nothing_under_row_level_security_alone(client, person, roster, course, scoped_sql, table):
    director, _ = roster(VILLAGE)
    made = course(COUNTY)
    assert client.post(f"/api/v1/trainings/{made['id']}/attendance", headers=person(COUNTY)[1],
                       json={"person_id": director["id"]}).status_code == 201
    seen = ("440203", "4402", "44") if table == "training_courses" else (VILLAGE, TOWNSHIP, COUNTY, CITY, PROVINCE)
    for unit in seen:
        assert _count(scoped_sql, table, unit) == 1, (unit, table)
    for unit in (OTHER_COUNTY, OTHER_COUNTY_VILLAGE, "440203001003", "440203002", "34", "3406"):
        assert _count(scoped_sql, table, unit) == 0, (unit, table)
    assert scoped_sql(None, f"SELECT count(*) FROM {table}")[0][0] == 0


def test_row_level_security_refuses_training_writes_outside_the_scope(scoped_sql, course):
    from sqlalchemy.exc import DBAPIError

    made = course(COUNTY)
    with pytest.raises(DBAPIError):
        scoped_sql(OTHER_COUNTY, "INSERT INTO training_courses (region_code, title, level, topic, starts_on, "
                                 "ends_on, hours, note, version, created_at, updated_at) VALUES ('440203', 't', "
                                 "'county', 'other', current_date, current_date, 1, '', 1, now(), now())")
    assert scoped_sql(OTHER_COUNTY, "UPDATE training_courses SET hours = 2 WHERE id = :id RETURNING id",
                      id=made["id"]) == []


def test_partners_are_refused(client, person):
    partner = person(TOWNSHIP, "reporter")[1]
    for url in ("/api/v1/trainings", "/api/v1/trainings/figures", "/api/v1/trainings/1",
                "/api/v1/trainings/1/attendance"):
        assert client.get(url, headers=partner).status_code == 403, url
    assert client.post("/api/v1/trainings", headers=partner, json=course_body()).status_code == 403


def test_a_course_run_above_counts_below_without_being_read_there(client, person, roster, course):
    director, _ = roster(VILLAGE)
    made = course(PROVINCE, title="全省儿童主任示范培训", hours=16)
    assert made["level"] == "province"
    response = client.post(f"/api/v1/trainings/{made['id']}/attendance", headers=person(PROVINCE)[1],
                           json={"person_id": director["id"], "passed": True, "certificate_no": "GD-0001"})
    assert response.status_code == 201, response.get_json()
    county = person(COUNTY)[1]
    assert client.get("/api/v1/trainings", headers=county).get_json()["total"] == 0
    assert client.get(f"/api/v1/trainings/{made['id']}", headers=county).status_code == 404
    figures = client.get("/api/v1/trainings/figures", headers=county).get_json()
    assert (figures["director"]["trained"], figures["director"]["hours"]) == (1, 16)
    certificates = client.get("/api/v1/trainings/certificates", headers=county).get_json()["items"]
    assert [(c["certificate_no"], c["course_title"]) for c in certificates] == [("GD-0001", "全省儿童主任示范培训")]


def test_roster_and_training_writes_note_their_units_for_the_roll_up(client, person, roster, course, scoped_sql):
    from sync.outbox import drains_held

    with drains_held():
        director, _ = roster(VILLAGE)
        made = course(COUNTY)
        assert client.post(f"/api/v1/trainings/{made['id']}/attendance", headers=person(COUNTY)[1],
                           json={"person_id": director["id"]}).status_code == 201
    rows = set(scoped_sql(PROVINCE, "SELECT region_code, kind FROM sync_outbox"))
    assert {(VILLAGE, "roster"), (VILLAGE, "training")} <= rows
