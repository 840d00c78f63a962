"""The escalation job with a frozen clock: a step past its limit notifies the county and the city once, a further
limit the province once, however often the job runs; the next step starts again at level 0; the case shows its
level; the roll-up counts overdue and escalated cases after the job; the province's own limits apply; the
worker queues the job once per slot; a child a report finds living alone is due a visit at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sync.jobs import run_scoped
from tenant_app import clock
from tenant_app.clock import CST
from tests import cases_factories
from tests.cases_factories import CITY, COUNTY, PROVINCE, TOWNSHIP, VILLAGE

person = cases_factories.person
file_report = cases_factories.file_report
new_child = cases_factories.new_child
post_case = cases_factories.post_case
get_case = cases_factories.get_case

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=CST)


def escalate_at(moment: datetime) -> dict:
    with clock.frozen(moment):
        return run_scoped("tenant_app.cases.escalation.run", None, True)


def notices(scoped_sql, case_id: int) -> dict[str, int]:
    """Escalation notifications of one case per receiving unit (read as the province: its whole subtree)."""
    rows = scoped_sql(PROVINCE, "SELECT region_code, count(*) FROM notifications WHERE kind = 'case_overdue' "
                                "AND link = :link GROUP BY region_code", link=f"/cases/{case_id}")
    return {code: count for code, count in rows}


def test_an_overdue_acceptance_escalates_once_per_level_however_often_the_job_runs(
        app, file_report, get_case, post_case, scoped_sql):
    with clock.frozen(T0):
        case = file_report(urgency="emergency")
    assert escalate_at(T0 + timedelta(minutes=59))["notifications"] == 0
    assert notices(scoped_sql, case["id"]) == {}
    # The hour to accept has passed: the county and the city are told, once.
    first = escalate_at(T0 + timedelta(hours=1))
    assert first["cases"] >= 1 and first["notifications"] >= 2
    escalate_at(T0 + timedelta(hours=1, minutes=5))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1}
    with clock.frozen(T0 + timedelta(hours=1, minutes=6)):
        shown = get_case(case["id"], unit=PROVINCE)
    assert shown["escalation_level"] == 1 and shown["overdue"] is True
    # A further limit (a second hour) has passed: the province too, once.
    escalate_at(T0 + timedelta(hours=2))
    escalate_at(T0 + timedelta(hours=3))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1, PROVINCE: 1}
    with clock.frozen(T0 + timedelta(hours=3)):
        assert get_case(case["id"], unit=CITY)["escalation_level"] == 2
    # Accepted: the next step (first emergency measure within 24 hours of filing) starts again at level 0.
    with clock.frozen(T0 + timedelta(hours=3, minutes=10)):
        accepted = post_case(case["id"], "accept", {"version": get_case(case["id"])["version"]})
    assert accepted.status_code == 200, accepted.get_json()
    escalate_at(T0 + timedelta(hours=4))
    with clock.frozen(T0 + timedelta(hours=4)):
        assert get_case(case["id"])["escalation_level"] == 0
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1, PROVINCE: 1}
    # 24 hours after filing the measure is overdue: its own level 1, the county and the city told again.
    escalate_at(T0 + timedelta(hours=24))
    escalate_at(T0 + timedelta(hours=25))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 2, CITY: 2, PROVINCE: 1}
    # The notification names the category and the step, never the narrative.
    title = scoped_sql(COUNTY, "SELECT title FROM notifications WHERE kind = 'case_overdue' ORDER BY id DESC "
                               "LIMIT 1")[0][0]
    assert "首次应急处置" in title and "脱离监护单独居住" in title and "邻居" not in title


def test_a_village_and_a_township_are_not_notified_and_a_sibling_county_sees_nothing(
        app, file_report, scoped_sql):
    with clock.frozen(T0):
        case = file_report()
    escalate_at(T0 + timedelta(hours=49))  # past 24 hours and a further 24
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1, PROVINCE: 1}
    assert scoped_sql(TOWNSHIP, "SELECT count(*) FROM notifications WHERE link = :l",
                      l=f"/cases/{case['id']}")[0][0] == 0
    assert scoped_sql(VILLAGE, "SELECT count(*) FROM notifications WHERE link = :l",
                      l=f"/cases/{case['id']}")[0][0] == 0
    assert scoped_sql("440204", "SELECT count(*) FROM notifications WHERE link = :l",
                      l=f"/cases/{case['id']}")[0][0] == 0


def test_the_roll_up_counts_overdue_and_escalated_cases_after_the_job(app, file_report, scoped_sql):
    with clock.frozen(T0):
        file_report()
    escalate_at(T0 + timedelta(hours=25))
    overdue, escalated, open_cases = scoped_sql(
        COUNTY, "SELECT cases_overdue, cases_escalated, cases_open FROM unit_stats WHERE unit_code = :c",
        c=COUNTY)[0]
    assert overdue >= 1 and escalated >= 1 and open_cases >= escalated


def test_the_provinces_own_limit_decides_when_a_step_escalates(app, file_report, person, client, scoped_sql):
    policy = {"accept_emergency_hours": 2, "accept_hours": 48, "first_measure_hours": 24, "assessment_days": 3,
              "help_plan_days": 7, "overrides": {}}
    response = client.put("/api/v1/case-policy", json=policy, headers=person(PROVINCE)[1])
    assert response.status_code == 200, response.get_json()
    with clock.frozen(T0):
        case = file_report()
    escalate_at(T0 + timedelta(hours=30))
    assert notices(scoped_sql, case["id"]) == {}
    escalate_at(T0 + timedelta(hours=48))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1}


def test_the_escalation_command_runs_the_job_once(app, file_report, scoped_sql):
    from tenant_app.cli import main

    with clock.frozen(T0):
        case = file_report(urgency="emergency")
    with clock.frozen(T0 + timedelta(hours=1)):
        result = app.test_cli_runner().invoke(main, ["cases", "escalate"])
    assert result.exit_code == 0, result.output
    assert "escalated" in result.output
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1}


def test_the_worker_queues_the_escalation_once_per_five_minute_slot(app, redis_url):
    from rq import Queue

    from sync import queues
    from sync.jobs import redis_connection
    from sync.worker import schedule_escalation

    connection = redis_connection(redis_url)
    connection.flushdb()
    try:
        with clock.frozen(T0):
            job = schedule_escalation(redis_url, connection)
            assert job is not None and job.id.startswith("case-escalation-")
            assert schedule_escalation(redis_url, connection) is None  # another worker, the same slot
        with clock.frozen(T0 + timedelta(minutes=5)):
            assert schedule_escalation(redis_url, connection) is not None
        assert len(Queue(queues.DEFAULT, connection=connection)) == 2
    finally:
        connection.flushdb()


def test_a_child_a_report_finds_living_alone_is_due_a_visit_at_once(app, client, person, new_child, file_report):
    with clock.frozen(T0 - timedelta(days=5)):
        child = new_child(seq="093")
        visited = client.post(f"/api/v1/children/{child['id']}/visits", headers=person(VILLAGE)[1], json={
            "visited_on": (T0 - timedelta(days=5)).date().isoformat(), "met": ["child", "guardian"],
            "findings": "祖父照料尚可。"})
        assert visited.status_code == 201, visited.get_json()

    def due() -> dict:
        with clock.frozen(T0 + timedelta(hours=1)):
            body = client.get("/api/v1/visits/due", query_string={"unit": VILLAGE, "per_page": 500},
                              headers=person(VILLAGE)[1]).get_json()
        return next(item for item in body["items"] if item["child_id"] == child["id"])

    assert due()["status"] != "overdue" and due()["due_on"] > T0.date().isoformat()
    with clock.frozen(T0):
        case = file_report(child_ids=[child["id"]], category="living_alone")
    assert due()["due_on"] == T0.date().isoformat() and due()["days_overdue"] == 0
    # A visit after the report: the usual interval by risk again.
    with clock.frozen(T0 + timedelta(hours=2)):
        visited = client.post(f"/api/v1/children/{child['id']}/visits", headers=person(VILLAGE)[1], json={
            "visited_on": T0.date().isoformat(), "met": ["child"], "findings": "已安排亲属照料。"})
        assert visited.status_code == 201, visited.get_json()
    assert due()["due_on"] > T0.date().isoformat()
    assert case["category"] == "living_alone"


def _act(post_case, case: dict, action_kind: str, unit: str = COUNTY, **payload) -> dict:
    response = post_case(case["id"], "actions", {"kind": action_kind, action_kind: payload}, unit=unit)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_missed_follow_up_visit_escalates_and_a_visit_resets_it(app, file_report, post_case, scoped_sql):
    with clock.frozen(T0):
        case = file_report()
        case = post_case(case["id"], "accept", {"version": case["version"]}).get_json()
        case = post_case(case["id"], "advance", {"version": case["version"], "to": "assessment"}).get_json()
        case = _act(post_case, case, "assessment", safety="fair", guardianship_capacity="fair",
                    physical_health="good", mental_health="good", risk_level="high")
        case = post_case(case["id"], "advance", {"version": case["version"], "to": "help_plan"}).get_json()
        case = _act(post_case, case, "help_service", kind="back_to_school", owner_unit=TOWNSHIP,
                    due_on="2026-12-20")
        case = post_case(case["id"], "advance", {"version": case["version"], "to": "follow_up"}).get_json()
    assert case["step"] == "follow_up_visit"
    # High risk: a visit within 7 CST days (by the end of 8 December); none came.
    escalate_at(datetime(2026, 12, 8, 23, 59, tzinfo=CST))
    assert notices(scoped_sql, case["id"]) == {}
    escalate_at(datetime(2026, 12, 9, 0, 0, tzinfo=CST))
    escalate_at(datetime(2026, 12, 9, 8, 0, tzinfo=CST))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1}
    title = scoped_sql(COUNTY, "SELECT title FROM notifications WHERE kind = 'case_overdue' AND link = :l",
                       l=f"/cases/{case['id']}")[0][0]
    assert "跟踪回访" in title
    # The village visits on 10 December: the step is done, its level back to 0 and nobody is told.
    with clock.frozen(datetime(2026, 12, 10, 15, 0, tzinfo=CST)):
        case = _act(post_case, case, "follow_up_visit", unit=VILLAGE, visited_on="2026-12-10", findings="已返校")
    assert (case["overdue"], case["due_on_cst"]) == (False, "2026-12-17")
    escalate_at(datetime(2026, 12, 10, 16, 0, tzinfo=CST))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 1, CITY: 1}
    assert scoped_sql(COUNTY, "SELECT escalation_level FROM cases WHERE id = :i", i=case["id"])[0][0] == 0
    # The next visit is missed too: the county and the city are told again, and after a further 7 days the
    # province.
    escalate_at(datetime(2026, 12, 18, 0, 0, tzinfo=CST))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 2, CITY: 2}
    escalate_at(datetime(2026, 12, 25, 0, 0, tzinfo=CST))
    assert notices(scoped_sql, case["id"]) == {COUNTY: 2, CITY: 2, PROVINCE: 1}
