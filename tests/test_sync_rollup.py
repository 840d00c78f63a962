"""Roll-ups against a brute-force Python recount of the same rows, on random data, at every unit of every level;
the summary identities; incremental recompute equals the full rebuild row for row; verify finds tampering."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from hierarchy.codes import LEVEL_BY_LENGTH
from hierarchy.scope import Scope, apply_db_scope, scoped
from sync import rollup
from sync.indicators import CAMPAIGN_FIELDS, KEYS, identity_problems, years_before
from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.campaigns.models import Campaign, Task
from tenant_app.cases.models import CaseAction
from tenant_app.children import enums as E
from tenant_app.children.models import Child
from tenant_app.children.validation import age_on
from tenant_app.visits.models import DEFAULT_INTERVALS, Visit, VisitPolicy
from tests.rollup_cases_data import FOLLOW_UP_EXAMPLES, case_rows, found_living_alone, insert_cases, recount_cases
from tests.rollup_roster_data import insert_roster, recount_roster, roster_rows

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)  # 12:00 in China
TODAY = date(2026, 6, 15)
VILLAGES = ("440203001002", "440203001003", "440203001004", "440203100201", "440203100202",
            "440204001001", "440204001002")
TOWNSHIPS = ("440203001", "440203100", "440204001")
HEALTH = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])

child_rows = st.fixed_dictionaries({
    "village": st.integers(0, len(VILLAGES) - 1),
    "left_behind": st.booleans(),
    "difficulty": st.sampled_from([None, *E.DIFFICULTY_SUBCATEGORIES]),
    "de_facto": st.booleans(),
    "sex": st.sampled_from(list(E.SEXES)),
    "age_days": st.integers(0, 18 * 366),
    "guardianship": st.sampled_from([None, *E.GUARDIANSHIP_TYPES]),
    "schooling": st.sampled_from([None, "primary", "junior", "dropout", "not_in_school"]),
    "registered": st.booleans(),
    "risk": st.sampled_from(list(E.RISK_LEVELS)),
    "unattended": st.booleans(),
    "exit": st.sampled_from([None, None, None, *E.EXIT_REASONS]),
    "exited_days": st.sampled_from([None, 0, 30, 166, 200, 400]),
    "created_days": st.integers(0, 400),
    "visits": st.lists(st.integers(0, 400), max_size=2),
    "confirmed": st.booleans(),
})
user_rows = st.tuples(st.integers(0, len(VILLAGES) + len(TOWNSHIPS) - 1), st.sampled_from(["staff", "viewer"]),
                      st.booleans())
task_rows = st.tuples(st.integers(0, len(VILLAGES) + len(TOWNSHIPS) - 1), st.sampled_from([0, 0, 1]),
                      st.sampled_from(["pending", "draft", "submitted", "approved", "returned"]),
                      st.integers(-20, 20), st.sampled_from([None, -3, 0, 2]))
datasets = st.fixed_dictionaries({
    "children": st.lists(child_rows, max_size=40),
    "users": st.lists(user_rows, max_size=6),
    "tasks": st.lists(task_rows, max_size=10),
    "policy": st.sampled_from([None, (7, 30, 60), (30, 90, 180)]),
    "cases": st.lists(case_rows, max_size=8),
    "roster": st.lists(roster_rows, max_size=6),
})


@pytest.fixture
def jobs(db_connection):
    """Run the body with the all-tenants scope (the roll-up job's) on the test connection."""
    with scoped(Scope(all_tenants=True)):
        apply_db_scope(db_connection, Scope(all_tenants=True))
        yield db_connection


def _unit(index: int) -> str:
    return VILLAGES[index] if index < len(VILLAGES) else TOWNSHIPS[index - len(VILLAGES)]


def insert_dataset(conn, data: dict, seq: list[int]) -> None:
    """Insert the generated rows directly (set-based), as the roll-up will find them."""
    children = []
    for row in data["children"]:
        seq[0] += 1
        exited = row["exit"] is not None
        children.append({
            "region_code": VILLAGES[row["village"]], "province_code": "44", "name": f"儿童{seq[0]}",
            "sex": row["sex"], "birth_date": TODAY - timedelta(days=row["age_days"]),
            "hukou_registered": row["registered"], "is_left_behind": row["left_behind"],
            "is_in_difficulty": row["difficulty"] is not None, "difficulty_subcategory": row["difficulty"],
            "is_de_facto_unsupported": row["de_facto"], "guardianship_type": row["guardianship"],
            "schooling": row["schooling"], "risk_level": row["risk"], "unattended": row["unattended"],
            "status": "exited" if exited else "active", "exit_reason": row["exit"],
            "exited_at": (TODAY - timedelta(days=row["exited_days"])
                          if exited and row["exited_days"] is not None else None),
            "created_at": NOW - timedelta(days=row["created_days"], hours=row["created_days"] % 24),
            "guardianship_confirmed_on": TODAY if row.get("confirmed") else None,
        })
    if children:
        ids = conn.execute(insert(Child.__table__).returning(Child.__table__.c.id, sort_by_parameter_order=True),
                           children).scalars().all()
        visits = [{"region_code": child["region_code"], "child_id": child_id,
                   "visited_on": TODAY - timedelta(days=days), "findings": "走访"}
                  for child_id, child, row in zip(ids, children, data["children"], strict=True)
                  for days in row["visits"]]
        if visits:
            conn.execute(insert(Visit.__table__), visits)
    users = []
    for unit, role, active in data["users"]:
        seq[0] += 1
        users.append({"region_code": _unit(unit), "username": f"rollup_{seq[0]}", "password_hash": "x",
                      "role": role, "real_name": "测试", "active": active})
    if users:
        conn.execute(insert(User.__table__), users)
    if data["policy"]:
        high, medium, low = data["policy"]
        policy = pg_insert(VisitPolicy.__table__).values(province_code="44", high_days=high, medium_days=medium,
                                                         low_days=low)
        conn.execute(policy.on_conflict_do_update(index_elements=["province_code"], set_={
            "high_days": high, "medium_days": medium, "low_days": low}))
    tasks = {}
    if data["tasks"]:
        campaigns = conn.execute(insert(Campaign.__table__).returning(Campaign.__table__.c.id,
                                                                      sort_by_parameter_order=True), [
            {"issuer_code": "44", "title": title, "directive": "", "kind": "census", "starts_on": TODAY,
             "due_on": TODAY, "questions": [], "status": status, "task_count": 0, "receipt_count": 0}
            for title, status in (("开放任务", "open"), ("已关闭任务", "closed"))]).scalars().all()
        for unit, campaign, status, due, submitted in data["tasks"]:
            done = status in ("submitted", "approved")
            tasks[(campaigns[campaign], _unit(unit))] = {
                "campaign_id": campaigns[campaign], "region_code": _unit(unit), "reviewer_code": "440203",
                "due_on": TODAY + timedelta(days=due), "status": status,
                "submitted_at": (clock.end_of_day_cst(TODAY + timedelta(days=due + submitted)) - timedelta(hours=1)
                                 if done and submitted is not None else None)}
        conn.execute(insert(Task.__table__), list(tasks.values()))
    insert_cases(conn, data.get("cases", []), VILLAGES, NOW)
    insert_roster(conn, data.get("roster", []), VILLAGES + TOWNSHIPS, TODAY, NOW)


# --- the brute-force recount, in Python over the raw rows -------------------------------------------------

def _child_keys(child, last_visit: date | None, intervals: dict, found_on: date | None = None) -> list[str]:
    keys = []
    if child.status == "exited":
        if child.exited_at is not None and child.exited_at >= date(TODAY.year, 1, 1):
            keys += ["exits_total", f"exits_{child.exit_reason}"]
        return keys
    keys.append("children_total")
    if child.is_left_behind and child.guardianship_confirmed_on is not None:
        keys.append("guardianship_confirmed")
    for flag, key in ((child.is_left_behind, "left_behind"), (child.is_in_difficulty, "in_difficulty"),
                      (child.is_de_facto_unsupported, "de_facto_unsupported"),
                      (child.schooling == "dropout", "dropouts"), (child.schooling == "not_in_school", "not_in_school"),
                      (not child.hukou_registered, "no_household_registration"), (child.unattended, "unattended")):
        if flag:
            keys.append(key)
    if child.is_in_difficulty and child.difficulty_subcategory:
        keys.append(f"difficulty_{child.difficulty_subcategory}")
    age = age_on(child.birth_date, TODAY)
    keys.append("age_0_5" if age <= 5 else "age_6_13" if age <= 13 else "age_14_16" if age <= 16 else "age_17_over")
    keys.append(child.sex)
    keys.append(f"guardianship_{child.guardianship_type or 'unassessed'}")
    keys.append(f"{child.risk_level}_risk")
    start = last_visit or child.created_at.astimezone(clock.CST).date()
    # An unattended child nobody has visited since the record was made is due at once.
    interval = 0 if child.unattended and last_visit is None else intervals[child.risk_level]
    due = start + timedelta(days=interval)
    # A child an open report found living alone, not visited since the report's day, is due that day.
    if found_on is not None and (last_visit is None or last_visit < found_on):
        due = found_on
    if due < TODAY:
        keys.append("visits_overdue")
    elif due <= TODAY + timedelta(days=7):
        keys.append("visits_due")
    return keys


def brute_force(conn) -> tuple[dict, dict]:
    units = conn.execute(text("SELECT code, level, retired FROM units")).all()
    figures = {u.code: dict.fromkeys(KEYS, 0) for u in units}

    def add(code: str, key: str) -> None:
        for n in (2, 4, 6, 9, 12):
            if len(code) >= n:
                figures[code[:n]][key] += 1

    policies = {p.province_code: {"high": p.high_days, "medium": p.medium_days, "low": p.low_days}
                for p in conn.execute(text("SELECT * FROM visit_policies"))}
    last = {}
    for visit in conn.execute(text("SELECT child_id, visited_on FROM visits")):
        last[visit.child_id] = max(last.get(visit.child_id, visit.visited_on), visit.visited_on)
    found = found_living_alone(conn)
    for child in conn.execute(text("SELECT * FROM children")):
        for key in _child_keys(child, last.get(child.id), policies.get(child.province_code, DEFAULT_INTERVALS),
                               found.get(child.id)):
            add(child.region_code, key)
    staffed = {u.region_code for u in conn.execute(text("SELECT region_code FROM users WHERE role = 'staff' "
                                                         "AND active"))}
    for unit in units:
        if unit.retired or unit.level not in (4, 5):
            continue
        kind = "villages" if unit.level == 5 else "townships"
        add(unit.code, f"{kind}_total")
        if unit.code in staffed:
            add(unit.code, "villages_with_director" if unit.level == 5 else "townships_with_supervisor")
    campaigns = defaultdict(lambda: dict.fromkeys(CAMPAIGN_FIELDS, 0))
    for task in conn.execute(text("SELECT t.* FROM tasks t JOIN campaigns c ON c.id = t.campaign_id "
                                  "WHERE c.status = 'open'")):
        done = task.status in ("submitted", "approved")
        fields = ["total", {"pending": "not_started"}.get(task.status, task.status)]
        if task.status in ("pending", "draft", "returned") and task.due_on < TODAY:
            fields.append("overdue")
        if done and task.submitted_at is not None and task.submitted_at.astimezone(clock.CST).date() <= task.due_on:
            fields.append("completed_on_time")
        for n in (2, 4, 6, 9, 12):
            if len(task.region_code) >= n:
                for field in fields:
                    campaigns[(task.region_code[:n], task.campaign_id)][field] += 1
    recount_cases(conn, figures, NOW)
    recount_roster(conn, figures, TODAY)
    return figures, dict(campaigns)


def stored(conn) -> tuple[dict, dict, dict]:
    stats = {r.unit_code: {k: getattr(r, k) for k in ("level", *KEYS)}
             for r in conn.execute(text("SELECT * FROM unit_stats"))}
    monthly = {(r.unit_code, r.month): {k: getattr(r, k) for k in ("level", *KEYS)}
               for r in conn.execute(text("SELECT * FROM unit_stats_monthly"))}
    campaigns = {(r.unit_code, r.campaign_id): {f: getattr(r, f) for f in CAMPAIGN_FIELDS}
                 for r in conn.execute(text("SELECT * FROM unit_campaign_stats"))}
    return stats, monthly, campaigns


# --- the tests ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["correlated", "grouped"])
@given(data=datasets)
@example(data={"children": [], "users": [], "tasks": [], "policy": None, "cases": FOLLOW_UP_EXAMPLES, "roster": []})
@HEALTH
def test_rollup_matches_a_brute_force_recount_at_every_level(jobs, data, form):
    # "grouped": the workforce figures as a Citus coordinator computes them (sync.roster_figures).
    with jobs.begin_nested() as savepoint, clock.frozen(NOW), \
            (rollup.grouped_form() if form == "grouped" else contextlib.nullcontext()):
        insert_dataset(jobs, data, [0])
        written = rollup.rebuild(jobs)
        assert set(written["units"]) == {"village", "township", "county", "city", "province"}
        expected, expected_campaigns = brute_force(jobs)
        stats, monthly, campaigns = stored(jobs)
        assert set(stats) == set(expected)  # every unit has a row, children or not
        for code, figures in expected.items():
            assert {k: stats[code][k] for k in KEYS} == figures, code
            assert stats[code]["level"] == {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}[len(code)]
            assert identity_problems(stats[code]) == [], code
        assert campaigns == expected_campaigns
        # (other months' rows may exist from committed data outside this test; this month's cover every unit)
        assert {code for code, month in monthly if month == date(2026, 6, 1)} == set(expected)
        assert rollup.verify(jobs) == []
        savepoint.rollback()


change_rows = st.lists(st.fixed_dictionaries({
    "child": st.integers(0, 1000),
    "risk": st.sampled_from(list(E.RISK_LEVELS)),
    "move_to": st.sampled_from([None, None, *range(len(VILLAGES))]),
    "exit": st.sampled_from([None, None, "moved_away"]),
    "visit_days": st.sampled_from([None, 0, 10, 200]),
}), max_size=4)


@given(data=datasets, changes=change_rows, users=st.lists(user_rows, max_size=3),
       tasks=st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(["draft", "submitted", "approved"])),
                      max_size=3),
       case_changes=st.lists(st.tuples(st.integers(0, 1000), st.sampled_from(["accepted", "help_plan", "closed"]),
                                       st.booleans()), max_size=3),
       new_cases=st.lists(case_rows, max_size=2), new_roster=st.lists(roster_rows, max_size=3))
@HEALTH
def test_incremental_recompute_equals_a_full_rebuild(jobs, data, changes, users, tasks, case_changes, new_cases,
                                                     new_roster):
    with jobs.begin_nested() as savepoint, clock.frozen(NOW):
        seq = [0]
        insert_dataset(jobs, data, seq)
        rollup.rebuild(jobs)
        touched: set[str] = set()
        ids = [r.id for r in jobs.execute(text("SELECT id FROM children WHERE region_code LIKE '4402%' "
                                               "ORDER BY id"))]
        for change in changes:
            if not ids:
                break
            child_id = ids[change["child"] % len(ids)]
            old = jobs.execute(text("SELECT region_code FROM children WHERE id = :id"), {"id": child_id}).scalar()
            new = VILLAGES[change["move_to"]] if change["move_to"] is not None else old
            status = "exited" if change["exit"] else "active"
            jobs.execute(text("UPDATE children SET risk_level = :risk, region_code = :new, status = :status, "
                              "exit_reason = :reason, exited_at = :exited WHERE id = :id"),
                         {"risk": change["risk"], "new": new, "status": status, "reason": change["exit"],
                          "exited": TODAY if change["exit"] else None, "id": child_id})
            jobs.execute(text("UPDATE visits SET region_code = :new WHERE child_id = :id"),
                         {"new": new, "id": child_id})
            if change["visit_days"] is not None:
                jobs.execute(insert(Visit.__table__), [{"region_code": new, "child_id": child_id, "findings": "复访",
                                                        "visited_on": TODAY - timedelta(days=change["visit_days"])}])
            touched |= {old, new}
        user_units = set()
        for unit, role, active in users:
            seq[0] += 1
            jobs.execute(insert(User.__table__), [{"region_code": _unit(unit), "username": f"later_{seq[0]}",
                                                   "password_hash": "x", "role": role, "real_name": "测试",
                                                   "active": active}])
            user_units.add(_unit(unit))
        task_rows_now = jobs.execute(text("SELECT id, region_code FROM tasks ORDER BY id")).all()
        for index, status in tasks:
            if task_rows_now:
                task = task_rows_now[index % len(task_rows_now)]
                jobs.execute(text("UPDATE tasks SET status = :s, submitted_at = :at WHERE id = :id"),
                             {"s": status, "at": NOW if status != "draft" else None, "id": task.id})
                user_units.add(task.region_code)
        case_ids = [r.id for r in jobs.execute(text("SELECT id FROM cases ORDER BY id"))]
        for index, stage, placement in case_changes:
            if case_ids:
                case_id = case_ids[index % len(case_ids)]
                village = jobs.execute(text("UPDATE cases SET stage = :s, accepted_at = coalesce(accepted_at, :now) "
                                            "WHERE id = :id RETURNING region_code"),
                                       {"s": stage, "now": NOW, "id": case_id}).scalar_one()
                if placement:
                    jobs.execute(insert(CaseAction.__table__), [{
                        "case_id": case_id, "region_code": village, "kind": "temporary_placement", "stage": stage,
                        "data": {}, "note": "", "by_unit_code": village[:6], "at": NOW}])
                touched.add(village)
        touched |= {VILLAGES[row["village"]] for row in new_cases}
        insert_cases(jobs, new_cases, VILLAGES, NOW)
        user_units |= insert_roster(jobs, new_roster, VILLAGES + TOWNSHIPS, TODAY, NOW)
        rollup.recompute(jobs, sorted(c for c in touched if len(c) == 12),
                         unit_codes=sorted(user_units))
        incremental = stored(jobs)
        rollup.rebuild(jobs)
        assert stored(jobs) == incremental
        savepoint.rollback()


def test_verify_reports_a_tampered_row_and_a_missing_one(jobs):
    with jobs.begin_nested() as savepoint, clock.frozen(NOW):
        insert_dataset(jobs, {"children": [
            {"village": 0, "left_behind": True, "difficulty": None, "de_facto": False, "sex": "male",
             "age_days": 3000, "guardianship": "fair", "schooling": "primary", "registered": True, "risk": "low",
             "unattended": False, "exit": None, "exited_days": None, "created_days": 3, "visits": []}],
            "users": [], "tasks": [], "policy": None}, [0])
        rollup.rebuild(jobs, "440203")
        assert rollup.verify(jobs, "440203") == []
        before = jobs.execute(text("SELECT left_behind FROM unit_stats WHERE unit_code = '440203'")).scalar()
        assert before >= 1
        jobs.execute(text("UPDATE unit_stats SET left_behind = left_behind + 5 WHERE unit_code = '440203'"))
        jobs.execute(text("DELETE FROM unit_stats_monthly WHERE unit_code = '440203001003'"))
        jobs.execute(text("DELETE FROM unit_stats WHERE unit_code = '440203001003'"))
        problems = rollup.verify(jobs, "440203")
        assert ("440203", "left_behind", before + 5, before) in problems
        assert ("440203001003", "villages_total", None, 1) in problems
        assert {p[0] for p in problems} == {"440203", "440203001003"}
        # The sibling county is outside the checked subtree and was never built: not reported.
        assert not [p for p in problems if p[0].startswith("440204")]
        rollup.rebuild(jobs, "440203")
        assert rollup.verify(jobs, "440203") == []
        savepoint.rollback()


def test_campaign_rows_carry_their_level_and_each_step_reads_the_level_below_through_its_index(jobs):
    """Each stored campaign row carries its unit's level, and the step that sums a level's rows can find the rows
    of the level below through (level, unit_code) under the jobs role's row-level security. By length(unit_code),
    which is not leakproof, it could not: a province's step walked every stored row of the province."""
    from sqlalchemy import event

    with jobs.begin_nested() as savepoint, clock.frozen(NOW):
        insert_dataset(jobs, {"children": [], "users": [], "policy": None,
                              "tasks": [(0, 0, "draft", 3, None), (5, 0, "pending", -2, None)]}, [0])
        rollup.rebuild(jobs)
        rows = jobs.execute(text("SELECT unit_code, level FROM unit_campaign_stats")).all()
        assert {code for code, _level in rows} >= {"44", "4402", "440203", "440203001", VILLAGES[0], VILLAGES[5]}
        assert all(level == LEVEL_BY_LENGTH[len(code)] for code, level in rows)

        summing = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM unit_campaign_stats s" in statement:
                summing.append((statement, parameters))

        event.listen(jobs, "before_cursor_execute", capture)
        try:
            rollup.recompute(jobs, [VILLAGES[0]])
        finally:
            event.remove(jobs, "before_cursor_execute", capture)
        assert len(summing) == 4  # township, county, city, province
        jobs.execute(text("SET LOCAL enable_seqscan = off"))  # the tables are tiny: ask what the plan can use
        for statement, parameters in summing:
            plan = "\n".join(jobs.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
            assert "ix_unit_campaign_stats_level_unit_code" in plan, plan
        savepoint.rollback()


def test_rebuild_of_a_subtree_reaches_its_ancestors_only(jobs):
    with jobs.begin_nested() as savepoint, clock.frozen(NOW):
        jobs.execute(text("DELETE FROM unit_stats_monthly"))
        jobs.execute(text("DELETE FROM unit_stats"))
        written = rollup.rebuild(jobs, "440203001")
        codes = {r.unit_code for r in jobs.execute(text("SELECT unit_code FROM unit_stats"))}
        assert {"44", "4402", "440203", "440203001", "440203001002"} <= codes
        assert not [c for c in codes if c.startswith("440204") or c.startswith("440203100")]
        assert written["units"]["province"] == 1 and written["units"]["township"] == 1
        savepoint.rollback()


def test_monthly_snapshots_keep_each_months_last_figures(jobs):
    with jobs.begin_nested() as savepoint:
        # Snapshots other tests committed (of today's month) are not this test's business.
        jobs.execute(text("DELETE FROM unit_stats_monthly"))
        row = {"village": 0, "left_behind": True, "difficulty": None, "de_facto": False, "sex": "female",
               "age_days": 2000, "guardianship": "good", "schooling": None, "registered": True, "risk": "low",
               "unattended": False, "exit": None, "exited_days": None, "created_days": 1, "visits": []}
        with clock.frozen(NOW):
            insert_dataset(jobs, {"children": [row, row], "users": [], "tasks": [], "policy": None}, [0])
            rollup.rebuild(jobs)
        with clock.frozen(NOW + timedelta(days=20)):  # July
            rollup.recompute(jobs, [VILLAGES[0]])
            jobs.execute(text("UPDATE children SET is_left_behind = FALSE WHERE region_code = :v"), {"v": VILLAGES[0]})
            rollup.recompute(jobs, [VILLAGES[0]])
        months = {r.month: r.left_behind for r in jobs.execute(text(
            "SELECT month, left_behind FROM unit_stats_monthly WHERE unit_code = '440203' ORDER BY month"))}
        june, july = date(2026, 6, 1), date(2026, 7, 1)
        assert months[june] >= 2 and months[july] == months[june] - 2
        # The sibling county was not touched in July: its snapshot stays June's only.
        assert [r.month for r in jobs.execute(text(
            "SELECT month FROM unit_stats_monthly WHERE unit_code = '440204'"))] == [june]
        savepoint.rollback()


def test_age_cut_offs_on_a_leap_day():
    assert years_before(date(2028, 2, 29), 6) == date(2022, 2, 28)
    assert years_before(date(2026, 6, 15), 17) == date(2009, 6, 15)
