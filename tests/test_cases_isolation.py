"""Who sees a case: a sibling county or village sees nothing (through the API and under row-level security
alone, as the application's role); the city and the province see category, stage, clock and outcome but no
narrative, children, timeline or reporter; the county, township and village read it in full, each full read
audited; the reporter's identity is shown to the handling county only."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from tests import cases_factories
from tests.cases_factories import (
    CASE_TABLES,
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    PROVINCE,
    SIBLING_VILLAGE,
    TOWNSHIP,
    VILLAGE,
)

person = cases_factories.person
new_child = cases_factories.new_child
file_report = cases_factories.file_report
post_case = cases_factories.post_case
get_case = cases_factories.get_case

FULL_ONLY = {"narrative", "children", "timeline", "reporter", "risk_level", "occurred_at",
             "unknown_child_description", "screen_out_reason", "outcome_summary", "allowed_actions",
             "guardianship_intervention", "occurred_village_code"}


@pytest.fixture
def assessed_case(file_report, new_child, post_case):
    """A case of VILLAGE with a child, accepted, assessed by the township (assessment details on the timeline)."""
    child = new_child()
    case = file_report(child_ids=[child["id"]], unknown_child_description="")
    case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
    case = post_case(case["id"], "advance", {"version": case["version"], "to": "assessment"}).get_json()
    response = post_case(case["id"], "actions", {"kind": "assessment", "assessment": {
        "safety": "poor", "guardianship_capacity": "poor", "physical_health": "fair", "mental_health": "poor",
        "risk_level": "high", "summary": "长期独居，情绪低落"}}, unit=TOWNSHIP)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _reads(scoped_sql, case_id: int) -> list:
    return scoped_sql(COUNTY, "SELECT user_region_code, with_reporter FROM case_reads WHERE case_id = :id "
                              "ORDER BY id", id=case_id)


@pytest.mark.parametrize("unit", [OTHER_COUNTY, OTHER_COUNTY_VILLAGE, SIBLING_VILLAGE, "440203002", "34"])
def test_a_sibling_sees_nothing_through_the_api(client, person, assessed_case, scoped_sql, unit):
    headers = person(unit)[1]
    case_id = assessed_case["id"]
    reads = _reads(scoped_sql, case_id)
    listed = client.get("/api/v1/cases", headers=headers).get_json()
    assert listed["total"] == 0 and listed["items"] == []
    response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    for step, body in (("accept", {"version": 1}), ("actions", {"kind": "note", "note": "越权"}),
                       ("close", {"version": 1, "outcome": "other", "summary": "越权"})):
        assert client.post(f"/api/v1/cases/{case_id}/{step}", json=body, headers=headers).status_code == 404
    assert client.get(f"/api/v1/cases?unit={COUNTY}", headers=headers).status_code in (404, 422)
    assert _reads(scoped_sql, case_id) == reads


@pytest.mark.parametrize("table", CASE_TABLES)
def test_a_sibling_sees_nothing_under_row_level_security_alone(scoped_sql, assessed_case, get_case, table):
    get_case(assessed_case["id"])  # a full read: a row in case_reads too
    for unit in (COUNTY, TOWNSHIP, VILLAGE, CITY, PROVINCE):
        assert scoped_sql(unit, f"SELECT count(*) FROM {table}")[0][0] > 0, (unit, table)
    for unit in (OTHER_COUNTY, OTHER_COUNTY_VILLAGE, SIBLING_VILLAGE, "440203002", "34", "3406"):
        assert scoped_sql(unit, f"SELECT count(*) FROM {table}")[0][0] == 0, (unit, table)
    assert scoped_sql(None, f"SELECT count(*) FROM {table}")[0][0] == 0


def test_row_level_security_refuses_case_writes_outside_the_scope(scoped_sql, assessed_case):
    case_id = assessed_case["id"]
    # A sibling county can neither move nor touch the case, nor add to its timeline.
    assert scoped_sql(OTHER_COUNTY, "UPDATE cases SET stage = 'closed' WHERE id = :id RETURNING id", id=case_id) == []
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(OTHER_COUNTY, "INSERT INTO case_actions (case_id, region_code, kind, stage, data, note, "
                                 "by_unit_code, at) VALUES (:id, :village, 'note', 'assessment', '{}', 'x', "
                                 ":unit, now())", id=case_id, village=VILLAGE, unit=OTHER_COUNTY)
    # The county cannot move a case into its sibling's subtree.
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(COUNTY, "UPDATE cases SET region_code = :other WHERE id = :id", other=OTHER_COUNTY_VILLAGE,
                   id=case_id)
    # The timeline and the read audit are append-only for the application.
    with pytest.raises(DBAPIError, match="permission denied"):
        scoped_sql(COUNTY, "DELETE FROM case_actions WHERE case_id = :id", id=case_id)
    assert scoped_sql(COUNTY, "SELECT stage FROM cases WHERE id = :id", id=case_id)[0][0] == "assessment"


@pytest.mark.parametrize("unit", [CITY, PROVINCE])
@pytest.mark.parametrize("role", ["admin", "staff", "viewer"])
def test_the_city_and_province_see_category_stage_clock_and_outcome_only(client, person, assessed_case, scoped_sql,
                                                                         unit, role):
    headers = person(unit, role)[1]
    case_id = assessed_case["id"]
    reads = _reads(scoped_sql, case_id)
    body = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()
    assert body["detail"] == "summary"
    assert (body["category"], body["stage"], body["step"], body["county_code"]) == (
        "living_alone", "assessment", "help_plan", COUNTY)
    assert body["due_at_cst"] and body["overdue"] is False
    assert not FULL_ONLY & set(body), FULL_ONLY & set(body)
    listed = client.get("/api/v1/cases", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [case_id]
    assert not FULL_ONLY & set(listed["items"][0])
    # A summary is not a full read: nothing audited.
    assert _reads(scoped_sql, case_id) == reads
    # They read, they do not act.
    assert client.post(f"/api/v1/cases/{case_id}/actions", json={"kind": "note", "note": "关注"},
                       headers=headers).status_code == 403


@pytest.mark.parametrize(("unit", "role", "reporter"), [
    (COUNTY, "staff", True), (COUNTY, "viewer", True), (COUNTY, "admin", True),
    (TOWNSHIP, "staff", False), (TOWNSHIP, "viewer", False), (VILLAGE, "staff", False)])
def test_the_county_township_and_village_read_in_full_and_each_read_is_audited(client, person, assessed_case,
                                                                               scoped_sql, unit, role, reporter):
    headers = person(unit, role)[1]
    case_id = assessed_case["id"]
    before = len(_reads(scoped_sql, case_id))
    for _ in range(2):
        body = client.get(f"/api/v1/cases/{case_id}?purpose=复核", headers=headers).get_json()
        assert body["detail"] == "full" and body["narrative"].startswith("邻居反映")
        assert body["risk_level"] == "high" and len(body["children"]) == 1
        assessment = [e for e in body["timeline"] if e["kind"] == "assessment"][0]
        assert assessment["data"]["summary"] == "长期独居，情绪低落"
        assert ("reporter" in body) is reporter
        if reporter:
            assert body["reporter"] == {"kind": "school", "name": "张老师", "contact": "13900001234",
                                        "user_id": person(COUNTY)[0].id, "unit_code": COUNTY}
    reads = _reads(scoped_sql, case_id)
    assert reads[before:] == [(unit, reporter), (unit, reporter)]
    purposes = scoped_sql(COUNTY, "SELECT purpose, user_id FROM case_reads WHERE case_id = :id ORDER BY id DESC "
                                  "LIMIT 1", id=case_id)
    assert purposes[0] == ("复核", person(unit, role)[0].id)


def test_the_reporter_is_not_in_the_reports_list_or_any_read_but_the_countys(client, person, assessed_case):
    county_list = client.get("/api/v1/reports", headers=person(COUNTY)[1]).get_json()
    assert county_list["total"] == 1
    dumped = str(county_list) + str(client.get(f"/api/v1/cases/{assessed_case['id']}",
                                               headers=person(TOWNSHIP)[1]).get_json())
    assert "张老师" not in dumped and "13900001234" not in dumped


def test_a_provinces_time_limits_are_read_by_its_units_and_written_by_it_alone_under_rls(client, person,
                                                                                         scoped_sql):
    body = {"accept_emergency_hours": 1, "accept_hours": 12, "first_measure_hours": 12, "assessment_days": 2,
            "help_plan_days": 5}
    assert client.put("/api/v1/case-policy", json=body, headers=person(PROVINCE)[1]).status_code == 200
    for unit in (PROVINCE, CITY, COUNTY, VILLAGE):
        assert scoped_sql(unit, "SELECT accept_hours FROM case_policies") == [(12,)], unit
    assert scoped_sql("34", "SELECT count(*) FROM case_policies")[0][0] == 0
    # A county reads its province's row but cannot change it.
    assert scoped_sql(COUNTY, "UPDATE case_policies SET accept_hours = 700 RETURNING province_code") == []
    with pytest.raises(DBAPIError, match="row-level security"):
        scoped_sql(COUNTY, "INSERT INTO case_policies (province_code, accept_emergency_hours, accept_hours, "
                           "first_measure_hours, assessment_days, help_plan_days, overrides, updated_at) "
                           "VALUES ('34', 1, 1, 1, 1, 1, '{}', now())")
    assert scoped_sql(PROVINCE, "SELECT accept_hours FROM case_policies") == [(12,)]
