"""Roster and training rows for the roll-up's brute-force recount (tests/test_sync_rollup.py): generated
appointments and attendance inserted directly, and the roster indicators recounted in Python from the raw rows,
with the rules written out again here (in post, vacant since, trained this CST year)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

from hypothesis import strategies as st
from sqlalchemy import insert, text

from tenant_app import clock
from tenant_app.training.models import Attendance, Course
from tenant_app.workforce.models import Appointment, RosterPerson

_SEQ = itertools.count(1)
attendance_rows = st.tuples(st.sampled_from([-400, -200, -30, 0, 20, 300]), st.booleans(), st.integers(0, 40))
roster_rows = st.fixed_dictionaries({
    "unit": st.integers(0, 9),  # an index into the villages, then the townships
    "appointed_days": st.sampled_from([-5, 0, 30, 200, 700]),  # days before today (negative: in the future)
    "stay_days": st.sampled_from([None, None, 0, 10, 100, 800]),  # days held before leaving; None: still held
    "courses": st.lists(attendance_rows, max_size=3),
})


def _stamps(now) -> dict:
    return {"version": 1, "created_at": now, "updated_at": now}


def insert_roster(conn, rows: list[dict], units, today: date, now) -> set[str]:
    """A person per row, appointed to the row's unit's post; an attendance (and a course of the county) per
    course entry. A unit whose post is already held open gets a departure on the day of appointment."""
    touched: set[str] = set()
    held = {r.region_code for r in conn.execute(text(
        "SELECT region_code FROM roster_appointments WHERE left_on IS NULL"))}
    for row in rows:
        unit = units[row["unit"] % len(units)]
        n = next(_SEQ)
        person_id = conn.execute(insert(RosterPerson.__table__).returning(RosterPerson.__table__.c.id), [{
            "region_code": unit, "province_code": unit[:2], "name": f"人员{n}", "sex": "male",
            "id_number": f"R{n:017d}", "phone": "", "qualifications": "", **_stamps(now)}]).scalar_one()
        appointed = today - timedelta(days=row["appointed_days"])
        stay = row["stay_days"]
        if stay is None and unit in held:
            stay = 0
        left = appointed + timedelta(days=stay) if stay is not None else None
        if left is None:
            held.add(unit)
        conn.execute(insert(Appointment.__table__), [{
            "region_code": unit, "person_id": person_id, "post": "director" if len(unit) == 12 else "supervisor",
            "employment": "part_time", "other_post": "", "appointed_on": appointed, "left_on": left,
            "leave_reason": "", **_stamps(now)}])
        for ends_in, attended, hours in row["courses"]:
            ends = today + timedelta(days=ends_in)
            course_id = conn.execute(insert(Course.__table__).returning(Course.__table__.c.id), [{
                "region_code": unit[:6], "title": "培训", "level": "county", "topic": "policy", "starts_on": ends,
                "ends_on": ends, "hours": 8, "note": "", **_stamps(now)}]).scalar_one()
            conn.execute(insert(Attendance.__table__), [{
                "region_code": unit, "course_id": course_id, "person_id": person_id, "course_ends_on": ends,
                "course_title": "培训", "attended": attended, "hours_credited": hours if attended else 0,
                "passed": attended, "certificate_no": "", **_stamps(now)}])
        touched.add(unit)
    return touched


def recount_roster(conn, figures: dict, today: date) -> None:
    """Add the roster indicators to `figures` ({code: {key: value}}), every ancestor of each unit too."""

    def add(code: str, key: str, amount: int = 1) -> None:
        for n in (2, 4, 6, 9, 12):
            if len(code) >= n and code[:n] in figures:
                figures[code[:n]][key] += amount

    hours: dict[int, int] = defaultdict(int)
    trained: set[int] = set()
    for row in conn.execute(text("SELECT person_id, attended, hours_credited, course_ends_on "
                                 "FROM training_attendance")):
        if row.attended and row.course_ends_on.year == today.year:
            trained.add(row.person_id)
            hours[row.person_id] += row.hours_credited
    appointments = defaultdict(list)
    for row in conn.execute(text("SELECT region_code, post, person_id, appointed_on, left_on "
                                 "FROM roster_appointments")):
        appointments[(row.region_code, row.post)].append(row)
    for unit in conn.execute(text("SELECT code, level, retired, created_at FROM units")):
        if unit.retired or unit.level not in (4, 5):
            continue
        post = "director" if unit.level == 5 else "supervisor"
        rows = appointments[(unit.code, post)]
        holders = [a for a in rows if a.appointed_on <= today and (a.left_on is None or a.left_on > today)]
        if holders:
            add(unit.code, "directors_in_post" if post == "director" else "supervisors_in_post")
        else:
            add(unit.code, "villages_vacant" if post == "director" else "townships_vacant")
            left = [a.left_on for a in rows if a.left_on is not None and a.left_on <= today]
            since = max(left) if left else unit.created_at.astimezone(clock.CST).date()
            add(unit.code, "vacancy_days", max((today - since).days, 0))
        if any(a.person_id in trained for a in holders):
            add(unit.code, "trained_this_year")
        add(unit.code, "training_hours", sum(hours[a.person_id] for a in holders))
