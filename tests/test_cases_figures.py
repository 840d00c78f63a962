"""Case figures end to end: a report followed through its steps moves the stored figures of every level (after
the commit, by the outbox), `sync verify` agrees, the dashboards show the case section, and the protection
outcomes report (page, API, .xlsx) counts the outcomes of a unit and a period, its campaign's period too, within
the caller's reach only."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tenant_app import clock
from tests import cases_factories
from tests.cases_factories import CITY, COUNTY, PROVINCE, TOWNSHIP, VILLAGE

person = cases_factories.person
file_report = cases_factories.file_report
post_case = cases_factories.post_case
get_case = cases_factories.get_case
new_child = cases_factories.new_child

OUTCOME_KEYS = ("outcome_temporary_placements", "outcome_guardianship_arranged", "outcome_back_to_school")


def _stats(client, person, code: str, unit: str = PROVINCE) -> dict:
    response = client.get(f"/api/v1/stats/{code}", headers=person(unit)[1])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["indicators"]


def _step(post_case, case: dict, step: str, body: dict, unit: str = COUNTY, status: int = 200) -> dict:
    response = post_case(case["id"], step, {"version": case["version"], **body} if step != "actions" else body,
                         unit=unit)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _action(action_kind: str, **payload) -> dict:
    return {"kind": action_kind, action_kind: payload}


@pytest.fixture
def followed_case(client, person, file_report, post_case, new_child):
    """A school reports a child living alone; the county accepts, records police notified, a temporary
    placement and a guardian; the township assesses; a help plan with "back to school" done."""
    child = new_child(seq="071")
    today = clock.today_cst().isoformat()
    case = file_report(child_ids=[child["id"]], unknown_child_description="", reporter_kind="school",
                       occurred_at=(clock.now() - timedelta(days=6)).isoformat())
    case = _step(post_case, case, "accept", {"note": "受理"})
    case = _step(post_case, case, "advance", {"to": "emergency"})
    case = _step(post_case, case, "actions", _action("police_notified", station="武江派出所",
                                                     at=clock.now().isoformat()), status=201)
    case = _step(post_case, case, "actions", _action("temporary_placement", kind="relatives", where="舅舅家",
                                                     since=today), status=201)
    case = _step(post_case, case, "actions", _action("guardian_appointed", child_id=child["id"], name="李舅舅",
                                                     relationship="舅舅"), status=201)
    case = _step(post_case, case, "advance", {"to": "assessment"})
    case = _step(post_case, case, "actions", _action(
        "assessment", safety="poor", guardianship_capacity="fair", physical_health="good", mental_health="fair",
        risk_level="medium"), unit=TOWNSHIP, status=201)
    case = _step(post_case, case, "advance", {"to": "help_plan"})
    case = _step(post_case, case, "actions", _action("help_service", kind="back_to_school", owner_unit=TOWNSHIP,
                                                     due_on=today, outcome="已返校", done_on=today), status=201)
    return case, child


def test_a_followed_case_moves_the_figures_of_every_level(client, person, followed_case):
    case, _ = followed_case
    for code in (VILLAGE, TOWNSHIP, COUNTY, CITY, PROVINCE):
        figures = _stats(client, person, code)
        assert figures["case_reports"] >= 1 and figures["case_reports_living_alone"] >= 1, code
        assert figures["case_reporter_school"] >= 1 and figures["case_delay_4_14"] >= 1, code
        assert figures["cases_open_help_plan"] >= 1 and figures["cases_open"] >= figures["cases_open_help_plan"]
        assert all(figures[k] >= 1 for k in OUTCOME_KEYS), (code, {k: figures[k] for k in OUTCOME_KEYS})
        assert figures["case_accept_minutes_median"] >= 0
    village = _stats(client, person, VILLAGE, unit=VILLAGE)
    assert village["case_reports"] == 1 and village["outcome_back_to_school"] == 1
    with pytest.raises(AssertionError):  # a sibling county's staff cannot read this county's figures
        _stats(client, person, COUNTY, unit="440204")
    assert case["stage"] == "help_plan"


def test_sync_verify_agrees_with_the_stored_case_figures(app, followed_case, db_connection):
    from hierarchy.scope import Scope, apply_db_scope, scoped
    from sync import rollup

    with scoped(Scope(all_tenants=True)), db_connection.begin_nested():
        apply_db_scope(db_connection, Scope(all_tenants=True))
        assert rollup.verify(db_connection, COUNTY) == []


def test_the_dashboards_show_the_case_section_and_lead_to_the_outcomes_report(client, make_user, login,
                                                                             followed_case):
    login(client, make_user(PROVINCE, "staff").username)
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="cases"' in html and 'id="case-outcomes"' in html and 'id="confirmation-share"' in html
    assert f'href="/outcomes/{PROVINCE}"' in html
    english = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Protection outcomes (this year)" in english and "Back to school" in english


def test_the_outcomes_report_counts_a_period_per_child_unit(client, person, followed_case):
    response = client.get(f"/api/v1/outcomes/{CITY}", headers=person(PROVINCE)[1])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    row = next(r for r in body["rows"] if r["code"] == COUNTY)
    assert row["values"]["reports"] >= 1 and row["values"]["outcome_back_to_school"] >= 1
    assert body["total"]["outcome_temporary_placements"] >= row["values"]["outcome_temporary_placements"] >= 1
    assert body["start"] == clock.today_cst().replace(month=1, day=1).isoformat()
    # A period before the case: nothing.
    before = client.get(f"/api/v1/outcomes/{COUNTY}", query_string={"start": "2020-01-01", "end": "2020-12-31"},
                        headers=person(COUNTY)[1]).get_json()
    assert before["total"]["reports"] == 0 and before["total"]["outcome_back_to_school"] == 0
    # A village: its own figures, no rows.
    village = client.get(f"/api/v1/outcomes/{VILLAGE}", headers=person(VILLAGE)[1]).get_json()
    assert village["rows"] == [] and village["total"]["outcome_guardianship_arranged"] == 1
    # Outside the caller's reach, a reversed period.
    assert client.get(f"/api/v1/outcomes/{COUNTY}", headers=person("440204")[1]).status_code == 404
    assert client.get(f"/api/v1/outcomes/{PROVINCE}", headers=person(COUNTY)[1]).status_code == 404
    reversed_period = client.get(f"/api/v1/outcomes/{COUNTY}", query_string={"start": "2026-02-01",
                                                                            "end": "2026-01-01"},
                                 headers=person(COUNTY)[1])
    assert reversed_period.status_code == 422 and "end" in reversed_period.get_json()["errors"]


def test_the_outcomes_page_and_its_export(client, make_user, login, followed_case):
    login(client, make_user(COUNTY, "staff").username)
    page = client.get(f"/outcomes/{COUNTY}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="outcomes-table"' in html and f'data-code="{TOWNSHIP}"' in html
    assert client.get("/outcomes/440204").status_code == 404
    assert client.get(f"/outcomes/{COUNTY}?start=2026-13-01").status_code == 200  # a field error on the page
    export = client.get(f"/outcomes/{COUNTY}/export.xlsx")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "保护成效统计表" in rows[0][0]
    header = rows[1]
    total = rows[-1]
    assert total[1] == "合计" and total[header.index("返校复学")] >= 1


def test_a_campaigns_period_is_the_reports_period(client, person, followed_case):
    body = {"title": "监护落实专项行动", "kind": "special_action", "template": "census",
            "due_on": (clock.today_cst() + timedelta(days=30)).isoformat()}
    created = client.post("/api/v1/campaigns", json=body, headers=person(PROVINCE)[1])
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    body = client.get(f"/api/v1/outcomes/{PROVINCE}", query_string={"campaign_id": campaign["id"]},
                      headers=person(PROVINCE)[1]).get_json()
    assert body["campaign"]["id"] == campaign["id"]
    assert body["start"] == campaign["starts_on"] and body["end"] == campaign["due_on"]
