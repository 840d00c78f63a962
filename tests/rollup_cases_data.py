"""Cases for the roll-up's brute-force recount (tests/test_sync_rollup.py): generated rows inserted directly, and
the case indicators recounted in Python from the raw rows, with the clock's rules written out again here
(default limits) rather than taken from tenant_app.cases.deadlines."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from hypothesis import strategies as st
from sqlalchemy import insert, text

from tenant_app import clock
from tenant_app.cases import enums as CE
from tenant_app.cases.models import Case, CaseAction, CaseChild, Report

HELP_KINDS = ("back_to_school", "household_registration", "dibao", "tekun", "counselling")
action_rows = st.tuples(
    st.sampled_from(["guardian_appointed", "temporary_placement", "help_service", "guardianship_intervention",
                     "note"]),
    st.sampled_from(HELP_KINDS), st.sampled_from(["court_revocation", "admonition"]), st.booleans(),
    st.integers(0, 400))
case_rows = st.fixed_dictionaries({
    "village": st.integers(0, 6),
    "category": st.sampled_from(list(CE.CATEGORIES)),
    "reporter": st.sampled_from(list(CE.REPORTER_KINDS)),
    "urgency": st.sampled_from(list(CE.URGENCIES)),
    "stage": st.sampled_from(list(CE.STAGES)),
    "minutes_ago": st.integers(0, 400 * 24 * 60),
    "delay_days": st.integers(0, 45),
    "accept_after": st.integers(0, 3000),
    "measure_after": st.sampled_from([None, 0, 30, 600, 2000]),
    "assessed_days": st.sampled_from([None, 0, 2, 9]),
    "risk": st.sampled_from([None, "low", "medium", "high"]),
    "plan_days": st.sampled_from([None, 1, 6]),  # the help plan, days after the assessment
    "visit_days": st.sampled_from([None, 0, 4, 20]),  # the last follow-up visit, days after the help plan
    "escalation": st.integers(0, 2),
    "actions": st.lists(action_rows, max_size=3),
    "with_child": st.booleans(),
})

# Cases past their help plan, every risk level, a help plan 4 to 39 days old (each risk's interval passed by
# a day), with and without a visit since: an explicit example, as random lists rarely hold many.
FOLLOW_UP_EXAMPLES = [
    {"village": n % 7, "category": "living_alone", "reporter": "staff", "urgency": "normal",
     "stage": ("help_plan", "follow_up")[n % 2], "minutes_ago": days_ago * 24 * 60, "delay_days": 0,
     "accept_after": 0, "measure_after": None, "assessed_days": 0, "risk": risk, "plan_days": 1,
     "visit_days": visit, "escalation": 0, "actions": [], "with_child": False}
    for n, (risk, days_ago, visit) in enumerate(
        (r, d, v) for r in (None, "low", "medium", "high") for d in (5, 9, 17, 32, 40) for v in (None, 4))]


def insert_cases(conn, rows: list[dict], villages, now: datetime) -> list[int]:
    """Reports, cases and timeline entries, as the roll-up will find them; returns the case ids."""
    ids = []
    for row in rows:
        village = villages[row["village"]]
        reported = now - timedelta(minutes=row["minutes_ago"])
        report_id = conn.execute(insert(Report.__table__).returning(Report.__table__.c.id), [{
            "region_code": village, "occurred_village_code": village, "category": row["category"],
            "urgency": row["urgency"], "occurred_at": reported - timedelta(days=row["delay_days"], hours=3),
            "narrative": "测试", "unknown_child_description": "", "reporter_kind": row["reporter"],
            "reporter_unit_code": village[:6], "filed_at": reported}]).scalar_one()
        accepted = None if row["stage"] in ("reported", "screened_out") else reported + timedelta(
            minutes=row["accept_after"])
        measure = (reported + timedelta(minutes=row["measure_after"])
                   if accepted is not None and row["measure_after"] is not None else None)
        assessed = (accepted + timedelta(days=row["assessed_days"])
                    if accepted is not None and row["assessed_days"] is not None else None)
        planned = (assessed + timedelta(days=row["plan_days"])
                   if assessed is not None and row["plan_days"] is not None
                   and row["stage"] in CE.FOLLOW_UP_STAGES + ("closed",) else None)
        visited = None
        if planned is not None and row["visit_days"] is not None:
            day = (planned + timedelta(days=row["visit_days"])).astimezone(clock.CST).date()
            visited = datetime.combine(day, time(), clock.CST)
        case_id = conn.execute(insert(Case.__table__).returning(Case.__table__.c.id), [{
            "region_code": village, "township_code": village[:9], "county_code": village[:6],
            "province_code": village[:2], "report_id": report_id, "category": row["category"],
            "urgency": row["urgency"], "stage": row["stage"], "reported_at": reported, "cycle_started_at": reported,
            "accepted_at": accepted, "first_measure_at": measure, "assessed_at": assessed,
            "help_plan_at": planned, "last_follow_up_at": visited, "risk_level": row["risk"],
            "escalation_level": row["escalation"], "version": 1, "updated_at": reported}]).scalar_one()
        ids.append(case_id)
        child_id = conn.execute(text("SELECT min(id) FROM children WHERE region_code = :v"), {"v": village}).scalar()
        if row.get("with_child") and child_id is not None:
            conn.execute(insert(CaseChild.__table__), [{"case_id": case_id, "child_id": child_id,
                                                       "region_code": village}])
        actions = [{"case_id": case_id, "region_code": village, "kind": kind, "stage": row["stage"],
                    "data": _action_data(kind, help_kind, measure_kind, done, now - timedelta(days=days)),
                    "note": "", "by_unit_code": village[:6], "at": now - timedelta(days=days)}
                   for kind, help_kind, measure_kind, done, days in row["actions"]]
        if actions:
            conn.execute(insert(CaseAction.__table__), actions)
    return ids


def _action_data(kind, help_kind, measure_kind, done, at) -> dict:
    day = at.astimezone(clock.CST).date().isoformat()
    if kind == "help_service":
        return {"kind": help_kind, "owner_unit": "440203", "due_on": day, **({"done_on": day} if done else {})}
    if kind == "guardianship_intervention":
        return {"measure": measure_kind, "grounds": "测试", **({"decided_on": day} if done else {})}
    return {}


def _end_of_days_after(moment: datetime, days: int) -> datetime:
    day = moment.astimezone(clock.CST).date() + timedelta(days=days + 1)
    return datetime.combine(day, time(), clock.CST)


def _due(case) -> datetime | None:
    if case.stage == "reported":
        return case.cycle_started_at + timedelta(hours=1 if case.urgency == "emergency" else 24)
    if case.stage in ("help_plan", "follow_up"):
        if case.help_plan_at is None:
            return None
        interval = {"high": 7, "low": 30}.get(case.risk_level, 15)  # days between follow-up visits
        return _end_of_days_after(case.last_follow_up_at or case.help_plan_at, interval)
    if case.stage not in ("accepted", "emergency", "assessment"):
        return None
    if case.urgency == "emergency" and case.first_measure_at is None:
        return case.cycle_started_at + timedelta(hours=24)
    if case.assessed_at is None:
        return _end_of_days_after(case.accepted_at, 3) if case.accepted_at else None
    return _end_of_days_after(case.assessed_at, 7)


def _minutes(later, earlier) -> int:
    return round((later - earlier).total_seconds() / 60)


def _action_key(action) -> str | None:
    data = action.data or {}
    if action.kind == "guardian_appointed":
        return "outcome_guardianship_arranged"
    if action.kind == "temporary_placement":
        return "outcome_temporary_placements"
    if action.kind == "help_service" and data.get("done_on"):
        return {"back_to_school": "outcome_back_to_school", "household_registration": "outcome_household_registered",
                "dibao": "outcome_assistance_enrolled", "tekun": "outcome_assistance_enrolled"}.get(data["kind"])
    if action.kind == "guardianship_intervention" and data.get("measure") == "court_revocation" \
            and data.get("decided_on"):
        return "outcome_guardianship_revoked"
    return None


def found_living_alone(conn) -> dict[int, object]:
    """{child id: CST day of the latest open living-alone report naming the child}."""
    found = {}
    for row in conn.execute(text("SELECT cc.child_id, c.reported_at FROM case_children cc JOIN cases c "
                                 "ON c.id = cc.case_id WHERE c.category = 'living_alone' AND c.stage NOT IN "
                                 "('closed', 'screened_out')")):
        day = row.reported_at.astimezone(clock.CST).date()
        found[row.child_id] = max(found.get(row.child_id, day), day)
    return found


def recount_cases(conn, figures: dict, now: datetime) -> None:
    """Add the case indicators to `figures` ({unit: {key: value}}), every level, from the raw rows."""
    year_start = datetime(now.astimezone(clock.CST).year, 1, 1, tzinfo=clock.CST)
    medians: dict[tuple[str, str], list[int]] = {}

    def add(code: str, key: str) -> None:
        for n in (2, 4, 6, 9, 12):
            if code[:n] in figures:
                figures[code[:n]][key] += 1

    rows = conn.execute(text("SELECT c.*, r.reporter_kind, r.filed_at, r.occurred_at FROM cases c "
                             "JOIN reports r ON r.id = c.report_id")).all()
    for case in rows:
        if case.reported_at >= year_start:
            add(case.region_code, "case_reports")
            add(case.region_code, f"case_reports_{case.category}")
            add(case.region_code, f"case_reporter_{case.reporter_kind}")
            delay = (case.filed_at.astimezone(clock.CST).date() - case.occurred_at.astimezone(clock.CST).date()).days
            band = "0_3" if delay <= 3 else "4_14" if delay <= 14 else "15_30" if delay <= 30 else "31_over"
            add(case.region_code, f"case_delay_{band}")
            for key, moment in (("case_accept_minutes_median", case.accepted_at),
                                ("case_measure_minutes_median", case.first_measure_at)):
                if moment is not None:
                    for n in (2, 4, 6, 9, 12):
                        medians.setdefault((case.region_code[:n], key), []).append(
                            _minutes(moment, case.reported_at))
        if case.stage in CE.OPEN_STAGES:
            add(case.region_code, "cases_open")
            add(case.region_code, f"cases_open_{case.stage}")
            due = _due(case)
            if due is not None and due <= now:
                add(case.region_code, "cases_overdue")
            if case.escalation_level >= 1:
                add(case.region_code, "cases_escalated")
    for (code, key), values in medians.items():
        if code in figures:
            values.sort()
            figures[code][key] = values[(len(values) + 1) // 2 - 1]
    for action in conn.execute(text("SELECT * FROM case_actions")):
        key = _action_key(action)
        if key and action.at >= year_start:
            add(action.region_code, key)
