"""Benchmark of the campaign fan-out at province scale (PostgreSQL), on a dedicated database.

1. Loads the synthetic province 41 (~52,000 villages, hierarchy.synthetic) unless present.
2. Creates a campaign at the province (status publishing) and times the fan-out job function
   (`fan_out_campaign`: lock, tasks, receipts, counts, outbox row, commit) under the province's scope. The
   roll-up of the campaign's figures that the commit requests is the worker's: with no Redis configured it
   would run inline after the commit, so the bench holds it back and times it separately (step 5).
3. The baseline: a bare `INSERT … SELECT` of the same task rows into `tasks` itself (same keys, indexes,
   foreign keys and row-level security), as the application role under the province's scope, commit
   included, for a scratch draft campaign deleted afterwards. For reference, the same rows into a TEMP copy
   of `tasks` (same columns, defaults and indexes; no foreign keys, no row-level security, no WAL).
4. Times publishing again: the same job, which inserts nothing.
5. ANALYZE tasks (what autovacuum does after a bulk insert); drains the outbox (the roll-up the worker runs
   after the fan-out); then the median of several runs of the province's progress (`progress.progress`,
   served from the roll-up's stored figures while they are exact) and of the same computed from the tasks
   (`progress.progress_live`, one GROUP BY), and of a village's task list
   (`tenant_app.tasks.services.list_tasks`), each under its unit's scope in a fresh session.
Everything it creates (the campaigns, their tasks and receipts, the scratch table) is removed at the end; the
synthetic province stays.
"""

from __future__ import annotations

import statistics
import time
from types import SimpleNamespace

from sqlalchemy import text

from hierarchy.codes import CODE_LENGTHS, Level
from hierarchy.scope import Scope, apply_db_scope, job_scope, scoped
from tenant_app import clock
from tenant_app.campaigns import fanout
from tenant_app.campaigns import progress as tracking
from tenant_app.campaigns.models import Campaign
from tenant_app.children.bench import PROVINCE, ensure_province

SCRATCH = "bench_scratch_tasks"


def _say(echo, key: str, value) -> None:
    echo(f"{key:<34} {value}")


def _median_ms(fn, runs: int) -> tuple[float, float]:
    timings = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        fn()
        timings.append((time.perf_counter() - started) * 1000)
    return timings[0], statistics.median(timings[1:])


def _owner_sql(db, statements: list[str], echo) -> bool:
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
        return True
    except Exception as exc:  # noqa: BLE001 - only the tables' owner may; reported
        _say(echo, "owner statement skipped", f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}")
        return False
    finally:
        engine.dispose()


def _create_campaign(db, due, status: str = "publishing") -> int:
    with db.engine.begin() as connection:
        apply_db_scope(connection, Scope.unit(PROVINCE))
        return connection.execute(text(
            "INSERT INTO campaigns (issuer_code, province_code, title, directive, kind, target_level, "
            "reviewer_level, starts_on, due_on, questions, status, task_count, receipt_count, created_at, "
            "published_at, version) VALUES "
            "(:p, :province, '扇出基准', '', 'census', 5, 4, :d, :d, :q, :status, 0, 0, :now, :now, 1) RETURNING id"),
            {"status": status, "p": PROVINCE, "province": PROVINCE[:2], "d": due, "now": clock.now(),
             "q": '[{"key": "children_rechecked", "label": "已核实", "type": "integer", "required": true}]'}
        ).scalar_one()


def _bare_params(campaign_id: int, due) -> dict:
    return {"cid": campaign_id, "lo": PROVINCE, "hi": PROVINCE + ":", "target": int(Level.village),
            "reviewer_length": CODE_LENGTHS[Level.township], "due_on": due}


_BARE_SQL = (f"INSERT INTO {SCRATCH} ({fanout.TASKS_COLUMNS}) {fanout.TASKS_SELECT}"
             "\nON CONFLICT DO NOTHING")


def _bare_as_app(db, campaign_id: int, due) -> tuple[float, int]:
    """The same rows into a TEMP copy of tasks (same defaults, constraints, indexes), as the application role
    under the province's scope (the read of units pays the same row-level security), commit included."""
    with db.engine.connect() as connection:
        with connection.begin():
            connection.execute(text(f"CREATE TEMP TABLE {SCRATCH} (LIKE tasks INCLUDING DEFAULTS "
                                    "INCLUDING CONSTRAINTS INCLUDING INDEXES)"))
        try:
            started = time.perf_counter()
            with connection.begin():
                apply_db_scope(connection, Scope.unit(PROVINCE))
                rows = connection.execute(text(_BARE_SQL), _bare_params(campaign_id, due)).rowcount
            return time.perf_counter() - started, rows
        finally:
            with connection.begin():
                connection.execute(text(f"DROP TABLE {SCRATCH}"))


def _bare_into_tasks(db, due) -> tuple[float, int]:
    """The same task rows into `tasks` for a scratch draft campaign, the statement alone: as the application
    role under the province's scope, commit included. The scratch campaign (and its rows) is deleted after."""
    scratch = _create_campaign(db, due, status="draft")
    try:
        with db.engine.connect() as connection:
            started = time.perf_counter()
            with connection.begin():
                apply_db_scope(connection, Scope.unit(PROVINCE))
                rows = connection.execute(
                    text(f"INSERT INTO tasks ({fanout.TASKS_COLUMNS}) "
                         f"{fanout.TASKS_SELECT}\nON CONFLICT DO NOTHING"),
                    _bare_params(scratch, due)).rowcount
            return time.perf_counter() - started, rows
    finally:
        _delete_campaign(db, scratch)


def _delete_campaign(db, campaign_id: int) -> None:
    with db.engine.begin() as connection:
        apply_db_scope(connection, Scope.unit(PROVINCE))
        connection.execute(text("DELETE FROM campaigns WHERE id = :c"), {"c": campaign_id})


def bench_fanout(db, villages: int = 52_000, runs: int = 7, echo=print) -> dict:
    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench fanout needs PostgreSQL")
    from sync.outbox import drain_outbox, drains_held

    present = ensure_province(db, villages, echo)
    _say(echo, "villages in the province", f"{present:,}")
    due = clock.today_cst()
    campaign_id = _create_campaign(db, due)
    figures: dict = {}
    try:
        with drains_held():
            bare_before, rows = _bare_into_tasks(db, due)
            with job_scope(PROVINCE):
                started = time.perf_counter()
                result = fanout.fan_out_campaign(campaign_id)
                figures["fanout_s"] = time.perf_counter() - started
            bare_after, _ = _bare_into_tasks(db, due)
            figures["bare_s"] = (bare_before + bare_after) / 2
            figures["ratio"] = figures["fanout_s"] / figures["bare_s"]
            _say(echo, "fan-out (job, commit included)",
                 f"{figures['fanout_s']:.3f} s: {result['tasks']:,} tasks, {result['receipts']:,} receipts")
            _say(echo, "bare INSERT … SELECT into tasks", f"{figures['bare_s']:.3f} s: {rows:,} rows (mean of "
                 f"{bare_before:.3f} s before and {bare_after:.3f} s after)")
            _say(echo, "fan-out / bare", f"{figures['ratio']:.2f}x")
            figures["bare_temp_s"], temp_rows = _bare_as_app(db, campaign_id, due)
            _say(echo, "reference: into a TEMP copy", f"{figures['bare_temp_s']:.3f} s: {temp_rows:,} rows "
                 "(no foreign keys, no RLS, no WAL)")
            with job_scope(PROVINCE):
                started = time.perf_counter()
                again = fanout.fan_out_campaign(campaign_id)
                figures["republish_s"] = time.perf_counter() - started
            _say(echo, "publish again (no-op)", f"{figures['republish_s']:.3f} s: {again['tasks']} new tasks")
        _owner_sql(db, ["ANALYZE tasks", "ANALYZE campaign_receipts"], echo)
        with job_scope(all_tenants=True):
            started = time.perf_counter()
            drained = drain_outbox()
            figures["rollup_s"] = time.perf_counter() - started
        _say(echo, "roll-up after the fan-out (worker)", f"{figures['rollup_s']:.3f} s: {drained['units']:,} "
             "units' figures")

        def province_progress(compute, key):
            def run():
                with scoped(Scope.unit(PROVINCE)):
                    session = db.new_session()
                    try:
                        figures[key] = compute(session, session.get(Campaign, campaign_id), PROVINCE)
                    finally:
                        session.rollback()
                        session.close()
            return run

        for compute, key, label in ((tracking.progress, "progress", "progress, whole province"),
                                    (tracking.progress_live, "progress_live", "  computed from the tasks")):
            first, median = _median_ms(province_progress(compute, key), runs)
            figures[f"{key}_ms"] = median
            _say(echo, label, f"median {median:.1f} ms (first {first:.1f} ms, {figures[key]['total']:,} tasks, "
                 f"{len(figures[key]['children'])} cities, from the {figures[key]['source']} figures)")
        if {k: v for k, v in figures["progress"].items() if k != "source"} != \
                {k: v for k, v in figures["progress_live"].items() if k != "source"}:
            raise RuntimeError("stored and computed progress differ")

        with db.engine.connect() as connection:
            apply_db_scope(connection, Scope.unit(PROVINCE))
            village = connection.execute(text("SELECT min(region_code) FROM tasks WHERE campaign_id = :c"),
                                         {"c": campaign_id}).scalar()

        def village_list():
            from tenant_app.tasks.services import list_tasks

            actor = SimpleNamespace(id=None, region_code=village, role="staff")
            with scoped(Scope.unit(village)):
                session = db.new_session()
                try:
                    figures["village_rows"] = list_tasks(session, actor)[1]
                finally:
                    session.rollback()
                    session.close()

        first, median = _median_ms(village_list, runs)
        figures["village_list_ms"] = median
        _say(echo, "a village's task list (list_tasks)", f"median {median:.1f} ms (first {first:.1f} ms, "
             f"{figures['village_rows']} task(s), {village})")
    finally:
        _delete_campaign(db, campaign_id)
    figures.pop("progress", None)
    figures.pop("progress_live", None)
    return figures
