"""The training figures of a unit (share of directors and supervisors in post trained this CST year, hours per
person) against a brute-force recount in Python of the same rows, on random rosters, at every level."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from hierarchy.scope import Scope, apply_db_scope, scoped
from tenant_app import clock
from tenant_app.training import figures
from tests.rollup_roster_data import insert_roster, roster_rows

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
TODAY = date(2026, 6, 15)
UNITS = ("440203001002", "440203001003", "440203100201", "440204001001", "440203001", "440203100", "440204001",
         "440204002", "440203001004", "440203100202")
CODES = ("44", "4402", "440203", "440204", "440203001", "440203001002", "440204001001", "440203100")
HEALTH = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@pytest.fixture
def jobs(db_connection):
    with scoped(Scope(all_tenants=True)):
        apply_db_scope(db_connection, Scope(all_tenants=True))
        yield db_connection


def brute_force(conn, code: str, today: date) -> dict:
    hours: dict[int, int] = defaultdict(int)
    trained: set[int] = set()
    for row in conn.execute(text("SELECT person_id, attended, hours_credited, course_ends_on "
                                 "FROM training_attendance")):
        if row.attended and row.course_ends_on.year == today.year:
            trained.add(row.person_id)
            hours[row.person_id] += row.hours_credited
    counts = {post: [0, 0, 0] for post in ("director", "supervisor")}
    for a in conn.execute(text("SELECT region_code, post, person_id, appointed_on, left_on "
                               "FROM roster_appointments")):
        if a.region_code.startswith(code) and a.appointed_on <= today and (a.left_on is None or a.left_on > today):
            entry = counts[a.post]
            entry[0] += 1
            entry[1] += a.person_id in trained
            entry[2] += hours[a.person_id]
    result = {"unit_code": code, "year": today.year}
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    for key, (in_post, n_trained, n_hours) in (*counts.items(), ("total", total)):
        result[key] = {"in_post": in_post, "trained": n_trained, "hours": n_hours,
                       "share_trained": round(n_trained / in_post, 4) if in_post else None,
                       "hours_per_person": round(n_hours / in_post, 2) if in_post else None}
    return result


@given(rows=st.lists(roster_rows, max_size=12))
@HEALTH
def test_training_figures_match_a_brute_force_recount(jobs, rows):
    with jobs.begin_nested() as savepoint, clock.frozen(NOW):
        insert_roster(jobs, rows, UNITS, TODAY, NOW)
        for code in CODES:
            assert figures.compute(jobs, code, TODAY) == brute_force(jobs, code, TODAY), code
        savepoint.rollback()


def test_no_one_in_post_gives_no_share(jobs):
    result = figures.compute(jobs, "440299", TODAY)  # a subtree without units
    assert result["total"] == {"in_post": 0, "trained": 0, "share_trained": None, "hours": 0,
                               "hours_per_person": None}
