"""The assessment (考核): the league table and a unit's figures over the API, a score that follows the scheme's
weights and a late submission, the scheme's field errors with nothing written, isolation (a sibling county sees
nothing: 404) and partner refusal."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hierarchy.scope import Scope, scoped
from tenant_app import clock
from tenant_app.assessment import indicators as I
from tenant_app.campaigns.models import Task
from tenant_app.db import db
from tests import cases_factories, roster_factories, tasks_factories
from tests.cases_factories import COUNTY, OTHER_COUNTY, PROVINCE, TOWNSHIP, problem

person = cases_factories.person
make_campaign = tasks_factories.make_campaign
roster = roster_factories.roster

TODAY = clock.today_cst()
OTHER_TOWNSHIP = "440203002"
PERIOD = {"period_start": (TODAY - timedelta(days=60)).isoformat(), "period_end": TODAY.isoformat()}


def _submit(task_id: int, days_after_due: int) -> None:
    """Mark a task submitted `days_after_due` days after its due date (negative: before), directly."""
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            task = session.get(Task, task_id)
            day = task.due_on + timedelta(days=days_after_due)
            task.status = "submitted"
            task.submitted_at = datetime.combine(day, time(10), clock.CST).astimezone(clock.UTC)
            session.commit()
        finally:
            session.close()


def _detail(client, headers, code: str = TOWNSHIP, **query) -> dict:
    response = client.get(f"/api/v1/assessments/{code}", headers=headers, query_string={**PERIOD, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _line(detail: dict, key: str) -> dict:
    return next(line for line in detail["lines"] if line["key"] == key)


def test_league_of_a_countys_townships(client, person):
    headers = person(COUNTY)[1]
    response = client.get("/api/v1/assessments", headers=headers, query_string=PERIOD)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["unit"]["code"] == COUNTY and body["level"] == 4
    assert body["total"] == len(body["rows"]) > 1 and all(len(r["code"]) == 9 for r in body["rows"])
    assert {r["code"] for r in body["rows"]} >= {TOWNSHIP, OTHER_TOWNSHIP}
    # Training records exist: every indicator is scored, nothing is left out.
    assert body["left_out"] == [] and body["notes"] == []
    # Every line links to the figures behind it, for the same period.
    detail = client.get(body["rows"][0]["detail"], headers=headers).get_json()
    assert detail["code"] == body["rows"][0]["code"] and detail["total_score"] == body["rows"][0]["total"]
    assert detail["rank"] == body["rows"][0]["rank"] and detail["period_start"] == PERIOD["period_start"]
    ranks = [r["rank"] for r in body["rows"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # A level below: every village of the county, paginated.
    villages = client.get("/api/v1/assessments", headers=headers,
                          query_string={**PERIOD, "level": 5, "per_page": 10}).get_json()
    assert villages["level"] == 5 and villages["total"] > 10 and len(villages["rows"]) == 10
    # A level at or above the assessing unit is a field error.
    problem(client.get("/api/v1/assessments", headers=headers, query_string={"level": 3}), 422, "level")
    problem(client.get("/api/v1/assessments", headers=headers,
                       query_string={"period_start": "2026-05-01", "period_end": "2026-04-01"}), 422, "period_end")


def test_a_weight_and_a_late_submission_change_the_score(client, person, make_campaign):
    county = person(COUNTY)[1]
    province = person(PROVINCE)[1]
    villages = tasks_factories.VILLAGES  # three villages of TOWNSHIP
    made = make_campaign(villages=villages, due_on=TODAY - timedelta(days=5))
    for code in villages:
        _submit(made.tasks[code], -1)
    before = _detail(client, county)
    on_time = _line(before, "campaign_on_time")
    assert before["counts"]["tasks"] == 3 and on_time["value"] == 1.0 and on_time["score"] == 100.0
    assert _line(before, "campaign_completion")["score"] == 100.0
    # No one in post: training coverage has nothing to measure, and its weight is shared out.
    assert _line(before, "training_coverage")["available"] is True
    assert _line(before, "training_coverage")["score"] is None
    assert _line(before, "training_coverage")["contribution"] is None
    contributions = sum(line["contribution"] or 0 for line in before["lines"])
    assert abs(contributions - before["total_score"]) < 0.05

    # One task submitted a day late: the on-time rate falls to 2/3, and with it the total.
    _submit(made.tasks[villages[0]], 1)
    late = _detail(client, county)
    assert _line(late, "campaign_on_time")["value"] == round(2 / 3, 10) or \
        abs(_line(late, "campaign_on_time")["value"] - 2 / 3) < 1e-9
    assert abs(_line(late, "campaign_on_time")["score"] - 66.67) < 0.01
    assert late["total_score"] < before["total_score"]

    # The province puts all the weight on the on-time rate: the total becomes that sub-score.
    weights = dict.fromkeys(I.KEYS, 0) | {"campaign_on_time": 100}
    response = client.put("/api/v1/assessment-scheme", headers=province,
                          json={"year": TODAY.year, "weights": weights})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["is_default"] is False
    weighted = _detail(client, county)
    assert weighted["weights"]["campaign_on_time"] == 100
    assert abs(weighted["total_score"] - 66.67) < 0.01 and weighted["total_score"] != late["total_score"]
    assert _line(weighted, "campaign_on_time")["effective_weight"] == 100.0
    # Every unit of the province reads the scheme (the row is its ancestor), in both locks.
    read = client.get("/api/v1/assessment-scheme", headers=county).get_json()
    assert read["weights"] == weights and read["is_default"] is False


def test_scheme_field_errors_write_nothing(client, person, scoped_sql):
    province = person(PROVINCE)[1]

    def put(weights, status, *fields):
        response = client.put("/api/v1/assessment-scheme", headers=province, json={"weights": weights})
        return problem(response, status, *fields)

    good = dict(I.DEFAULT_WEIGHTS)
    body = put(good | {"unattended": 101}, 422, "weights.unattended")
    assert "0" in body["errors"]["weights.unattended"][0] and "/" in body["errors"]["weights.unattended"][0]
    put(good | {"unattended": -1, "case_response": 200}, 422, "weights.unattended", "weights.case_response")
    put({k: v for k, v in good.items() if k != "case_overdue"}, 422, "weights.case_overdue")
    body = put(good | {"unattended": good["unattended"] + 1}, 422, "weights")
    assert "101" in str(body["errors"]["weights"])
    put(good | {"unattended": "十"}, 422, "weights.unattended")
    put(good | {"unknown": 1}, 422, "weights.unknown")
    assert scoped_sql(PROVINCE, "SELECT count(*) FROM assessment_schemes")[0][0] == 0
    # Only the province's staff set it.
    response = client.put("/api/v1/assessment-scheme", headers=person(COUNTY)[1], json={"weights": good})
    assert response.status_code == 403
    response = client.put("/api/v1/assessment-scheme", headers=person(PROVINCE, "viewer")[1], json={"weights": good})
    assert response.status_code == 403
    assert scoped_sql(PROVINCE, "SELECT count(*) FROM assessment_schemes")[0][0] == 0
    default = client.get("/api/v1/assessment-scheme", headers=province).get_json()
    assert default["is_default"] is True and default["weights"] == I.DEFAULT_WEIGHTS
    assert sum(default["weights"].values()) == 100


def test_a_sibling_county_sees_nothing(client, person, make_user, token_for):
    sibling = person(OTHER_COUNTY)[1]
    for path in (f"/api/v1/assessments/{TOWNSHIP}", f"/api/v1/assessments/{TOWNSHIP}/trend",
                 f"/api/v1/assessments/{COUNTY}"):
        problem(client.get(path, headers=sibling), 404)
    problem(client.get("/api/v1/assessments", headers=sibling, query_string={"unit": COUNTY}), 404)
    problem(client.get(f"/api/v1/assessments/{TOWNSHIP}", headers=sibling, query_string={"unit": COUNTY}), 404)
    # Its own league names none of the county's units.
    rows = client.get("/api/v1/assessments", headers=sibling).get_json()["rows"]
    assert rows and all(r["code"].startswith(OTHER_COUNTY) for r in rows)
    # A unit of the caller's own level or above is not in a set it assesses.
    problem(client.get(f"/api/v1/assessments/{COUNTY}", headers=person(COUNTY)[1]), 404)
    # Villages assess nobody; partner reporters are refused everything.
    problem(client.get("/api/v1/assessments", headers=person(tasks_factories.VILLAGE)[1]), 403)
    partner = token_for(make_user(TOWNSHIP, "reporter").username)
    for path in ("/api/v1/assessments", f"/api/v1/assessments/{TOWNSHIP}", "/api/v1/assessment-scheme"):
        assert client.get(path, headers=partner).status_code == 403


def test_trend_per_month(client, person, make_campaign):
    made = make_campaign(villages=tasks_factories.VILLAGES, due_on=TODAY.replace(day=1))
    _submit(made.tasks[tasks_factories.VILLAGE], 2)
    body = client.get(f"/api/v1/assessments/{TOWNSHIP}/trend", headers=person(COUNTY)[1]).get_json()
    assert body["code"] == TOWNSHIP and body["year"] == TODAY.year
    assert [p["month"] for p in body["points"]][-1] == TODAY.strftime("%Y-%m")
    assert len(body["points"]) == TODAY.month
    assert all(p["total"] is None or 0 <= p["total"] <= 100 for p in body["points"])
    # This month's point is the unit's score for the month's period, as its detail gives it.
    month = _detail(client, person(COUNTY)[1], period_start=TODAY.replace(day=1).isoformat())
    assert body["points"][-1]["total"] == month["total_score"]
    assert body["points"][-1]["scores"]["campaign_on_time"] == 0.0


def test_training_coverage_counts_the_people_in_post_who_attended(client, person, roster):
    from tenant_app.training.models import Attendance, Course

    county = person(COUNTY)[1]
    director, _ = roster(tasks_factories.VILLAGE, appointed_on="2025-01-01")
    roster(tasks_factories.SIBLING, appointed_on="2025-01-01")
    untrained = _line(_detail(client, county), "training_coverage")
    assert untrained["value"] == 0.0 and untrained["score"] == 0.0
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            ends = TODAY - timedelta(days=3)
            course = Course(region_code=COUNTY, title="儿童主任培训", level="county", topic="policy",
                            starts_on=ends - timedelta(days=1), ends_on=ends, hours=8)
            session.add(course)
            session.flush()
            session.add(Attendance(region_code=tasks_factories.VILLAGE, course_id=course.id,
                                   person_id=director["id"], course_ends_on=ends, attended=True, hours_credited=8))
            session.commit()
        finally:
            session.close()
    detail = _detail(client, county)
    trained = _line(detail, "training_coverage")
    assert detail["counts"]["training_people"] == 2 and detail["counts"]["trained"] == 1
    assert trained["value"] == 0.5 and trained["score"] == 50.0 and trained["contribution"] > 0
    # A course that ended before the period does not count in it.
    earlier = _line(_detail(client, county, period_end=(TODAY - timedelta(days=5)).isoformat()), "training_coverage")
    assert earlier["score"] == 0.0
