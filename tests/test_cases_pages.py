"""Case pages: the report form (staff, partners, the county's hotline), my reports, the queue sorted by the
clock, the overdue list and the case page with its steps: field errors next to the fields and nothing written,
version conflicts as one message, the restricted view above the county, refusals for siblings and partners."""

from __future__ import annotations

import re
from datetime import timedelta

from tenant_app import clock
from tests import cases_factories
from tests.cases_factories import CITY, COUNTY, OTHER_COUNTY, PROVINCE, TOWNSHIP, VILLAGE

person = cases_factories.person
new_child = cases_factories.new_child
file_report = cases_factories.file_report
case_state = cases_factories.case_state

NARRATIVE = "学校发现该生连续三天未到校，家访发现孩子独自在家，父母在外务工联系不上。"


def _browser(app, login, user):
    browser = app.test_client()
    login(browser, user.username)
    return browser


def _form(**overrides) -> dict:
    when = clock.cst_text(clock.now() - timedelta(hours=1), "%Y-%m-%dT%H:%M")
    data = {"category": "living_alone", "urgency": "emergency", "village_code": VILLAGE, "occurred_at": when,
            "narrative": NARRATIVE, "unknown_child_description": "约10岁女孩，四年级",
            "reporter_contact": "13900001111"}
    data.update(overrides)
    return data


def _written(state) -> tuple:
    """What a refused step must leave unchanged: every case table but the read audit (showing the refusal is a
    read), the case row and the children's versions."""
    counts, row, children = state
    return counts[:-1], row, children


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_a_partner_files_from_the_page_and_follows_only_its_own_reports(app, make_user, login, case_state,
                                                                         file_report):
    school = make_user(TOWNSHIP, "reporter", org_kind="school", org_name="新华小学", real_name="李老师")
    other = make_user(TOWNSHIP, "reporter", org_kind="clinic", org_name="新华卫生院")
    staff_case = file_report(TOWNSHIP)  # the township's own staff report: not the school's
    browser = _browser(app, login, school)

    assert browser.get("/").headers["Location"].endswith("/reports")
    form = browser.get("/reports/new").get_data(as_text=True)
    assert 'id="child-search"' not in form and "新华小学" in form  # no record lookup for partners
    nav = re.search(r'<nav class="mainnav".*?</nav>', form, re.S).group(0)
    assert "nav-report" in nav and "nav-children" not in nav and "nav-cases" not in nav

    before = case_state()
    bad = browser.post("/reports/new", data=_form(category="", narrative="", village_code="440204001001",
                                                  child_ids="1"))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("category", "narrative", "village_code", "child_ids"):
        assert f'id="{field}-errors"' in html, field
    assert case_state() == before

    ok = browser.post("/reports/new", data=_form())
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/reports")
    mine = browser.get("/reports").get_data(as_text=True)
    assert mine.count('class="report-row"') == 1 and "已报告" in mine and "/cases/" not in mine
    assert NARRATIVE not in mine
    other_page = _browser(app, login, other).get("/reports").get_data(as_text=True)
    assert 'class="report-row"' not in other_page
    assert browser.get(f"/cases/{staff_case['id']}").status_code == 403


def test_who_sees_what_on_the_case_page(app, make_user, login, file_report):
    case = file_report(TOWNSHIP, reporter_name="张老师", reporter_contact="13900004321")
    county = _browser(app, login, make_user(COUNTY, "staff"))
    page = county.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "张老师" in page and "13900004321" in page and 'id="step-accept"' in page and 'id="narrative"' in page

    township = _browser(app, login, make_user(TOWNSHIP, "staff")).get(f"/cases/{case['id']}")
    html = township.get_data(as_text=True)
    assert township.status_code == 200 and 'id="narrative"' in html and "张老师" not in html
    assert 'id="step-accept"' not in html

    for unit in (CITY, PROVINCE):
        above = _browser(app, login, make_user(unit, "viewer")).get(f"/cases/{case['id']}")
        html = above.get_data(as_text=True)
        assert above.status_code == 200 and 'id="restricted"' in html
        assert 'id="narrative"' not in html and "张老师" not in html and "邻居反映" not in html

    sibling = _browser(app, login, make_user(OTHER_COUNTY, "staff"))
    assert sibling.get(f"/cases/{case['id']}").status_code == 404
    assert 'class="case-row"' not in sibling.get("/cases").get_data(as_text=True)
    english = county.get(f"/cases/{case['id']}?lang=en").get_data(as_text=True)
    assert "Living alone" in english and "Accept" in english


def test_steps_with_field_errors_conflicts_and_the_whole_flow(app, make_user, login, case_state, new_child):
    child = new_child()
    township_staff = make_user(TOWNSHIP, "staff")
    township = _browser(app, login, township_staff)
    form = township.get(f"/reports/new?q={child['name']}").get_data(as_text=True)
    assert f'value="{child["id"]}"' in form
    filed = township.post("/reports/new", data=_form(child_ids=str(child["id"]), unknown_child_description=""))
    assert filed.status_code == 302
    case_id = int(filed.headers["Location"].rsplit("/", 1)[1])

    county = _browser(app, login, make_user(COUNTY, "staff"))
    version = _version(county.get(f"/cases/{case_id}").get_data(as_text=True))
    before = case_state(case_id)
    refused = county.post(f"/cases/{case_id}/screen-out", data={"version": version, "reason": ""})
    assert refused.status_code == 422 and 'id="reason-errors"' in refused.get_data(as_text=True)
    assert _written(case_state(case_id)) == _written(before)
    stale = county.post(f"/cases/{case_id}/accept", data={"version": str(int(version) + 5)})
    assert stale.status_code == 409 and 'id="case-problem"' in stale.get_data(as_text=True)
    assert _written(case_state(case_id)) == _written(before)
    assert county.post(f"/cases/{case_id}/accept", data={"version": version}).status_code == 302

    def act(browser, action, **fields):
        html = browser.get(f"/cases/{case_id}").get_data(as_text=True)
        data = {"kind": action, "version": _version(html), **{f"{action}.{k}": v for k, v in fields.items()}}
        return browser.post(f"/cases/{case_id}/actions", data=data)

    before = case_state(case_id)
    bad = act(county, "police_notified", station="", at="yesterday")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="police_notified.at-errors"' in html
    bad = act(county, "police_notified", station="", at=clock.cst_text(clock.now(), "%Y-%m-%dT%H:%M"))
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="police_notified.station-errors"' in html
    assert 'aria-invalid="true" aria-describedby="police_notified.station-errors"' in html
    assert _written(case_state(case_id)) == _written(before)
    now = clock.cst_text(clock.now(), "%Y-%m-%dT%H:%M")
    today = clock.cst_day(clock.now()).isoformat()
    assert act(county, "police_notified", station="新华派出所", at=now, receipt_no="J2026").status_code == 302
    assert act(county, "temporary_placement", kind="relatives", where="外婆家", since=today).status_code == 302

    def step(name, **data):
        html = county.get(f"/cases/{case_id}").get_data(as_text=True)
        return county.post(f"/cases/{case_id}/{name}", data={"version": _version(html), **data})

    assert step("advance", to="assessment").status_code == 302
    assert act(township, "assessment", safety="poor", guardianship_capacity="poor", physical_health="good",
               mental_health="fair", risk_level="high").status_code == 302
    assert step("advance", to="help_plan").status_code == 302
    assert act(township, "help_service", kind="back_to_school", owner_unit=TOWNSHIP, due_on=today,
               done_on=today, outcome="已返校").status_code == 302
    assert step("advance", to="follow_up").status_code == 302
    bad = step("close", outcome="", summary="")
    assert bad.status_code == 422 and 'id="outcome-errors"' in bad.get_data(as_text=True)
    assert step("close", outcome="placed", summary="已返校，由外婆照料").status_code == 302
    page = county.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "已结案" in page and "返校复学" in page and "新华派出所" in page and 'id="step-reopen"' in page
    assert 'id="actions"' not in page  # nothing to record on a closed case


def test_the_queue_is_sorted_by_the_clock_and_paginated(app, make_user, login, file_report, client, person):
    with clock.frozen(clock.now() - timedelta(hours=3)):
        late = file_report(COUNTY, urgency="emergency")  # to accept within 1 hour: overdue now
    for _ in range(50):
        file_report(COUNTY)
    county = _browser(app, login, make_user(COUNTY, "viewer"))
    first = county.get("/cases").get_data(as_text=True)
    assert first.count('class="case-row') == 50 and 'rel="next"' in first
    rows = re.findall(r'<tr class="case-row( overdue)?">\s*<td[^>]*><a href="/cases/(\d+)"', first)
    assert rows[0] == (" overdue", str(late["id"]))
    assert county.get("/cases?page=2").get_data(as_text=True).count('class="case-row') == 1
    overdue = county.get("/cases/overdue").get_data(as_text=True)
    assert overdue.count('class="case-row') == 1
    assert county.get("/cases?overdue=0").get_data(as_text=True).count('class="case-row') == 50
    assert county.get("/cases?stage=closed").get_data(as_text=True).count('class="case-row') == 0


def test_hotline_is_for_county_staff(app, make_user, login, case_state):
    county = _browser(app, login, make_user(COUNTY, "staff"))
    page = county.get("/hotline/new").get_data(as_text=True)
    assert "热线登记" in page and 'id="nav-hotline"' in page
    assert county.post("/hotline/new", data=_form(reporter_name="")).status_code == 302
    for unit, role in ((TOWNSHIP, "staff"), (COUNTY, "viewer"), (COUNTY, "admin")):
        browser = _browser(app, login, make_user(unit, role))
        assert browser.get("/hotline/new").status_code == 403
        assert 'id="nav-hotline"' not in browser.get("/cases").get_data(as_text=True)
    viewer = _browser(app, login, make_user(COUNTY, "viewer"))
    assert viewer.get("/reports/new").status_code == 403


def test_steps_are_refused_to_everyone_but_the_handling_county(app, make_user, login, case_state, file_report):
    case = file_report(TOWNSHIP)
    before = _written(case_state(case["id"]))
    action = {"kind": "police_notified", "version": "1", "police_notified.station": "新华派出所",
              "police_notified.at": clock.cst_text(clock.now(), "%Y-%m-%dT%H:%M")}
    for unit, role, status in ((OTHER_COUNTY, "staff", 404), (TOWNSHIP, "staff", 403), (COUNTY, "viewer", 403),
                               (CITY, "staff", 403), (TOWNSHIP, "reporter", 403)):
        browser = _browser(app, login, make_user(unit, role))
        assert browser.post(f"/cases/{case['id']}/accept", data={"version": "1"}).status_code == status, unit
        assert browser.post(f"/cases/{case['id']}/actions", data=action).status_code == status, unit
    assert _written(case_state(case["id"])) == before
