"""Protection cases: every transition in order and every refused one (wrong stage, wrong role,
missing reason, stale version), typed actions by stage and by unit, and what they write to the child's record.
A refused request writes nothing: the case, its timeline and every case table are compared before and after."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenant_app import clock
from tests import cases_factories
from tests.cases_factories import CITY, COUNTY, TOWNSHIP, VILLAGE
from tests.cases_factories import problem as _problem

person = cases_factories.person
new_child = cases_factories.new_child
file_report = cases_factories.file_report
post_case = cases_factories.post_case
get_case = cases_factories.get_case
case_state = cases_factories.case_state

TODAY = clock.today_cst


def _action(action_kind: str, **payload) -> dict:
    body = {"kind": action_kind}
    if payload:
        body[action_kind] = payload
    return body


POLICE = _action("police_notified", station="武江派出所", at="2026-01-01T10:00:00+08:00", receipt_no="JJ-001")
PLACEMENT = _action("temporary_placement", kind="relatives", where="舅舅家", since="2026-01-01")
ASSESSMENT = _action("assessment", safety="poor", guardianship_capacity="poor", physical_health="fair",
                     mental_health="fair", risk_level="high", summary="独居三日，无人照料")
HELP = _action("help_service", kind="back_to_school", owner_unit=TOWNSHIP, due_on="2026-09-01",
               outcome="已返校", done_on="2026-01-02")


@pytest.fixture
def case_with_child(file_report, new_child):
    """A normal case about a child record of VILLAGE, filed by the county: (case, child)."""
    child = new_child()
    return file_report(child_ids=[child["id"]], unknown_child_description=""), child


def _advance(post_case, case: dict, to: str, unit: str = COUNTY) -> dict:
    response = post_case(case["id"], "advance", {"version": case["version"], "to": to}, unit=unit)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _act(post_case, case: dict, body: dict, unit: str = COUNTY, role: str = "staff") -> dict:
    response = post_case(case["id"], "actions", body, unit=unit, role=role)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- the whole path ---------------------------------------------------------------------------------------

def test_every_transition_in_order_with_its_actions_on_the_timeline(client, person, case_with_child, post_case,
                                                                    get_case):
    case, child = case_with_child
    accepted = post_case(case["id"], "accept", {"version": case["version"], "note": "当日受理"})
    assert accepted.status_code == 200, accepted.get_json()
    case = accepted.get_json()
    assert case["stage"] == "accepted" and case["accepted_at"] and case["step"] == "assessment"
    case = _advance(post_case, case, "emergency")
    case = _act(post_case, case, POLICE)
    case = _act(post_case, case, PLACEMENT)
    case = _advance(post_case, case, "assessment")
    assert case["step"] == "assessment"
    # The township assesses: the risk goes to the case and to the child's record (with its history).
    case = _act(post_case, case, ASSESSMENT, unit=TOWNSHIP)
    assert case["risk_level"] == "high" and case["step"] == "help_plan"
    record = client.get(f"/api/v1/children/{child['id']}", headers=person(VILLAGE)[1]).get_json()
    assert (record["risk_level"], record["guardianship_assessment"]) == ("high", "poor")
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=person(VILLAGE)[1]).get_json()
    assert history[-1]["changes"]["risk_level"] == ["low", "high"]
    assert history[-1]["changed_by_id"] == person(TOWNSHIP)[0].id
    case = _act(post_case, case, _action("guardianship_intervention", measure="admonition",
                                         grounds="长期不履行监护职责"))
    assert case["guardianship_intervention"] is True
    case = _advance(post_case, case, "help_plan")
    # With the help plan made, follow-up visits are due: a high-risk case's first within 7 CST days.
    assert case["step"] == "follow_up_visit"
    assert case["due_on_cst"] == (TODAY() + timedelta(days=7)).isoformat()
    case = _act(post_case, case, HELP, unit=VILLAGE)
    case = _advance(post_case, case, "follow_up")
    case = _act(post_case, case, _action("follow_up_visit", visited_on=TODAY().isoformat(), findings="已返校"),
                unit=VILLAGE)
    closed = post_case(case["id"], "close", {"version": case["version"], "outcome": "placed",
                                             "summary": "已返校，由舅舅照料"})
    assert closed.status_code == 200, closed.get_json()
    case = closed.get_json()
    assert (case["stage"], case["outcome"], case["is_open"]) == ("closed", "placed", False)
    assert case["closed_at"]
    timeline = [(e["kind"], e["stage"], e["by_unit_code"]) for e in case["timeline"]]
    assert timeline == [
        ("filed", "reported", COUNTY), ("stage_change", "reported", COUNTY),
        ("stage_change", "accepted", COUNTY), ("police_notified", "emergency", COUNTY),
        ("temporary_placement", "emergency", COUNTY), ("stage_change", "emergency", COUNTY),
        ("assessment", "assessment", TOWNSHIP), ("guardianship_intervention", "assessment", COUNTY),
        ("stage_change", "assessment", COUNTY), ("help_service", "help_plan", VILLAGE),
        ("stage_change", "help_plan", COUNTY), ("follow_up_visit", "follow_up", VILLAGE),
        ("stage_change", "follow_up", COUNTY)]
    assert all(e["at"] and e["at_cst"] and e["by_user_id"] for e in case["timeline"])
    assert case["timeline"][3]["data"] == {"station": "武江派出所", "at": "2026-01-01T10:00:00+08:00",
                                           "receipt_no": "JJ-001"}
    assert case["timeline"][-1]["data"] == {"from": "follow_up", "to": "closed", "outcome": "placed"}
    # Reopened: assessed again, the clock runs again.
    reopened = post_case(case["id"], "reopen", {"version": case["version"], "reason": "孩子再次独居"})
    assert reopened.status_code == 200, reopened.get_json()
    case = reopened.get_json()
    assert (case["stage"], case["step"], case["outcome"], case["closed_at"]) == (
        "assessment", "assessment", None, None)
    assert case["timeline"][-1]["data"] == {"from": "closed", "to": "assessment", "reason": "孩子再次独居"}


def test_screen_out_needs_a_reason_and_a_screened_out_report_can_be_screened_again(file_report, post_case,
                                                                                 case_state):
    case = file_report()
    before = case_state(case["id"])
    for body in ({"version": case["version"]}, {"version": case["version"], "reason": "   "}):
        _problem(post_case(case["id"], "screen-out", body), 422, "reason")
    assert case_state(case["id"]) == before
    response = post_case(case["id"], "screen-out", {"version": case["version"], "reason": "经核实系误报"})
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert (case["stage"], case["screen_out_reason"], case["step"]) == ("screened_out", "经核实系误报", None)
    before = case_state(case["id"])
    _problem(post_case(case["id"], "reopen", {"version": case["version"]}), 422, "reason")
    assert case_state(case["id"]) == before
    case = post_case(case["id"], "reopen", {"version": case["version"], "reason": "又有人反映"}).get_json()
    assert (case["stage"], case["step"], case["screen_out_reason"]) == ("reported", "accept", "")


# --- refusals: wrong stage, wrong role, stale version; nothing written -----------------------------------

def _accepted(file_report, post_case, **fields) -> dict:
    case = file_report(**fields)
    return post_case(case["id"], "accept", {"version": case["version"]}).get_json()


@pytest.mark.parametrize(("step", "body"), [
    ("advance", {"to": "assessment"}),
    ("advance", {"to": "help_plan"}),
    ("close", {"outcome": "other", "summary": "结案"}),
    ("reopen", {"reason": "再办"}),
    ("actions", HELP),
    ("actions", ASSESSMENT),
    ("actions", _action("follow_up_visit", visited_on="2026-01-01", findings="好")),
])
def test_a_step_the_reported_stage_does_not_allow_is_a_409_and_writes_nothing(file_report, post_case, case_state,
                                                                              step, body):
    case = file_report()
    before = case_state(case["id"])
    problem = _problem(post_case(case["id"], step, {**body, "version": case["version"]}), 409)
    assert problem["code"] == "invalid_transition" and problem["stage"] == "reported"
    assert set(problem["errors"]) <= {"to", "stage", "kind"} and problem["errors"]
    assert case_state(case["id"]) == before


def test_out_of_order_steps_after_acceptance_are_refused(file_report, post_case, case_state):
    case = _accepted(file_report, post_case)
    refusals = [
        ("accept", {}),  # accepted twice
        ("screen-out", {"reason": "误报"}),
        ("advance", {"to": "help_plan"}),  # skipping the assessment
        ("advance", {"to": "follow_up"}),
        ("close", {"outcome": "other", "summary": "结案"}),
        ("actions", HELP),  # help services belong to the help plan
    ]
    before = case_state(case["id"])
    for step, body in refusals:
        problem = _problem(post_case(case["id"], step, {**body, "version": case["version"]}), 409)
        assert problem["stage"] == "accepted", (step, problem)
    assert case_state(case["id"]) == before
    case = _advance(post_case, case, "assessment")
    before = case_state(case["id"])
    # No help plan before an assessment, no intervention before an assessment.
    problem = _problem(post_case(case["id"], "advance", {"version": case["version"], "to": "help_plan"}), 409, "to")
    assert "评估" in problem["detail"]
    _problem(post_case(case["id"], "actions", _action("guardianship_intervention", measure="admonition",
                                                      grounds="不履行")), 409, "kind")
    assert case_state(case["id"]) == before
    case = _act(post_case, case, ASSESSMENT)
    case = _advance(post_case, case, "help_plan")
    before = case_state(case["id"])
    # No follow-up without a help service.
    _problem(post_case(case["id"], "advance", {"version": case["version"], "to": "follow_up"}), 409, "to")
    assert case_state(case["id"]) == before


def test_an_emergency_case_needs_a_first_measure_before_its_assessment(file_report, post_case, case_state):
    case = _accepted(file_report, post_case, urgency="emergency")
    before = case_state(case["id"])
    problem = _problem(post_case(case["id"], "advance", {"version": case["version"], "to": "assessment"}), 409, "to")
    assert "应急" in problem["detail"]
    assert case_state(case["id"]) == before
    case = _act(post_case, case, _action("missing_search_handed_to_police", station="派出所",
                                         at=clock.now().isoformat()))
    assert _advance(post_case, case, "assessment")["stage"] == "assessment"


@pytest.mark.parametrize(("unit", "role"), [
    (COUNTY, "viewer"), (TOWNSHIP, "staff"), (VILLAGE, "staff"), (CITY, "staff"), ("44", "admin")])
def test_only_the_handling_county_decides(file_report, post_case, case_state, unit, role):
    case = file_report()
    before = case_state(case["id"])
    for step, body in (("accept", {}), ("screen-out", {"reason": "误报"})):
        _problem(post_case(case["id"], step, {**body, "version": case["version"]}, unit=unit, role=role), 403)
    assert case_state(case["id"]) == before


def test_the_county_admin_decides_too(file_report, post_case):
    case = file_report()
    response = post_case(case["id"], "accept", {"version": case["version"]}, role="admin")
    assert response.status_code == 200 and response.get_json()["stage"] == "accepted"


@pytest.mark.parametrize(("unit", "role", "body"), [
    (VILLAGE, "staff", POLICE),  # emergency measures: the county
    (TOWNSHIP, "staff", PLACEMENT),
    (TOWNSHIP, "viewer", ASSESSMENT),  # viewers read only
    (COUNTY, "viewer", _action("note")),
    (CITY, "staff", ASSESSMENT),  # a unit above takes no part
    (COUNTY, "admin", ASSESSMENT),  # written to the child's record: staff only
])
def test_who_may_record_which_action(file_report, post_case, case_state, unit, role, body):
    case = _accepted(file_report, post_case)
    case = _advance(post_case, case, "assessment")
    before = case_state(case["id"])
    _problem(post_case(case["id"], "actions", {**body, "note": "x"}, unit=unit, role=role), 403)
    assert case_state(case["id"]) == before


def test_action_fields_are_checked_before_anything_is_written(file_report, post_case, case_state):
    case = _advance(post_case, _accepted(file_report, post_case), "assessment")
    before = case_state(case["id"])
    _problem(post_case(case["id"], "actions", {"kind": "note"}), 422, "note")
    _problem(post_case(case["id"], "actions", {"kind": "police_notified"}), 422, "police_notified")
    _problem(post_case(case["id"], "actions", _action("police_notified", at=clock.now().isoformat())), 422,
             "police_notified.station")
    _problem(post_case(case["id"], "actions", _action("temporary_placement", kind="relatives", where="舅舅家",
                                                      since="2026-02-01", until="2026-01-01")), 422,
             "temporary_placement.until")
    _problem(post_case(case["id"], "actions", _action("guardianship_intervention", measure="court_revocation",
                                                      grounds="六个月以上拒不履行")), 422,
             "guardianship_intervention.court")
    case = _act(post_case, case, ASSESSMENT)
    case = _advance(post_case, case, "help_plan")
    before = case_state(case["id"])
    for owner in ("440204", "440203999", "4402"):  # a sibling county, no such unit, the city above
        _problem(post_case(case["id"], "actions", {**HELP, "help_service": {**HELP["help_service"],
                                                                          "owner_unit": owner}}), 422,
                 "help_service.owner_unit")
    _problem(post_case(case["id"], "actions", {**ASSESSMENT, "assessment": {**ASSESSMENT["assessment"],
                                                                           "risk_level": "extreme"}}), 422,
             "assessment.risk_level")
    assert case_state(case["id"]) == before


def test_an_unattended_child_is_not_assessed_below_high_risk_and_nothing_is_written(file_report, new_child,
                                                                                  post_case, case_state):
    # Both parents away and no entrusted guardian: an unattended child, who must stay high risk.
    child = new_child(seq="041", guardian_name="", guardian_relationship="", guardian_phone="")
    assert child["unattended"] and child["risk_level"] == "high"
    case = file_report(child_ids=[child["id"]], unknown_child_description="")
    case = _advance(post_case, post_case(case["id"], "accept", {"version": case["version"]}).get_json(),
                    "assessment")
    before = case_state(case["id"])
    low = {**ASSESSMENT, "assessment": {**ASSESSMENT["assessment"], "risk_level": "low"}}
    problem = _problem(post_case(case["id"], "actions", low), 422, "assessment.risk_level")
    assert "无人监护" in problem["errors"]["assessment.risk_level"][0]
    assert case_state(case["id"]) == before


def test_an_appointed_guardian_is_written_to_the_childs_record_through_its_history(client, person, file_report,
                                                                                 new_child, post_case):
    child = new_child(seq="051", guardian_name="", guardian_relationship="", guardian_phone="")
    case = file_report(child_ids=[child["id"]], unknown_child_description="", urgency="emergency")
    case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
    stranger = new_child(seq="053")
    refused = post_case(case["id"], "actions", _action("guardian_appointed", child_id=stranger["id"], name="李舅舅",
                                                       relationship="舅舅"))
    _problem(refused, 422, "guardian_appointed.child_id")
    case = _act(post_case, case, _action("guardian_appointed", child_id=child["id"], name="李舅舅",
                                         relationship="舅舅", phone="13700001111"))
    assert case["step"] == "assessment"  # the first emergency measure is done
    record = client.get(f"/api/v1/children/{child['id']}", headers=person(VILLAGE)[1]).get_json()
    assert (record["guardian_name"], record["guardian_relationship"], record["unattended"]) == (
        "李舅舅", "舅舅", False)
    history = client.get(f"/api/v1/children/{child['id']}/history", headers=person(VILLAGE)[1]).get_json()
    assert history[-1]["changes"]["guardian_name"] == ["", "李舅舅"]
    assert history[-1]["changed_by_id"] == person(COUNTY)[0].id


def test_nothing_is_recorded_on_a_closed_or_screened_out_case(file_report, post_case, case_state):
    case = file_report()
    case = post_case(case["id"], "screen-out", {"version": case["version"], "reason": "误报"}).get_json()
    before = case_state(case["id"])
    for body in (_action("note"), POLICE):
        _problem(post_case(case["id"], "actions", {**body, "note": "补充"}), 409, "kind")
    assert case_state(case["id"]) == before


# --- optimistic concurrency -------------------------------------------------------------------------------

def test_a_stale_version_is_a_409_and_writes_nothing(file_report, post_case, case_state):
    case = file_report()
    read = case["version"]
    accepted = post_case(case["id"], "accept", {"version": read}).get_json()
    assert accepted["version"] > read
    before = case_state(case["id"])
    for step, body in (("screen-out", {"reason": "误报"}), ("advance", {"to": "assessment"}),
                       ("actions", {"kind": "note", "note": "旧版本"})):
        problem = _problem(post_case(case["id"], step, {**body, "version": read}), 409)
        assert (problem["code"], problem["current_version"]) == ("stale_version", accepted["version"])
    assert case_state(case["id"]) == before
    # An action without a version is recorded whatever the version (several units add to one timeline).
    assert _act(post_case, accepted, {"kind": "note", "note": "补充情况"})["version"] > accepted["version"]


def test_unknown_cases_are_404(client, person):
    headers = person(COUNTY)[1]
    assert client.get("/api/v1/cases/999999", headers=headers).status_code == 404
    _problem(client.post("/api/v1/cases/999999/accept", json={"version": 1}, headers=headers), 404)


def test_a_refused_step_says_why_in_both_languages_with_the_stage_named(file_report, post_case):
    case = file_report()
    problem = _problem(post_case(case["id"], "advance", {"version": case["version"], "to": "help_plan"}), 409, "to")
    assert problem["detail"] == ("案件当前阶段为「已报告」，不能转入「帮扶」 / "
                                 "The case is at the stage “Reported”: it cannot move to “Help plan”")
    closing = _problem(post_case(case["id"], "close", {"version": case["version"], "outcome": "other",
                                                       "summary": "结案"}), 409, "stage")
    assert closing["detail"].endswith("cannot close the case")
