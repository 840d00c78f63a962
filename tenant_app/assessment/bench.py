"""`shouhu bench assessment`: the assessment at province scale, on a dedicated PostgreSQL database (it commits).

1. The synthetic province 41 (~52,000 villages) with its children and cases (as `shouhu bench cases` makes
   them, set-based, kept for later runs), and for this bench: a director for nine villages in ten and a
   supervisor for every township (one in ten of them left during the year), a course per county attended by
   two in three of them, and twelve campaigns due one a month this year with a task per village, answered on
   time, late or not at all.
2. The province's assessment of every county over the year (`services.league`, level 3: one grouped statement
   per source over the whole province), best of three, and the same through `GET /api/v1/assessments`.
3. A county's league table page (`/assessment` for county staff: its townships), median and p95.
The roster rows, courses, attendance, campaigns and tasks it adds are removed at the end; the province, its
children and cases stay.
"""

from __future__ import annotations

import statistics
import time
from datetime import date, timedelta

from sqlalchemy import text

from hierarchy.scope import apply_db_scope, job_scope
from sync.bench import PASSWORD, _token, _user
from tenant_app import clock
from tenant_app.cases.bench import _cases_in, generate_cases
from tenant_app.children.bench import PROVINCE, _say, children_in, ensure_children

TITLE = "考核基准测试"
_PEOPLE = """
INSERT INTO roster_people (region_code, province_code, name, sex, id_number, phone, qualifications, version,
                           created_at, updated_at)
SELECT u.code, :p, '考核基准', 'male', 'AB' || lpad(u.code, 16, '0'), '13800000000', '', 1, now(), now()
FROM units u WHERE u.code >= :lo AND u.code < :hi AND NOT u.retired AND u.level IN (4, 5)
  AND (u.level = 4 OR abs(hashtext(u.code)) % 10 <> 0)"""
_APPOINTMENTS = """
INSERT INTO roster_appointments (region_code, person_id, post, employment, other_post, appointed_on, left_on,
                                 leave_reason, version, created_at, updated_at, province_code)
SELECT p.region_code, p.id, CASE WHEN length(p.region_code) = 12 THEN 'director' ELSE 'supervisor' END,
       'part_time', '', CAST(:first AS date) + abs(hashtext(p.region_code)) % 400,
       CASE WHEN abs(hashtext(p.region_code || 'x')) % 10 = 0
            THEN CAST(:first AS date) + abs(hashtext(p.region_code)) % 400 + 30 + abs(hashtext(p.region_code)) % 200
       END, '', 1, now(), now(), p.province_code
FROM roster_people p WHERE p.name = '考核基准' AND p.region_code >= :lo AND p.region_code < :hi"""
_COURSES = """
INSERT INTO training_courses (region_code, title, level, topic, starts_on, ends_on, hours, note, version, created_at,
                              updated_at, province_code)
SELECT u.code, :t, 'county', 'policy', CAST(:ends AS date) - 2, CAST(:ends AS date), 16, '', 1, now(), now(),
       substr(u.code, 1, 2)
FROM units u WHERE u.code >= :lo AND u.code < :hi AND NOT u.retired AND u.level = 3"""
_ATTENDANCE = """
INSERT INTO training_attendance (region_code, course_id, person_id, course_ends_on, course_title, attended,
                                 hours_credited, passed, certificate_no, version, created_at, updated_at,
                                 province_code)
SELECT p.region_code, c.id, p.id, c.ends_on, c.title, TRUE, 16, TRUE, '', 1, now(), now(), p.province_code
FROM roster_people p JOIN training_courses c ON c.region_code = substr(p.region_code, 1, 6) AND c.title = :t
WHERE p.name = '考核基准' AND p.region_code >= :lo AND p.region_code < :hi AND abs(hashtext(p.region_code)) % 3 <> 0"""
_TASKS = """
INSERT INTO tasks (campaign_id, region_code, reviewer_code, due_on, status, answers, return_reason, submitted_at,
                   version, updated_at, province_code)
SELECT :campaign, u.code, substr(u.code, 1, 9), CAST(:due AS date), s.status, '{}', '',
       CASE WHEN s.status IN ('approved', 'submitted')
            THEN CAST(:due AS timestamptz) + make_interval(hours => s.h % 96 - 48) END, 1, now(), substr(u.code, 1, 2)
FROM units u
CROSS JOIN LATERAL (SELECT abs(hashtext(u.code || :c)) AS h) x
CROSS JOIN LATERAL (SELECT (ARRAY['approved', 'submitted', 'submitted', 'pending', 'returned', 'draft'])[1 + x.h % 6]
                           AS status, x.h) s
WHERE u.code >= :lo AND u.code < :hi AND NOT u.retired AND u.level = 5"""


def _execute(db, statement: str, **params) -> int:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(statement), {"lo": PROVINCE, "hi": PROVINCE + ":", "p": PROVINCE,
                                                    **params}).rowcount


def _owner_execute(db, statements: list[tuple[str, dict]]) -> None:
    """Deletes run as the tables' owner (the application role may not delete)."""
    engine = db.owner_engine()
    try:
        with engine.begin() as connection:
            for statement, params in statements:
                connection.execute(text(statement), {"lo": PROVINCE, "hi": PROVINCE + ":", "p": PROVINCE, **params})
    finally:
        engine.dispose()


def cleanup(db) -> None:
    _owner_execute(db, [
        ("DELETE FROM training_attendance a USING training_courses c WHERE a.course_id = c.id AND c.title = :t "
         "AND c.region_code >= :lo AND c.region_code < :hi", {"t": TITLE}),
        ("DELETE FROM training_courses WHERE title = :t AND region_code >= :lo AND region_code < :hi", {"t": TITLE}),
        ("DELETE FROM roster_appointments a USING roster_people p WHERE a.person_id = p.id "
         "AND p.name = '考核基准' AND p.region_code >= :lo AND p.region_code < :hi", {}),
        ("DELETE FROM roster_people WHERE name = '考核基准' AND region_code >= :lo AND region_code < :hi", {}),
        ("DELETE FROM tasks WHERE campaign_id IN (SELECT id FROM campaigns WHERE title = :t AND issuer_code = :p)",
         {"t": TITLE}),
        ("DELETE FROM campaigns WHERE title = :t AND issuer_code = :p", {"t": TITLE})])


def generate(db, echo) -> dict:
    """The roster and the year's campaigns of the bench (set-based), after removing an earlier run's."""
    cleanup(db)
    started = time.perf_counter()
    year_start = clock.today_cst().replace(month=1, day=1)
    people = _execute(db, _PEOPLE)
    _execute(db, _APPOINTMENTS, first=year_start - timedelta(days=200))
    _execute(db, _COURSES, t=TITLE, ends=year_start + timedelta(days=100))
    trained = _execute(db, _ATTENDANCE, t=TITLE)
    tasks = 0
    for month in range(1, 13):
        due = date(year_start.year, month, 20)
        with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            campaign = connection.scalar(text(
                "INSERT INTO campaigns (issuer_code, province_code, title, directive, kind, target_level, "
                "reviewer_level, starts_on, due_on, questions, status, task_count, receipt_count, created_at, "
                "published_at, version) VALUES "
                "(:p, :province, :t, '基准', 'questionnaire', 5, 4, :s, :d, '[]', 'open', 0, 0, now(), now(), 1) "
                "RETURNING id"),
                {"p": PROVINCE, "province": PROVINCE[:2], "t": TITLE, "s": due - timedelta(days=30), "d": due})
        tasks += _execute(db, _TASKS, campaign=campaign, due=due, c=str(month))
    _say(echo, "roster and campaigns generated", f"{people:,} people ({trained:,} trained), {tasks:,} tasks in "
                                                 f"{time.perf_counter() - started:.1f} s")
    return {"people": people, "trained": trained, "tasks": tasks}


def _percentiles(timings: list[float]) -> dict:
    ordered = sorted(timings)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)], 1)}


def _analyze(db) -> None:
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for table in ("roster_people", "roster_appointments", "tasks", "campaigns", "training_courses",
                          "training_attendance"):
                connection.execute(text(f"VACUUM ANALYZE {table}"))  # a rerun's deleted rows too
    finally:
        engine.dispose()


def _sources(db, start: date, today: date) -> dict[str, float]:
    """Each source's grouped statement over the province's counties, timed alone (a second run)."""
    from tenant_app.assessment import figures as F

    now = clock.now()
    with job_scope(PROVINCE), db.session_scope() as session:
        counties = list(session.scalars(text("SELECT code FROM units WHERE level = 3 AND code >= :lo AND code < :hi "
                                             "AND NOT retired"), {"lo": PROVINCE, "hi": PROVINCE + ":"}))
        found = {c: dict(F.ZERO) for c in counties}
        calls = {"roster": lambda: F.roster(session, PROVINCE, 6, start, today, found),
                 "tasks": lambda: F.tasks(session, PROVINCE, 6, start, today, found),
                 "training": lambda: F.training(session, PROVINCE, 6, start, today, today, found),
                 "children": lambda: F.children(session, PROVINCE, 6, today, found),
                 "case medians": lambda: F.case_medians(session, PROVINCE, 6, start, today, found),
                 "case steps": lambda: F.case_overdue(session, PROVINCE, 6, now, found)}
        timings = {}
        for name, call in calls.items():
            call()
            began = time.perf_counter()
            call()
            timings[name] = time.perf_counter() - began
    return timings


def bench_assessment(db, *, children: int = 1_000_000, cases: int = 50_000, villages: int = 52_000, runs: int = 20,
                     echo=print) -> dict:
    from tenant_app import create_app
    from tenant_app.assessment import services
    from tenant_app.auth.models import User

    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench assessment needs PostgreSQL")
    figures = ensure_children(db, villages, children, echo=echo)
    generate_cases(db, cases)
    figures.update(generate(db, echo))
    _analyze(db)
    figures.update(children=children_in(db, PROVINCE), cases=_cases_in(db))
    _say(echo, "villages / children / cases", f"{figures['villages']:,} / {figures['children']:,} / "
                                              f"{figures['cases']:,}")
    try:
        today = clock.today_cst()
        start = today.replace(month=1, day=1)
        with job_scope(PROVINCE), db.session_scope() as session:
            actor = User(id=0, region_code=PROVINCE, role="viewer", username="bench")
            seconds = []
            for _ in range(3):
                began = time.perf_counter()
                league = services.league(session, actor, level=3, period_start=start, period_end=today)
                seconds.append(time.perf_counter() - began)
        figures["province_counties_s"] = round(min(seconds), 3)
        _say(echo, "every county of the province, year", f"{min(seconds):.3f} s best of 3 "
                                                         f"({league['total']} counties; target < 2 s)")
        figures["sources_s"] = _sources(db, start, today)
        _say(echo, "  by source (s)", ", ".join(f"{k} {v:.3f}" for k, v in figures["sources_s"].items()))
        app = create_app()
        client = app.test_client()
        headers = _token(client, _user(db, PROVINCE, "viewer", "bench_assess_province"))
        began = time.perf_counter()
        response = client.get("/api/v1/assessments", headers=headers,
                              query_string={"level": 3, "period_start": start.isoformat()})
        assert response.status_code == 200, response.get_json()
        figures["province_counties_api_s"] = round(time.perf_counter() - began, 3)
        _say(echo, "  the same through the API", f"{figures['province_counties_api_s']:.3f} s")
        county = min(r["code"] for r in league["rows"])
        page = create_app({"WTF_CSRF_ENABLED": False}).test_client()  # the login form's token is not timed
        username = _user(db, county, "staff", f"bench_assess_{county}")
        assert page.post("/login", data={"username": username, "password": PASSWORD}).status_code in (302, 303)
        timings = []
        for _ in range(runs + 1):
            began = time.perf_counter()
            response = page.get("/assessment")
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        figures["county_page"] = _percentiles(timings[1:])
        _say(echo, "a county's league table page (ms)", f"median {figures['county_page']['median_ms']}, p95 "
                                                       f"{figures['county_page']['p95_ms']} ({county}; target < 200)")
        began = time.perf_counter()
        response = client.get(f"/api/v1/assessments/{county}/trend", headers=headers)
        assert response.status_code == 200, response.get_json()
        figures["county_trend_s"] = round(time.perf_counter() - began, 3)
        _say(echo, "a county's trend seen by the province", f"{figures['county_trend_s']:.3f} s "
                                                            f"({len(response.get_json()['points'])} months)")
    finally:
        cleanup(db)
    return figures
