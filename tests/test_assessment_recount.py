"""The assessment against a brute-force recount in Python (hypothesis): random appointments, campaign tasks,
children and cases over the villages of a township, scored by the set-based statements, and recounted day by
day and row by row here, with the scoring rules written out again (tenant_app.assessment.indicators)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from hierarchy.models import Unit
from hierarchy.scope import Scope, scoped
from tenant_app import clock
from tenant_app.assessment import indicators as I
from tenant_app.assessment import services
from tenant_app.campaigns.models import Campaign, Task
from tenant_app.cases.models import Case, Report
from tenant_app.children.models import Child
from tenant_app.db import db
from tenant_app.training.models import Attendance, Course
from tenant_app.workforce.models import Appointment, RosterPerson
from tests.roster_factories import adult_id

TOWNSHIP = "440203001"
TODAY = clock.today_cst()
START, END = TODAY - timedelta(days=90), TODAY - timedelta(days=10)
INTERVALS = {"high": 30, "medium": 90, "low": 180}
WEIGHTS = dict(I.DEFAULT_WEIGHTS)

# (gap before, length, a course attended: its end date's offset from the period's end, or None)
appointments = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 60),
                                  st.one_of(st.none(), st.integers(-120, 30))), max_size=3)
tasks = st.lists(st.tuples(st.sampled_from(["pending", "draft", "submitted", "approved", "returned"]),
                           st.integers(-100, 0), st.integers(-3, 3)), max_size=4)  # status, due offset, submitted
children = st.lists(st.tuples(st.booleans(), st.sampled_from(["low", "medium", "high"]), st.integers(0, 200)),
                    max_size=4)  # unattended, risk, created days ago
cases = st.lists(st.tuples(st.integers(0, 120), st.one_of(st.none(), st.integers(1, 5000)), st.booleans()),
                 max_size=3)  # reported days ago, minutes to acceptance, closed
village = st.tuples(appointments, st.booleans(), tasks, children, cases)


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), clock.CST).astimezone(clock.UTC)


def _insert(session, code: str, spec, loaded_on: date) -> dict:
    """Write one village's rows; return its counts recounted in Python."""
    posts, last_open, task_specs, child_specs, case_specs = spec
    counts = dict.fromkeys(("post_days", "vacancy_days", "tasks", "completed", "on_time", "children", "unattended",
                            "visits_overdue", "open_cases", "overdue_steps"), 0) | {"post_units": 1, "filled": 0}
    held_days: set[date] = set()
    day = START - timedelta(days=50)
    first_appointed = None
    in_post_on_end = None
    for index, (gap, length, course_offset) in enumerate(posts):
        appointed = day + timedelta(days=gap)
        left = None if (index == len(posts) - 1 and last_open) else appointed + timedelta(days=length)
        first_appointed = first_appointed or appointed
        person = RosterPerson(region_code=code, province_code="44", name="主任", sex="male", phone="13800000000",
                              id_number=adult_id(area="440203"))
        session.add(person)
        session.flush()
        session.add(Appointment(region_code=code, person_id=person.id, post="director", employment="part_time",
                                appointed_on=appointed, left_on=left))
        trained = False
        if course_offset is not None:
            ends = END + timedelta(days=course_offset)
            course = Course(region_code=code[:9], title="培训", level="township", topic="policy",
                            starts_on=ends - timedelta(days=1), ends_on=ends, hours=8)
            session.add(course)
            session.flush()
            session.add(Attendance(region_code=code, course_id=course.id, person_id=person.id, course_ends_on=ends,
                                   attended=True, hours_credited=8))
            trained = START <= ends <= END
        end = left or END + timedelta(days=1)
        held_days.update(appointed + timedelta(days=i) for i in range((end - appointed).days))
        if appointed <= END and (left is None or left > END):
            counts["filled"] = 1
            in_post_on_end = trained
        day = left or END
    counts["training_people"] = int(in_post_on_end is not None)
    counts["trained"] = int(bool(in_post_on_end))
    known_from = min(loaded_on, first_appointed or loaded_on)
    window = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    window = [d for d in window if d >= known_from]
    counts["post_days"] = len(window)
    counts["vacancy_days"] = sum(1 for d in window if d not in held_days)
    # Tasks of one campaign each (a unit has one task per campaign).
    for status, due_offset, submitted_offset in task_specs:
        due = END + timedelta(days=due_offset)
        done = status in ("submitted", "approved")
        submitted = _at(due + timedelta(days=submitted_offset), 23) if done else None
        campaign = Campaign(issuer_code="44", title="考核测试", directive="d", kind="questionnaire", target_level=5,
                            reviewer_level=4, starts_on=due - timedelta(days=30), due_on=due, questions=[],
                            status="open", task_count=1, published_at=clock.now(), created_at=clock.now())
        session.add(campaign)
        session.flush()
        session.add(Task(campaign_id=campaign.id, region_code=code, reviewer_code=code[:9], due_on=due,
                         status=status, answers={}, submitted_at=submitted))
        if START <= due <= END:
            counts["tasks"] += 1
            counts["completed"] += done
            counts["on_time"] += done and (due + timedelta(days=submitted_offset)) <= due
    for unattended, risk, days_ago in child_specs:
        created = TODAY - timedelta(days=days_ago)
        session.add(Child(region_code=code, province_code="44", name="儿童", sex="male", birth_date=date(2015, 3, 1),
                          risk_level=risk, unattended=unattended, created_at=_at(created)))
        counts["children"] += 1
        counts["unattended"] += unattended
        interval = 0 if unattended else INTERVALS[risk]
        counts["visits_overdue"] += created + timedelta(days=interval) < TODAY
    minutes = []
    now = clock.now()
    for days_ago, accept_minutes, closed in case_specs:
        reported = _at(TODAY - timedelta(days=days_ago), 9)
        report = Report(region_code=code, occurred_village_code=code, category="living_alone", urgency="normal",
                        occurred_at=reported, narrative="n", reporter_kind="school", reporter_unit_code=code[:6],
                        filed_at=reported)
        session.add(report)
        session.flush()
        accepted = reported + timedelta(minutes=accept_minutes) if accept_minutes else None
        stage = "closed" if closed else ("accepted" if accepted else "reported")
        if closed and not accepted:
            stage = "screened_out"
        session.add(Case(region_code=code, township_code=code[:9], county_code=code[:6], province_code="44",
                         report_id=report.id, category="living_alone", urgency="normal", stage=stage,
                         reported_at=reported, cycle_started_at=reported, accepted_at=accepted,
                         closed_at=now if closed else None))
        if _at(START, 0) <= reported < _at(END + timedelta(days=1), 0) and accepted is not None:
            minutes.append(accept_minutes)
        if stage in ("reported", "accepted"):
            counts["open_cases"] += 1
            if stage == "reported":
                due = reported + timedelta(hours=24)
            else:  # the assessment: by the end of the third CST day after the day of acceptance
                due = datetime.combine(clock.cst_day(accepted) + timedelta(days=4), time(), clock.CST)
            counts["overdue_steps"] += due <= now
    ordered = sorted(minutes)
    counts["accept_median"] = ordered[(len(ordered) + 1) // 2 - 1] if ordered else None
    return counts


def _recount_scores(counts: dict[str, dict]) -> dict[str, float | None]:
    """Totals by the documented rules, written out again without the module's helpers."""
    def share(a, b):
        return a / b if b else None

    subs = {}
    for code, c in counts.items():
        s = {"roster_coverage": share(c["filled"], c["post_units"]),
             "vacancy_days": None if not c["post_days"] else 1 - c["vacancy_days"] / c["post_days"],
             "training_coverage": share(c["trained"], c["training_people"]),
             "campaign_completion": share(c["completed"], c["tasks"]),
             "campaign_on_time": share(c["on_time"], c["completed"]),
             "case_overdue": None if not c["open_cases"] else 1 - c["overdue_steps"] / c["open_cases"]}
        subs[code] = {k: None if v is None else 100 * v for k, v in s.items()}
    relative = {"visits_overdue": lambda c: None if not c["children"] else 100 * c["visits_overdue"] / c["children"],
                "unattended": lambda c: None if not c["children"] else 100 * c["unattended"] / c["children"],
                "case_response": lambda c: c["accept_median"]}
    for key, figure in relative.items():
        values = {code: figure(c) for code, c in counts.items()}
        present = [v for v in values.values() if v is not None]
        for code, v in values.items():
            if v is None:
                subs[code][key] = None
            elif max(present) == min(present):
                subs[code][key] = 100.0
            else:
                subs[code][key] = 100 * (max(present) - v) / (max(present) - min(present))
    totals = {}
    for code, s in subs.items():
        scored = {k: v for k, v in s.items() if v is not None}
        weight = sum(WEIGHTS[k] for k in scored)
        totals[code] = sum(WEIGHTS[k] * v for k, v in scored.items()) / weight if weight else None
    return totals


@pytest.fixture
def township(app):
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            unit = session.execute(select(Unit).where(Unit.code == TOWNSHIP)).scalar_one()
            villages = session.execute(select(Unit.code, Unit.created_at).where(
                Unit.parent_code == TOWNSHIP, Unit.retired.is_(False)).order_by(Unit.code)).all()
            session.expunge(unit)
        finally:
            session.close()
    return unit, villages


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(village, min_size=1, max_size=4))
def test_scores_match_a_brute_force_recount(township, specs):
    unit, villages = township
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            expected = {}
            for (code, created_at), spec in zip(villages, specs, strict=False):
                expected[code] = _insert(session, code, spec, clock.cst_day(created_at))
            for code, created_at in villages[len(specs):]:
                expected[code] = _insert(session, code, ([], False, [], [], []), clock.cst_day(created_at))
            assert services.training_available(session)
            session.flush()
            names, counts, scored, _ = services._assess(session, unit, 5, START, END)
            assert set(names) == set(expected)
            for code, want in expected.items():
                got = {k: counts[code][k] for k in want}
                assert got == want, code
            totals = _recount_scores(expected)
            for code, total in totals.items():
                got = scored[code]["total"]
                assert (got is None) == (total is None)
                if total is not None:
                    assert abs(got - total) < 0.011, code
            # Ranks: ties share a rank, and a better total never ranks below a worse one.
            for a in scored.values():
                for b in scored.values():
                    if a["total"] is not None and b["total"] is not None and a["total"] > b["total"]:
                        assert a["rank"] < b["rank"]
                    if a["total"] == b["total"]:
                        assert a["rank"] == b["rank"]
        finally:
            session.rollback()
            session.close()
