"""The drain and its jobs: inline without Redis, real RQ workers on the real Redis, bursts, duplicates, a job
killed halfway, Redis unreachable then back, failed jobs kept and shown, the worker's housekeeping.

Figures are always checked against sync.rollup.verify (a recount straight from the source rows)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import select, text

from hierarchy.scope import Scope, job_scope, scoped
from sync import outbox, queues, rollup
from sync.jobs import redis_connection
from sync.worker import Housekeeper, schedule_nightly
from tenant_app import clock
from tenant_app.children.demo import generate_children
from tenant_app.children.models import Child
from tenant_app.db import db
from tests.test_children_api import child_payload

TOWNSHIP = "440203001"
VILLAGE = "440203001002"
CLOSED_PORT = "redis://127.0.0.1:6390/0"


def operator(fn, commit: bool = True):
    """Run fn(connection) in a session with the all-tenants scope (inside the test's transaction)."""
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        try:
            result = fn(session.connection())
            if commit:
                session.commit()
            return result
        finally:
            session.close()


def outbox_count() -> int:
    return operator(lambda c: c.execute(text("SELECT count(*) FROM sync_outbox")).scalar(), commit=False)


def problems(unit: str | None = None) -> list:
    return operator(lambda c: rollup.verify(c, unit), commit=False)


def stored(unit: str) -> dict:
    return operator(lambda c: dict(c.execute(text("SELECT * FROM unit_stats WHERE unit_code = :u"),
                                              {"u": unit}).mappings().one()), commit=False)


@pytest.fixture
def built(app, db_connection):
    """Every unit's figures computed, the outbox empty, children in the township: the state after a rebuild."""
    generate_children(db_connection, 24, TOWNSHIP, seed=11)

    def setup(connection):
        connection.execute(text("DELETE FROM sync_outbox"))
        rollup.rebuild(connection)

    operator(setup)
    assert problems(TOWNSHIP) == []


@pytest.fixture
def held(monkeypatch):
    """Commits do not request drains: the test drains when it chooses."""
    calls = []
    monkeypatch.setattr(outbox, "request_drain", lambda *a, **k: calls.append(k))
    return calls


@pytest.fixture
def redis13(redis_url, monkeypatch):
    """The test's own Redis database, emptied, with jobs enqueued there by commits."""
    connection = redis_connection(redis_url)
    connection.flushdb()
    outbox.redis_outage.reset()
    yield connection
    connection.flushdb()


@pytest.fixture
def redis_app(app, redis_url, redis13, monkeypatch):
    """Commits in this test enqueue their drains on the test's Redis (the app's configuration)."""
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", redis_url)
    with app.app_context():
        yield app


def change_children(n: int, prefix: str = TOWNSHIP) -> set[str]:
    """n separate commits, each changing one child's risk level (a figure); returns the villages touched."""
    villages = set()
    with scoped(Scope(all_tenants=True)):
        ids = [row for row in db.new_session().execute(
            select(Child.id).where(Child.region_code.like(prefix + "%")).order_by(Child.id)).scalars()]
    for i in range(n):
        with scoped(Scope(all_tenants=True)):
            session = db.new_session()
            child = session.get(Child, ids[i % len(ids)])
            levels = ("high", "medium", "low")
            child.risk_level = levels[(levels.index(child.risk_level) + 1) % 3]  # always a real change
            villages.add(child.region_code)
            session.commit()
            session.close()
    return villages


def drain():
    with job_scope(all_tenants=True):
        return outbox.drain_outbox()


def work(connection, *names) -> None:
    names = names or (queues.ROLLUP,)
    SimpleWorker([Queue(name, connection=connection) for name in names], connection=connection).work(burst=True)


# --- inline (no Redis) -----------------------------------------------------------------------------------

def test_without_redis_a_commit_drains_inline_and_figures_are_exact(client, built, make_user, token_for):
    before = stored("44")["children_total"]
    headers = token_for(make_user(VILLAGE, "staff").username)
    assert outbox_count() == 0
    response = client.post("/api/v1/children", json=child_payload(), headers=headers)
    assert response.status_code == 201, response.get_json()
    assert outbox_count() == 0  # drained right after the request's commit
    assert problems(TOWNSHIP) == []
    assert problems("4402") == []
    assert stored("44")["children_total"] == before + 1
    assert not [p for p in problems() if len(p[0]) < 9]  # the county, city and province too


def test_a_burst_under_one_township_recomputes_it_and_each_ancestor_once(built, held, monkeypatch):
    villages = change_children(50)
    assert len(held) == 50 and outbox_count() == 50
    calls = []

    def counting(connection, village_codes=None, **kwargs):
        calls.append((sorted(village_codes or []), kwargs))
        return rollup.recompute(connection, village_codes, **kwargs)

    monkeypatch.setattr(outbox, "recompute_hook", counting)
    report = drain()
    assert len(calls) == 1
    assert calls[0][0] == sorted(villages) and calls[0][1] == {"unit_codes": []}
    assert report["events"] == 50 and report["batches"] == 1
    # Each village once, then the township, county, city and province once each.
    assert report["units"] == len(villages) + 4
    assert outbox_count() == 0
    assert problems(TOWNSHIP) == [] and not [p for p in problems() if len(p[0]) < 9]


def _open_campaign_with_tasks(connection, villages: list[str]) -> int:
    """An open campaign with a pending task in each village, written directly (as a fan-out leaves them)."""
    from tenant_app.campaigns.models import Campaign, Task

    today = clock.today_cst()
    campaign_id = connection.execute(Campaign.__table__.insert().returning(Campaign.__table__.c.id), {
        "issuer_code": "44", "title": "假期安全排查", "directive": "", "kind": "census", "starts_on": today,
        "due_on": today, "questions": [], "status": "open", "task_count": len(villages),
        "receipt_count": 0}).scalar()
    connection.execute(Task.__table__.insert(), [
        {"campaign_id": campaign_id, "region_code": code, "reviewer_code": "440203", "due_on": today,
         "status": "pending"} for code in villages])
    return campaign_id


def test_task_writes_recompute_the_campaign_figures_and_leave_the_others(built, held):
    """A batch of task writes alone recomputes the campaigns' progress of its villages and their ancestors, not
    their other figures (nothing of those depends on tasks); a village with a child's change as well in the
    same batch has every figure recomputed."""
    villages = sorted(r[0] for r in operator(lambda c: c.execute(text(
        "SELECT code FROM units WHERE parent_code = :t ORDER BY code"), {"t": TOWNSHIP}).all(), commit=False))
    written_at = {code: stored(code)["as_of"] for code in (villages[0], TOWNSHIP, "44")}

    def tasks_written(connection):
        campaign = _open_campaign_with_tasks(connection, villages)
        connection.execute(text("UPDATE tasks SET status = 'draft' WHERE campaign_id = :c AND region_code = :v"),
                           {"c": campaign, "v": villages[0]})
        outbox.record_bulk(connection, villages, "tasks")
        return campaign

    campaign = operator(tasks_written)
    assert [p for p in problems(TOWNSHIP) if p[1].startswith(f"campaign:{campaign}:")]  # not rolled up yet
    report = drain()  # later than the rebuild: rows it rewrote carry a later as_of
    assert report["events"] == len(villages) and report["units"] == 0  # no unit's own figures rewritten
    assert problems(TOWNSHIP) == [] and not [p for p in problems() if len(p[0]) < 9]
    assert {code: stored(code)["as_of"] for code in written_at} == written_at
    progress = operator(lambda c: c.execute(text(
        "SELECT total, draft FROM unit_campaign_stats WHERE unit_code = '44' AND campaign_id = :c"),
        {"c": campaign}).one(), commit=False)
    assert tuple(progress) == (len(villages), 1)

    # A child's change of the same village in the same batch: all its figures, and its ancestors'.
    touched = sorted(change_children(1))
    operator(lambda c: outbox.record_bulk(c, touched, "tasks"))
    report = drain()
    assert report["units"] >= 5
    assert problems(TOWNSHIP) == [] and not [p for p in problems() if len(p[0]) < 9]
    assert stored("44")["as_of"] > written_at["44"]


def test_a_duplicated_drain_counts_nothing_twice(built, held):
    change_children(6)
    drain()
    after_first = stored(TOWNSHIP)
    # The same changes delivered again (a duplicated or retried job): same figures, not added twice.
    operator(lambda c: c.execute(text(
        "INSERT INTO sync_outbox (region_code, kind, created_at) "
        "SELECT code, 'children', now() FROM units WHERE parent_code = :t"), {"t": TOWNSHIP}))
    report = drain()
    assert report["events"] > 0
    again = stored(TOWNSHIP)
    assert {k: v for k, v in again.items() if k != "as_of"} == {k: v for k, v in after_first.items() if k != "as_of"}
    assert problems(TOWNSHIP) == []


def test_a_drain_killed_halfway_rolls_back_and_a_rerun_gives_exact_figures(built, held, monkeypatch):
    villages = change_children(5)
    pending = outbox_count()
    before = {code: stored(code) for code in (*villages, TOWNSHIP, "44")}

    def dies_after_writing(connection, village_codes=None, **kwargs):
        rollup.recompute(connection, village_codes, **kwargs)  # figures written ...
        raise RuntimeError("worker killed")  # ... then the job dies before its commit

    monkeypatch.setattr(outbox, "recompute_hook", dies_after_writing)
    with pytest.raises(RuntimeError, match="worker killed"):
        drain()
    assert outbox_count() == pending  # nothing taken
    assert {code: stored(code) for code in before} == before  # nothing half-written
    assert problems(TOWNSHIP) != []  # the changes are still waiting to be counted
    monkeypatch.setattr(outbox, "recompute_hook", None)
    drain()
    assert outbox_count() == 0
    assert problems(TOWNSHIP) == []


# --- RQ on the real Redis --------------------------------------------------------------------------------

def test_a_burst_of_commits_queues_one_drain_and_a_real_worker_runs_it(built, redis_app, redis13):
    change_children(20)
    rollup_queue = Queue(queues.ROLLUP, connection=redis13)
    assert rollup_queue.job_ids == ["rollup-drain-1"]  # 20 commits, one queued drain
    assert outbox_count() == 20
    work(redis13)
    job = Job.fetch("rollup-drain-1", connection=redis13)
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value()["events"] == 20
    assert outbox_count() == 0 and problems(TOWNSHIP) == []
    # Once it has finished, the next change queues a new drain.
    change_children(1)
    assert rollup_queue.job_ids == ["rollup-drain-2"]
    work(redis13)
    assert Job.fetch("rollup-drain-2", connection=redis13).get_status() == "finished"
    assert outbox_count() == 0 and problems(TOWNSHIP) == []


def test_a_change_committed_while_a_drain_runs_gets_its_own_drain(built, redis_app, redis13, monkeypatch):
    change_children(3)
    during = []

    def with_a_concurrent_commit(connection, village_codes=None, **kwargs):
        if not during:
            # A change that lands after this drain took its rows, and its commit-time request (the job has
            # already cleared the "queued" flag, so this queues the next drain).
            during.append(connection.execute(text(
                "UPDATE children SET risk_level = CASE risk_level WHEN 'high' THEN 'low' ELSE 'high' END "
                "WHERE id = (SELECT min(id) FROM children WHERE region_code = :v) RETURNING id"),
                {"v": VILLAGE}).scalar_one())
            outbox.record_bulk(connection, [VILLAGE], "children")
            outbox.request_drain()
        return rollup.recompute(connection, village_codes, **kwargs)

    monkeypatch.setattr(outbox, "recompute_hook", with_a_concurrent_commit)
    work(redis13)  # runs drain 1, which caused drain 2, which the burst worker also runs
    statuses = {job_id: Job.fetch(job_id, connection=redis13).get_status()
                for job_id in ("rollup-drain-1", "rollup-drain-2")}
    assert statuses == {"rollup-drain-1": "finished", "rollup-drain-2": "finished"}
    assert outbox_count() == 0 and problems(TOWNSHIP) == []


def test_two_drain_jobs_for_the_same_changes_give_exact_figures(app, built, redis13, redis_url, held):
    change_children(8)
    first = outbox._enqueue_drain(redis_url, force=True)
    second = outbox._enqueue_drain(redis_url, force=True)
    assert (first.id, second.id) == ("rollup-drain-1", "rollup-drain-2")
    work(redis13)
    assert first.get_status() == "finished" and second.get_status() == "finished"
    assert first.return_value()["events"] == 8 and second.return_value()["events"] == 0
    assert problems(TOWNSHIP) == []


def test_redis_unreachable_writes_succeed_and_the_outbox_drains_when_it_is_back(
        app, client, built, redis13, redis_url, make_user, token_for, monkeypatch, caplog):
    headers = token_for(make_user(VILLAGE, "staff").username)
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", CLOSED_PORT)
    caplog.set_level(logging.WARNING, logger="sync.outbox")
    for seq in ("013", "023", "033"):
        payload = child_payload(id_number=child_payload()["id_number"][:14] + seq + "X")
        payload["id_number"] = _valid_id(seq)
        response = client.post("/api/v1/children", json=payload, headers=headers)
        assert response.status_code == 201, response.get_json()
    assert outbox_count() >= 3  # kept: the write committed, the drain could not be queued
    assert "outbox keeps the rows" in caplog.text
    assert "李小明" not in caplog.text and _valid_id("013") not in caplog.text  # no personal data in logs
    assert problems(TOWNSHIP) != []  # not counted yet
    # Redis is back: the worker's housekeeping finds rows older than its interval and queues a drain.
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", redis_url)
    housekeeper = Housekeeper(redis_url, db, interval=30)
    with clock.frozen(clock.now() + timedelta(seconds=45)):
        done = housekeeper.tick()
    assert done["pending"] >= 3 and done["drain"] is not None
    work(redis13)
    assert done["drain"].get_status() == "finished"
    assert outbox_count() == 0
    assert problems(TOWNSHIP) == []


def _valid_id(seq: str) -> str:
    from tenant_app.children import idcard

    first17 = "440203" + "20160301" + seq
    return first17 + idcard.check_char(first17)


def test_a_failing_drain_is_retried_with_backoff_then_kept_and_shown(app, built, redis13, redis_url, held,
                                                                     monkeypatch):
    from click.testing import CliRunner

    from tenant_app.cli import main

    change_children(2)

    def broken(connection, village_codes=None, **kwargs):
        raise RuntimeError("roll-up broke")

    monkeypatch.setattr(outbox, "recompute_hook", broken)
    job = outbox._enqueue_drain(redis_url, force=False)
    work(redis13)
    assert job.get_status() == "scheduled"  # retried later (1 s, 5 s, 30 s), not lost
    assert ScheduledJobRegistry(queue=Queue(queues.ROLLUP, connection=redis13)).get_job_ids() == [job.id]
    # Out of retries: the job fails and is kept (7 days), visible to operators.
    # Its last attempt now, rather than after 1 + 5 + 30 s.
    job = Job.fetch(job.id, connection=redis13)
    ScheduledJobRegistry(queue=Queue(queues.ROLLUP, connection=redis13)).remove(job)
    job.retries_left = 0
    job.save()
    Queue(queues.ROLLUP, connection=redis13).enqueue_job(job)
    work(redis13)
    assert job.get_status() == "failed"
    failed = FailedJobRegistry(queue=Queue(queues.ROLLUP, connection=redis13))
    assert failed.get_job_ids() == [job.id]
    assert outbox_count() == 2  # the changes wait for the next drain
    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", redis_url)
    result = CliRunner().invoke(main, ["sync", "status"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "outbox: 2 pending (children 2)" in result.output
    assert "rollup   queued 0, running 0, scheduled 0, failed 1" in result.output
    assert f"failed {job.id}: RuntimeError: roll-up broke" in result.output


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda *a, **k: app)


def test_sync_status_without_redis_and_the_last_rollup_per_level(app, built, held, monkeypatch):
    from click.testing import CliRunner

    from tenant_app.cli import main

    change_children(1)
    with clock.frozen(clock.now() + timedelta(seconds=90)):
        result = CliRunner().invoke(main, ["sync", "status"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "outbox: 1 pending (children 1), oldest 90 s ago" in result.output
    assert "jobs: run inline after each commit (SHOUHU_REDIS_URL is not set)" in result.output
    for level in ("province", "city", "county", "township", "village"):
        assert f"  {level}" in result.output
    result = CliRunner().invoke(main, ["sync", "drain"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "drained 1 outbox rows in 1 batches" in result.output
    assert outbox_count() == 0 and problems(TOWNSHIP) == []


def test_status_says_when_redis_is_unreachable(app, built, held, monkeypatch):
    from click.testing import CliRunner

    from tenant_app.cli import main

    monkeypatch.setitem(app.config, "SHOUHU_REDIS_URL", CLOSED_PORT)
    result = CliRunner().invoke(main, ["sync", "status"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "redis: UNREACHABLE" in result.output and "last roll-up per level:" in result.output


# --- the worker's housekeeping ---------------------------------------------------------------------------

def test_housekeeping_leaves_fresh_rows_to_their_commit_and_forces_a_drain_for_old_ones(app, built, redis13,
                                                                                         redis_url):
    operator(lambda c: outbox.record_bulk(c, [VILLAGE, "440203001003"], "children"))
    housekeeper = Housekeeper(redis_url, db, interval=30)
    redis13.set(outbox.PENDING_KEY, "1")  # a flag left behind by a lost enqueue
    assert housekeeper.tick()["drain"] is None  # fresh rows: the flag says a drain is queued
    with clock.frozen(clock.now() + timedelta(seconds=31)):
        job = housekeeper.tick()["drain"]
    assert job is not None  # old rows: queued regardless of the flag
    work(redis13)
    assert job.get_status() == "finished" and outbox_count() == 0
    assert housekeeper.tick()["pending"] == 0


def test_the_nightly_rebuild_is_queued_once_per_day_after_0005_cst(app, built, redis13, redis_url):
    before = datetime(2026, 12, 1, 0, 4, tzinfo=clock.CST)
    after = datetime(2026, 12, 1, 0, 6, tzinfo=clock.CST)
    with clock.frozen(before):
        assert schedule_nightly(redis_url) is None
    with clock.frozen(after):
        job = schedule_nightly(redis_url)
        assert job.id == "rollup-rebuild-2026-12-01"
        assert schedule_nightly(redis_url) is None  # another worker, or the next tick: already done
    # Rows changed behind the roll-up's back (e.g. by hand) are set right by the rebuild.
    operator(lambda c: c.execute(text("UPDATE unit_stats SET children_total = children_total + 7 "
                                      "WHERE unit_code = :t"), {"t": TOWNSHIP}))
    assert problems(TOWNSHIP) != []
    work(redis13)
    assert job.get_status() == "finished", job.latest_result()
    assert problems(TOWNSHIP) == []
    with clock.frozen(after + timedelta(days=1)):
        assert schedule_nightly(redis_url).id == "rollup-rebuild-2026-12-02"
