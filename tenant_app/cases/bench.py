"""`shouhu bench cases`: protection cases at province scale, on a dedicated PostgreSQL database (it commits).

1. The synthetic province (~52,000 villages) with its children, and N cases (50,000 by default, a fifth of
   them open), generated set-based once: a rerun finds them and generates only what is missing. Reports spread
   over the last 400 days, categories, reporters and urgencies in turn, open cases at every stage (most of
   them past their limits: the escalation's worst case), closed ones with outcomes on their timelines.
2. A county's case queue (`GET /api/v1/cases?unit=<county>&open=true`, the county with the most cases):
   median and p95 through the application.
3. The escalation job over the province: the first run (records the levels, writes the notifications) and a
   second one (nothing new: the idempotent path every scheduled run takes).
4. The full roll-up rebuild with the case indicators, and without them (sync.case_figures.disabled): the ratio
   says what they cost.
5. Filing a report through the API (`POST /api/v1/reports` by county staff, the roll-up it triggers held
   back): median and p95.
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import text

from hierarchy.scope import Scope, apply_db_scope, job_scope, scoped
from sync import case_figures
from sync.bench import _token, _user, time_rebuild
from tenant_app import clock
from tenant_app.cases import enums as E
from tenant_app.children.bench import PROVINCE, _say, children_in, ensure_children

OPEN_SHARE = 5  # one case in five is open

_ARRAY = "ARRAY[{}]::text[]"

_REPORTS = f"""
WITH v AS (SELECT code, row_number() OVER (ORDER BY code) AS rn FROM units
           WHERE level = 5 AND NOT retired AND code >= :lo AND code < :hi),
     n AS (SELECT count(*) AS c FROM v),
     g AS (SELECT i, 1 + (i * 7919) % (SELECT c FROM n) AS rn,
                  CAST(:now AS timestamptz) - make_interval(days => (i * 37) % 400, mins => (i * 131) % 1440) AS filed
           FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) i)
INSERT INTO reports (region_code, occurred_village_code, category, urgency, occurred_at, narrative,
                     unknown_child_description, reporter_kind, reporter_name, reporter_contact, reporter_unit_code,
                     filed_at, province_code)
SELECT v.code, v.code, ({_ARRAY.format(E.sql_in(E.CATEGORIES))})[1 + g.i % {len(E.CATEGORIES)}],
       CASE WHEN g.i % 4 = 0 THEN 'emergency' ELSE 'normal' END,
       g.filed - make_interval(days => (g.i * 13) % 45, hours => 3), '基准测试：邻居反映儿童无人照料。', '约8岁儿童',
       ({_ARRAY.format(E.sql_in(E.REPORTER_KINDS))})[1 + (g.i * 3) % {len(E.REPORTER_KINDS)}], '', '',
       substr(v.code, 1, 6), g.filed, substr(v.code, 1, 2)
FROM g JOIN v ON v.rn = g.rn"""

_OPEN_STAGES = _ARRAY.format(E.sql_in(E.OPEN_STAGES))
_CASES = f"""
INSERT INTO cases (region_code, township_code, county_code, province_code, report_id, category, urgency, stage,
                   guardianship_intervention, screen_out_reason, outcome_summary, reported_at, cycle_started_at,
                   accepted_at, first_measure_at, assessed_at, help_plan_at, closed_at, reopen_count, version,
                   updated_at)
SELECT r.region_code, substr(r.region_code, 1, 9), substr(r.region_code, 1, 6), substr(r.region_code, 1, 2), r.id,
       r.category, r.urgency, s.stage, FALSE, '', '', r.filed_at, r.filed_at,
       CASE WHEN s.stage <> 'reported' THEN r.filed_at + make_interval(mins => 10 + r.id % 600) END,
       CASE WHEN s.stage NOT IN ('reported', 'accepted') AND r.urgency = 'emergency'
            THEN r.filed_at + make_interval(mins => 30 + r.id % 900) END,
       CASE WHEN s.stage IN ('help_plan', 'follow_up', 'closed') THEN r.filed_at + interval '2 days' END,
       CASE WHEN s.stage IN ('help_plan', 'follow_up', 'closed') THEN r.filed_at + interval '6 days' END,
       CASE WHEN s.stage = 'closed' THEN r.filed_at + interval '40 days' END, 0, 1, r.filed_at
FROM reports r
CROSS JOIN LATERAL (SELECT CASE WHEN r.id % {OPEN_SHARE} = 0
                           THEN ({_OPEN_STAGES})[1 + (r.id / {OPEN_SHARE}) % {len(E.OPEN_STAGES)}]
                           ELSE 'closed' END AS stage) s
WHERE r.id >= :first_id AND r.region_code >= :lo AND r.region_code < :hi
  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.report_id = r.id)"""

# Outcomes on the timelines of closed cases (and a share of help plans), one INSERT … SELECT per kind.
_ACTIONS = """
INSERT INTO case_actions (case_id, region_code, kind, stage, data, note, by_unit_code, at, province_code)
SELECT c.id, c.region_code, :kind, 'help_plan', CAST(:data AS json), '', c.county_code, c.help_plan_at,
       c.province_code
FROM cases c WHERE c.id >= :first_id AND c.help_plan_at IS NOT NULL AND c.id % :every = :rest"""
OUTCOMES = (("guardian_appointed", '{"name": "亲属", "relationship": "祖父"}', 3, 0),
            ("temporary_placement", '{"kind": "relatives", "where": "亲属家"}', 4, 1),
            ("help_service", '{"kind": "back_to_school", "done_on": "2026-01-01"}', 10, 2),
            ("help_service", '{"kind": "household_registration", "done_on": "2026-01-01"}', 12, 3),
            ("help_service", '{"kind": "dibao", "done_on": "2026-01-01"}', 6, 5),
            ("guardianship_intervention", '{"measure": "court_revocation", "decided_on": "2026-01-01"}', 50, 7))


def _cases_in(db) -> int:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.scalar(text("SELECT count(*) FROM cases WHERE region_code >= :lo AND region_code < :hi"),
                                 {"lo": PROVINCE, "hi": PROVINCE + ":"})


def generate_cases(db, n: int) -> int:
    """Add reports, their cases and outcome actions until the province has `n` cases (set-based)."""
    have = _cases_in(db)
    if have >= n:
        return 0
    bounds = {"lo": PROVINCE, "hi": PROVINCE + ":"}
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        first_report = connection.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM reports"))
        first_case = connection.scalar(text("SELECT coalesce(max(id), 0) + 1 FROM cases"))
        connection.execute(text(_REPORTS), {**bounds, "now": clock.now(), "first": have + 1, "last": n})
        connection.execute(text(_CASES), {**bounds, "first_id": first_report})
        for kind, data, every, rest in OUTCOMES:
            connection.execute(text(_ACTIONS), {"kind": kind, "data": data, "every": every, "rest": rest,
                                                "first_id": first_case})
    return n - have


def _analyze(db, echo) -> None:
    """Fresh statistics on the generated case tables (as after autovacuum); only their owner may."""
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for table in ("reports", "cases", "case_children", "case_actions"):
                connection.execute(text(f"ANALYZE {table}"))
    except Exception as exc:  # noqa: BLE001 - autovacuum will do it later
        _say(echo, "analyze cases", f"skipped ({type(exc).__name__}: not the tables' owner?)")
    finally:
        engine.dispose()


def _busiest_county(db) -> tuple[str, int]:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        row = connection.execute(text(
            "SELECT county_code, count(*) AS n FROM cases WHERE province_code = :p AND stage IN "
            f"({E.sql_in(E.OPEN_STAGES)}) GROUP BY county_code ORDER BY n DESC LIMIT 1"), {"p": PROVINCE}).one()
    return row.county_code, row.n


def _percentiles(timings: list[float]) -> dict:
    ordered = sorted(timings)
    return {"median_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)], 1), "max_ms": round(ordered[-1], 1)}


def time_queue(app, db, county: str, runs: int) -> dict:
    client = app.test_client()
    headers = _token(client, _user(db, county, "staff", f"bench_cases_{county}"))
    timings, total = [], 0
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get("/api/v1/cases", query_string={"unit": county, "open": "true"}, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        total = response.get_json()["total"]
    return {**_percentiles(timings[1:]), "total": total}


def time_escalation(db) -> list[tuple[float, dict]]:
    """The job twice, commit included; the roll-up its outbox rows ask for is held back (the rebuild follows)."""
    from sync import outbox
    from tenant_app.cases.escalation import escalate

    runs = []
    for _ in range(2):
        started = time.perf_counter()
        with outbox.drains_held(), job_scope(all_tenants=True), db.session_scope() as session:
            report = escalate(session)
        runs.append((time.perf_counter() - started, report))
    return runs


def time_filing(app, db, county: str, runs: int) -> dict:
    from sync import outbox

    village = county + "001001"
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        village = connection.scalar(text("SELECT min(code) FROM units WHERE level = 5 AND NOT retired AND "
                                         "code >= :lo AND code < :hi"), {"lo": county, "hi": county + ":"})
    client = app.test_client()
    headers = _token(client, _user(db, county, "staff", f"bench_cases_{county}"))
    body = {"category": "living_alone", "urgency": "emergency", "village_code": village,
            "occurred_at": clock.now().isoformat(), "narrative": "基准测试：儿童独自在家。",
            "unknown_child_description": "约8岁男孩", "reporter_kind": "hotline", "reporter_name": "热线",
            "reporter_contact": "12345"}
    timings = []
    with outbox.drains_held():  # the write itself; its roll-up runs after the commit, on the worker
        for _ in range(runs + 1):
            started = time.perf_counter()
            response = client.post("/api/v1/reports", json=body, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.get_json()
    return _percentiles(timings[1:])


def bench_cases(app, db, children: int = 1_000_000, cases: int = 50_000, villages: int = 52_000, runs: int = 30,
                seed: int = 2016, echo=print) -> dict:
    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench cases needs PostgreSQL")
    figures = ensure_children(db, villages, children, seed, echo=echo)
    started = time.perf_counter()
    added = generate_cases(db, cases)
    if added:
        _say(echo, "generate cases", f"{added:,} in {time.perf_counter() - started:.1f} s")
        _analyze(db, echo)
    figures.update(children=children_in(db, PROVINCE), cases=_cases_in(db))
    county, open_cases = _busiest_county(db)
    _say(echo, "villages / children / cases", f"{figures['villages']:,} / {figures['children']:,} / "
                                              f"{figures['cases']:,}")
    from tenant_app import create_app

    app = create_app()  # requests under the command's own app context would share its `g`
    queue = time_queue(app, db, county, runs)
    figures["queue"] = queue
    _say(echo, "county case queue (ms)", f"median {queue['median_ms']}, p95 {queue['p95_ms']}, max "
                                         f"{queue['max_ms']} ({county}: {queue['total']} open cases)")
    escalations = time_escalation(db)
    figures["escalation_s"] = [round(s, 3) for s, _ in escalations]
    for label, (seconds, report) in zip(("escalation, first run", "escalation, again"), escalations, strict=True):
        _say(echo, label, f"{seconds:.3f} s ({report['cases']:,} cases changed, "
                          f"{report['notifications']:,} notifications)")
    with scoped(Scope(all_tenants=True)):
        time_rebuild(db)  # warm-up
        with case_figures.disabled():
            without = min(time_rebuild(db) for _ in range(2))
        # With the case indicators last: the stored figures stay complete for what follows.
        with_cases = min(time_rebuild(db) for _ in range(2))
    figures.update(rebuild_s=round(with_cases, 2), rebuild_without_cases_s=round(without, 2),
                   rebuild_ratio=round(with_cases / without, 2))
    _say(echo, "full rebuild with cases", f"{with_cases:.2f} s (best of 2)")
    _say(echo, "full rebuild without cases", f"{without:.2f} s (best of 2): ratio {figures['rebuild_ratio']}")
    filing = time_filing(app, db, county, runs)
    figures["filing"] = filing
    _say(echo, "file a report (ms)", f"median {filing['median_ms']}, p95 {filing['p95_ms']}, max "
                                     f"{filing['max_ms']}")
    figures["open_cases_in_county"] = open_cases
    return figures
