"""Jobs run with an explicit scope, inline and on a real RQ worker against the real Redis."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text

from hierarchy.models import Unit
from hierarchy.scope import Scope, ScopeViolation, job_scope, scoped
from sync.jobs import enqueue, redis_connection
from tenant_app.db import db


def _expected_visible(code: str) -> int:
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        subtree = session.scalar(select(func.count()).select_from(Unit).where(Unit.code.like(f"{code}%")))
        session.close()
    return subtree + len([n for n in (2, 4, 6, 9) if n < len(code)])


def test_inline_job_sees_only_its_scope(app):
    result = enqueue("sync.demo_jobs.count_visible_units", job_id="count-440203", scope_code="440203")
    assert result == {"scope": "440203", "units": _expected_visible("440203")}
    everything = enqueue("sync.demo_jobs.count_visible_units", job_id="count-all", all_tenants=True)
    assert everything["units"] == 1592 + 75


def test_a_job_without_scope_is_refused(app):
    with pytest.raises(ValueError):
        enqueue("sync.demo_jobs.count_visible_units", job_id="no-scope")


def test_all_tenants_scope_is_refused_inside_a_request(app):
    with app.test_request_context("/"), pytest.raises(ScopeViolation), job_scope(all_tenants=True):
        pass


def test_rq_worker_runs_job_with_its_scope(_app, redis_url):
    # The worker needs committed data and its own connections: no test transaction here.
    job = enqueue("sync.demo_jobs.count_visible_units", job_id="count-44020300", scope_code="440203001",
                  queue="default", redis_url=redis_url)
    assert job.id == "count-44020300"
    connection = redis_connection(redis_url)
    SimpleWorker([Queue("default", connection=connection)], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() == {"scope": "440203001", "units": _expected_visible("440203001")}


def test_job_scope_sets_the_database_scope(_app):
    with job_scope("340604"), db.session_scope(commit=False) as session:
        assert session.execute(text("SELECT current_setting('app.scope')")).scalar() == "340604"
        assert session.execute(text("SELECT current_user")).scalar() == "shouhu_app"
