"""The clock of a case, with a frozen time: each step's deadline in China Standard Time across the day boundary,
the overdue flag from the deadline on, the queue sorted by the clock (overdue first, then by deadline) in
pages, the same number of statements whatever the number of cases, and the province's own limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from tenant_app import clock
from tenant_app.clock import CST
from tenant_app.db import db
from tests import cases_factories
from tests.cases_factories import COUNTY, PROVINCE, TOWNSHIP, VILLAGE

person = cases_factories.person
file_report = cases_factories.file_report
post_case = cases_factories.post_case
get_case = cases_factories.get_case


def cst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


D1 = date(2026, 12, 1)
D2, D5, D6 = D1 + timedelta(days=1), D1 + timedelta(days=4), D1 + timedelta(days=5)


def _clock(case: dict) -> tuple:
    return case["step"], case["due_at_cst"], case["due_on_cst"], case["overdue"]


def _at(get_case, case_id: int, moment: datetime) -> dict:
    with clock.frozen(moment):
        return get_case(case_id)


def test_an_emergency_filed_at_half_past_eleven_is_due_for_acceptance_after_midnight(file_report, get_case):
    with clock.frozen(cst(D1, 23, 30)):
        case = file_report(urgency="emergency")
    assert _clock(case) == ("accept", "2026-12-02 00:30", "2026-12-02", False)
    assert datetime.fromisoformat(case["due_at"]) == datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert _at(get_case, case["id"], cst(D2, 0, 29))["overdue"] is False
    assert _at(get_case, case["id"], cst(D2, 0, 30))["overdue"] is True
    # A normal report has a day: due at 23:30 CST the next day.
    with clock.frozen(cst(D1, 23, 30)):
        normal = file_report()
    assert _clock(normal) == ("accept", "2026-12-02 23:30", "2026-12-02", False)
    assert _at(get_case, normal["id"], cst(D2, 23, 29))["overdue"] is False
    assert _at(get_case, normal["id"], cst(D2, 23, 31))["overdue"] is True


def test_the_assessment_is_due_by_the_end_of_the_third_cst_day_after_acceptance(file_report, post_case, get_case):
    with clock.frozen(cst(D1, 23, 30)):
        case = file_report()
    # Accepted at 00:30 CST on 2 December, which is still 1 December in UTC: the days count in CST.
    with clock.frozen(cst(D2, 0, 30)):
        case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
    assert _clock(case) == ("assessment", "2026-12-06 00:00", "2026-12-05", False)
    assert datetime.fromisoformat(case["due_at"]) == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
    assert _at(get_case, case["id"], cst(D5, 23, 59))["overdue"] is False
    late = _at(get_case, case["id"], cst(D6, 0, 0))
    assert late["overdue"] is True and late["step"] == "assessment"
    # Assessed late on 6 December: the help plan is due within 7 CST days of that.
    with clock.frozen(cst(D6, 9)):
        response = post_case(case["id"], "advance", {"version": late["version"], "to": "assessment"})
        assessed = post_case(case["id"], "actions", {"kind": "assessment", "assessment": {
            "safety": "fair", "guardianship_capacity": "fair", "physical_health": "good", "mental_health": "good",
            "risk_level": "medium"}}, unit=TOWNSHIP)
    assert response.status_code == 200 and assessed.status_code == 201, assessed.get_json()
    assert _clock(assessed.get_json()) == ("help_plan", "2026-12-14 00:00", "2026-12-13", False)


def test_an_emergency_needs_its_first_measure_within_24_hours_of_filing(file_report, post_case, get_case):
    with clock.frozen(cst(D1, 23, 30)):
        case = file_report(urgency="emergency")
    with clock.frozen(cst(D2, 0, 10)):
        case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
    assert _clock(case) == ("first_measure", "2026-12-02 23:30", "2026-12-02", False)
    assert _at(get_case, case["id"], cst(D2, 23, 30))["overdue"] is True
    with clock.frozen(cst(D2, 20)):
        case = post_case(case["id"], "actions", {"kind": "police_notified", "police_notified": {
            "station": "武江派出所", "at": cst(D2, 19).isoformat()}}).get_json()
    # The measure is done: the assessment's clock runs from the acceptance (2 December CST).
    assert _clock(case) == ("assessment", "2026-12-06 00:00", "2026-12-05", False)


def test_the_queue_is_overdue_first_then_by_deadline_and_closed_cases_last(client, person, file_report, post_case):
    t0 = cst(D1, 10)
    with clock.frozen(t0 - timedelta(hours=30)):
        late = file_report()  # due at t0 - 6 h: overdue
    with clock.frozen(t0 - timedelta(hours=1)):
        later = file_report()  # due at t0 + 23 h
    with clock.frozen(t0):
        urgent = file_report(urgency="emergency")  # due at t0 + 1 h
        screened = file_report()
        post_case(screened["id"], "screen-out", {"version": screened["version"], "reason": "误报"})
    with clock.frozen(t0 + timedelta(minutes=5)):
        page = client.get("/api/v1/cases", headers=person(COUNTY)[1]).get_json()
        overdue = client.get("/api/v1/cases?overdue=true", headers=person(COUNTY)[1]).get_json()
        open_only = client.get("/api/v1/cases?open=true", headers=person(COUNTY)[1]).get_json()
    assert [(c["id"], c["overdue"]) for c in page["items"]] == [
        (late["id"], True), (urgent["id"], False), (later["id"], False), (screened["id"], False)]
    assert page["items"][-1]["due_at"] is None and page["total"] == 4
    assert [c["id"] for c in overdue["items"]] == [late["id"]] and overdue["total"] == 1
    assert screened["id"] not in [c["id"] for c in open_only["items"]] and open_only["total"] == 3
    # List items are summaries: no narrative, no reporter, no timeline.
    assert all(item["detail"] == "summary" and "narrative" not in item and "reporter" not in item
               for item in page["items"])


def _statements(app, run) -> int:
    count = 0

    def counter(*args, **kwargs):
        nonlocal count
        count += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    return count


def test_the_queue_pages_past_50_cases_in_a_constant_number_of_statements(app, client, person, file_report):
    headers = person(COUNTY)[1]
    with clock.frozen(cst(D1, 8)):
        for _ in range(3):
            file_report()
        few = _statements(app, lambda: client.get("/api/v1/cases", headers=headers))
        for _ in range(52):
            file_report(village_code="440203001003")
        many = _statements(app, lambda: client.get("/api/v1/cases", headers=headers))
        first = client.get("/api/v1/cases", headers=headers).get_json()
        second = client.get("/api/v1/cases?page=2", headers=headers).get_json()
    assert few == many  # the clock of every case in one statement, not one per case
    assert (first["total"], len(first["items"]), len(second["items"]), first["per_page"]) == (55, 50, 5, 50)
    assert not {c["id"] for c in first["items"]} & {c["id"] for c in second["items"]}
    dues = [c["due_at"] for c in first["items"] + second["items"]]
    assert dues == sorted(dues)


def test_the_province_sets_its_limits_per_category(client, person, file_report):
    county = person(COUNTY)[1]
    policy = client.get("/api/v1/case-policy", headers=county).get_json()
    assert policy["is_default"] and (policy["accept_emergency_hours"], policy["accept_hours"],
                                     policy["first_measure_hours"], policy["assessment_days"],
                                     policy["help_plan_days"]) == (1, 24, 24, 3, 7)
    body = {"accept_emergency_hours": 1, "accept_hours": 12, "first_measure_hours": 12, "assessment_days": 2,
            "help_plan_days": 5, "overrides": {"missing": {"accept_hours": 2}}}
    refused = client.put("/api/v1/case-policy", json=body, headers=county)
    assert refused.status_code == 403
    invalid = client.put("/api/v1/case-policy", json={**body, "accept_hours": 0}, headers=person(PROVINCE)[1])
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"accept_hours"}
    saved = client.put("/api/v1/case-policy", json=body, headers=person(PROVINCE)[1])
    assert saved.status_code == 200, saved.get_json()
    assert client.get("/api/v1/case-policy", headers=person(VILLAGE)[1]).get_json()["overrides"] == {
        "missing": {"accept_hours": 2}}
    with clock.frozen(cst(D1, 23, 30)):
        missing = file_report(category="missing")
        alone = file_report()
    assert missing["due_at_cst"] == "2026-12-02 01:30" and alone["due_at_cst"] == "2026-12-02 11:30"


@pytest.mark.parametrize("body", [{"overrides": {"bullying": {"accept_hours": 2}}},
                                  {"overrides": {"missing": {"accept_hours": 721}}}])
def test_invalid_overrides_are_field_errors(client, person, body):
    base = {"accept_emergency_hours": 1, "accept_hours": 12, "first_measure_hours": 12, "assessment_days": 2,
            "help_plan_days": 5}
    response = client.put("/api/v1/case-policy", json={**base, **body}, headers=person(PROVINCE)[1])
    assert response.status_code == 422 and list(response.get_json()["errors"])[0].startswith("overrides")
    assert client.get("/api/v1/case-policy", headers=person(PROVINCE)[1]).get_json()["is_default"]


# --- the quick start's SQLite: the same clock, the application lock alone ------------------------------

@pytest.fixture
def sqlite_db(tmp_path):
    from hierarchy.codes import ancestors_of, level_of
    from hierarchy.models import Unit
    from hierarchy.scope import Scope
    from tenant_app.auth.models import User
    from tenant_app.db import Database
    from tenant_app.migrate import upgrade

    url = f"sqlite:///{tmp_path}/cases.sqlite3"
    upgrade(url)
    database = Database()
    database.configure(url, None)
    codes = ["44", "4402", "440203", "440203001", "440203001002", "440204"]
    with database.session_scope(Scope(all_tenants=True)) as session:
        for code in codes:
            parent = ancestors_of(code)[-1] if ancestors_of(code) else None
            session.add(Unit(code=code, name=f"单位{code}", level=int(level_of(code)), parent_code=parent))
        session.flush()
        for code in ("440203", "440204"):
            session.add(User(region_code=code, username=f"sq_{code}", role="staff", password_hash="x",
                             real_name=f"用户{code}", phone="13800000000"))
    yield database
    database.engine.dispose()


def test_the_clock_and_the_application_lock_on_sqlite(app, sqlite_db):
    from sqlalchemy import select

    from hierarchy.scope import Scope, scoped
    from tenant_app.auth.models import User
    from tenant_app.cases import reading, reports, workflow
    from tests.cases_factories import report_body

    with app.test_request_context(), scoped(Scope.unit(COUNTY)):
        session = sqlite_db.new_session()
        actor = session.scalars(select(User)).one()
        with clock.frozen(cst(D1, 23, 30)):
            body = report_body()
            body["occurred_at"] = datetime.fromisoformat(body["occurred_at"])
            case = reports.file_report(session, actor, body)
            session.commit()
            assert reading.read_case(session, actor, case.id)["due_at_cst"] == "2026-12-02 23:30"
        with clock.frozen(cst(D2, 0, 30)):
            workflow.accept(session, actor, case.id, {"version": case.version})
            session.commit()
        with clock.frozen(cst(D6, 0, 0)):
            items, total = reading.list_cases(session, actor)
        assert total == 1 and (items[0]["step"], items[0]["due_at_cst"], items[0]["overdue"]) == (
            "assessment", "2026-12-06 00:00", True)
        with clock.frozen(cst(D5, 23, 59)):
            assert reading.list_cases(session, actor)[0][0]["overdue"] is False
        session.close()
    with app.test_request_context(), scoped(Scope.unit("440204")):
        session = sqlite_db.new_session()
        sibling = session.scalars(select(User)).one()
        assert reading.list_cases(session, sibling) == ([], 0)
        session.close()


# --- follow-up visits, spaced by the risk level -----------------------------------------------------------

def _act(post_case, case: dict, action_kind: str, unit: str = COUNTY, **payload) -> dict:
    response = post_case(case["id"], "actions", {"kind": action_kind, action_kind: payload}, unit=unit)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _to_help_plan(file_report, post_case, risk: str, day: date) -> dict:
    """A normal case accepted, assessed at `risk` and given its help plan, all on `day` (CST)."""
    with clock.frozen(cst(day, 9)):
        case = file_report()
        case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
        case = post_case(case["id"], "advance", {"version": case["version"], "to": "assessment"}).get_json()
        case = _act(post_case, case, "assessment", safety="fair", guardianship_capacity="fair",
                    physical_health="good", mental_health="good", risk_level=risk)
        response = post_case(case["id"], "advance", {"version": case["version"], "to": "help_plan"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(("risk", "days"), [("high", 7), ("medium", 15), ("low", 30)])
def test_the_first_follow_up_visit_is_due_by_the_risk_level(file_report, post_case, get_case, risk, days):
    case = _to_help_plan(file_report, post_case, risk, D1)
    last_day = D1 + timedelta(days=days)
    assert _clock(case) == ("follow_up_visit", f"{last_day + timedelta(days=1)} 00:00", last_day.isoformat(), False)
    assert _at(get_case, case["id"], cst(last_day, 23, 59))["overdue"] is False
    assert _at(get_case, case["id"], cst(last_day + timedelta(days=1), 0, 0))["overdue"] is True


def test_each_visit_restarts_the_interval_from_its_own_day(file_report, post_case, get_case):
    case = _to_help_plan(file_report, post_case, "high", D1)
    with clock.frozen(cst(D1 + timedelta(days=2), 10)):
        case = _act(post_case, case, "help_service", kind="back_to_school", owner_unit=TOWNSHIP,
                    due_on=(D1 + timedelta(days=30)).isoformat())
        case = post_case(case["id"], "advance", {"version": case["version"], "to": "follow_up"}).get_json()
    assert case["stage"] == "follow_up" and case["due_on_cst"] == (D1 + timedelta(days=7)).isoformat()
    # Late: the visit of day 9 is recorded on day 10; the next is due 7 days after the visit, not the record.
    visit_day = D1 + timedelta(days=9)
    assert _at(get_case, case["id"], cst(visit_day, 12))["overdue"] is True
    with clock.frozen(cst(visit_day + timedelta(days=1), 10)):
        case = _act(post_case, case, "follow_up_visit", unit=VILLAGE, visited_on=visit_day.isoformat(),
                    findings="已返校，由舅舅照料")
    assert (case["step"], case["due_on_cst"], case["overdue"]) == (
        "follow_up_visit", (visit_day + timedelta(days=7)).isoformat(), False)
    # An older visit recorded afterwards does not move the clock back.
    with clock.frozen(cst(visit_day + timedelta(days=1), 11)):
        case = _act(post_case, case, "follow_up_visit", visited_on=(D1 + timedelta(days=3)).isoformat(),
                    findings="补录")
    assert case["due_on_cst"] == (visit_day + timedelta(days=7)).isoformat()
    # Closed: the clock stops.
    with clock.frozen(cst(visit_day + timedelta(days=2), 9)):
        closed = post_case(case["id"], "close", {"version": case["version"], "outcome": "placed",
                                                 "summary": "已妥善安置"}).get_json()
    assert (closed["step"], closed["due_at"]) == (None, None)


def test_the_province_sets_the_follow_up_intervals_and_leaving_them_out_keeps_them(client, person, file_report,
                                                                                  post_case):
    base = {"accept_emergency_hours": 1, "accept_hours": 24, "first_measure_hours": 24, "assessment_days": 3,
            "help_plan_days": 7}
    province = person(PROVINCE)[1]
    saved = client.put("/api/v1/case-policy", json={**base, "follow_up_high_days": 3, "follow_up_low_days": 60,
                                                    "overrides": {"missing": {"follow_up_high_days": 1}}},
                       headers=province)
    assert saved.status_code == 200, saved.get_json()
    assert (saved.get_json()["follow_up_high_days"], saved.get_json()["follow_up_medium_days"],
            saved.get_json()["follow_up_low_days"]) == (3, 15, 60)
    kept = client.put("/api/v1/case-policy", json=base, headers=province).get_json()
    assert (kept["follow_up_high_days"], kept["follow_up_low_days"]) == (3, 60)
    invalid = client.put("/api/v1/case-policy", json={**base, "follow_up_medium_days": 181}, headers=province)
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"follow_up_medium_days"}
    assert client.get("/api/v1/case-policy", headers=province).get_json()["follow_up_medium_days"] == 15
    case = _to_help_plan(file_report, post_case, "high", D1)
    assert case["due_on_cst"] == (D1 + timedelta(days=3)).isoformat()
    low = _to_help_plan(file_report, post_case, "low", D1)
    assert low["due_on_cst"] == (D1 + timedelta(days=60)).isoformat()
