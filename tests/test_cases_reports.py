"""Filing a mandatory report: the case it opens (its village, township and county), who may file, and every
refusal a field error (or 403) that writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenant_app import clock
from tests import cases_factories
from tests.cases_factories import COUNTY, OTHER_COUNTY_VILLAGE, SIBLING_VILLAGE, TOWNSHIP, VILLAGE, report_body
from tests.cases_factories import problem as _problem

person = cases_factories.person
new_child = cases_factories.new_child
file_report = cases_factories.file_report
get_case = cases_factories.get_case
case_state = cases_factories.case_state


# --- filing -----------------------------------------------------------------------------------------------

def test_a_report_opens_a_case_handled_by_the_county_of_the_childs_village(client, person, new_child, get_case):
    child = new_child()
    headers = person(VILLAGE)[1]
    response = client.post("/api/v1/reports", headers=headers, json=report_body(
        child_ids=[child["id"]], unknown_child_description="", reporter_kind="staff", reporter_name=""))
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert (case["stage"], case["village_code"], case["township_code"], case["county_code"]) == (
        "reported", VILLAGE, TOWNSHIP, COUNTY)
    assert case["detail"] == "full" and "reporter" not in case  # the village reads it, the county alone the reporter
    assert [c["id"] for c in case["children"]] == [child["id"]]
    assert [e["kind"] for e in case["timeline"]] == ["filed"]
    assert case["timeline"][0]["by_unit_code"] == VILLAGE
    # The county sees the reporter: a staff reporter is the filing user.
    county_view = get_case(case["id"])
    assert county_view["reporter"]["kind"] == "staff"
    assert county_view["reporter"]["name"] == person(VILLAGE)[0].real_name
    # The village's own reports: the stage, no narrative, no reporter.
    listed = client.get("/api/v1/reports", headers=headers).get_json()
    assert [(r["case_id"], r["stage"]) for r in listed["items"]] == [(case["id"], "reported")]
    assert "narrative" not in listed["items"][0] and "reporter_name" not in listed["items"][0]
    assert client.get("/api/v1/reports", headers=person(COUNTY)[1]).get_json()["total"] == 0


def test_an_unknown_child_report_belongs_to_the_village_where_it_happened(file_report):
    case = file_report(village_code=SIBLING_VILLAGE)
    assert case["village_code"] == SIBLING_VILLAGE and case["children"] == []
    assert case["unknown_child_description"] == "约8岁男孩，住村东头"


@pytest.mark.parametrize(("unit", "overrides", "status", "fields"), [
    (COUNTY, {"narrative": "  "}, 422, ("narrative",)),
    (COUNTY, {"category": "bullying"}, 422, ("category",)),
    (COUNTY, {"unknown_child_description": ""}, 422, ("unknown_child_description",)),
    (COUNTY, {"reporter_name": ""}, 422, ("reporter_name",)),  # a school reports under its name
    (COUNTY, {"village_code": OTHER_COUNTY_VILLAGE}, 422, ("village_code",)),  # outside the reporter's reach
    (VILLAGE, {"village_code": SIBLING_VILLAGE}, 422, ("village_code",)),
    (VILLAGE, {"reporter_kind": "hotline"}, 422, ("reporter_kind",)),  # hotline calls: county staff
    (COUNTY, {"child_ids": [2**31 - 1]}, 422, ("child_ids",)),
    (COUNTY, {"child_ids": list(range(1, 22))}, 422, ("child_ids",)),
])
def test_a_refused_report_is_a_field_error_and_writes_nothing(client, person, case_state, unit, overrides, status,
                                                              fields):
    headers = person(unit)[1]
    before = case_state()
    _problem(client.post("/api/v1/reports", json=report_body(**overrides), headers=headers), status, *fields)
    assert case_state() == before


def test_a_report_in_the_future_or_with_a_child_out_of_reach_is_refused(client, person, new_child, case_state):
    elsewhere = new_child(seq="021", village=SIBLING_VILLAGE)
    before = case_state()
    future = (clock.now() + timedelta(days=1)).isoformat()
    _problem(client.post("/api/v1/reports", json=report_body(occurred_at=future), headers=person(COUNTY)[1]),
             422, "occurred_at")
    # The sibling village's child is out of the village's reach: indistinguishable from absent.
    _problem(client.post("/api/v1/reports", json=report_body(child_ids=[elsewhere["id"]], village_code=VILLAGE),
                         headers=person(VILLAGE)[1]), 422, "child_ids")
    assert case_state() == before


def test_children_of_two_villages_need_two_reports(client, person, new_child, case_state):
    one, two = new_child(seq="031"), new_child(seq="033", village=SIBLING_VILLAGE)
    before = case_state()
    _problem(client.post("/api/v1/reports", json=report_body(child_ids=[one["id"], two["id"]]),
                         headers=person(COUNTY)[1]), 422, "child_ids")
    assert case_state() == before


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_only_staff_file_reports(client, person, case_state, role):
    before = case_state()
    _problem(client.post("/api/v1/reports", json=report_body(), headers=person(COUNTY, role)[1]), 403)
    assert case_state() == before


def test_the_document_states_the_rules_of_reports_and_case_steps(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    report = schemas["ReportCreate"]
    assert {"category", "urgency", "occurred_at", "village_code", "narrative"} <= set(report["required"])
    props = report["properties"]
    assert len(props["category"]["enum"]) == 8 and props["urgency"]["enum"] == ["emergency", "normal"]
    assert (props["narrative"]["minLength"], props["narrative"]["maxLength"]) == (1, 4000)
    assert props["village_code"]["pattern"] == "^([0-9]{12})$" and props["child_ids"]["maxItems"] == 20
    assert props["occurred_at"]["format"] == "date-time"
    screen_out = schemas["CaseScreenOut"]
    assert set(screen_out["required"]) == {"version", "reason"}
    assert screen_out["properties"]["reason"]["minLength"] == 1
    assert schemas["CaseAdvance"]["properties"]["to"]["enum"] == ["emergency", "assessment", "help_plan", "follow_up"]
    action = schemas["ActionCreate"]["properties"]
    assert "guardianship_intervention" in action["kind"]["enum"] and "$ref" in str(action["assessment"])
    assert schemas["CaseActionAssessment"]["properties"]["risk_level"]["enum"] == ["low", "medium", "high"]
    paths = spec["paths"]
    for path in ("/api/v1/reports", "/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/accept",
                 "/api/v1/cases/{case_id}/screen-out", "/api/v1/cases/{case_id}/actions",
                 "/api/v1/cases/{case_id}/advance", "/api/v1/cases/{case_id}/close",
                 "/api/v1/cases/{case_id}/reopen"):
        assert path in paths, path
