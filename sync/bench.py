"""`shouhu bench rollup`: the roll-up at province scale, on a dedicated PostgreSQL database (it commits).

1. The synthetic province (~52,000 villages) and its children (1,000,000 by default), generated once: a rerun
   finds them and skips the generation.
2. The full rebuild (every unit's figures, snapshots and campaign progress; commit included), and in the same
   run a bare `SELECT region_code, count(*), … GROUP BY region_code` over the same children: the ratio says
   what the indicators and the levels cost over one pass.
3. The province's stats API call through the application (token auth, scoping, serialisation): median of
   several calls.
4. With SHOUHU_REDIS_URL: one child edited through the API in one village, and the time until the province's
   stored figures reflect it, with a `shouhu worker` process running.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from sqlalchemy import select, text

from hierarchy.scope import Scope, apply_db_scope, job_scope, scoped
from tenant_app.children.bench import PROVINCE, _say, ensure_children

PASSWORD = "Bench-rollup-2026"


def time_rebuild(db) -> float:
    from sync.rollup import rebuild

    started = time.perf_counter()
    with job_scope(all_tenants=True), db.session_scope() as session:
        rebuild(session.connection())
    return time.perf_counter() - started


def time_bare_group_by(db) -> float:
    started = time.perf_counter()
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        connection.execute(text(
            "SELECT region_code, count(*), count(*) FILTER (WHERE is_left_behind), "
            "count(*) FILTER (WHERE unattended) FROM children GROUP BY region_code")).all()
    return time.perf_counter() - started


def _user(db, code: str, role: str, username: str):
    from tenant_app.auth.models import User
    from tenant_app.auth.passwords import hash_password

    with db.session_scope(Scope(all_tenants=True)) as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            session.add(User(region_code=code, username=username, role=role, password_hash=hash_password(PASSWORD),
                             real_name="基准测试", phone="13800000000"))
    return username


def _token(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def time_api(app, db, runs: int = 15) -> dict:
    client = app.test_client()
    headers = _token(client, _user(db, PROVINCE, "viewer", "bench_rollup_province"))
    timings = []
    body = None
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(f"/api/v1/stats/{PROVINCE}", headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
    return {"first_ms": timings[0], "median_ms": statistics.median(timings[1:]), "max_ms": max(timings[1:]),
            "children_total": body["indicators"]["children_total"], "child_units": len(body["children"])}


def _province_figure(db, key: str):
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(f"SELECT {key}, as_of FROM unit_stats WHERE unit_code = :c"),
                                  {"c": PROVINCE}).one()


def _wait_idle(redis_url: str, timeout: float = 300.0) -> None:
    from rq import Queue
    from rq.registry import StartedJobRegistry

    from sync import queues
    from sync.jobs import redis_connection

    connection = redis_connection(redis_url)
    time.sleep(3.0)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        busy = sum(Queue(name, connection=connection).count
                   + StartedJobRegistry(name, connection=connection).count for name in queues.ALL)
        if not busy:
            return
        time.sleep(0.2)


def time_change_visible(app, db, redis_url: str, timeout: float = 30.0) -> dict:
    """Edit one child's risk level through the API; wait until the province's high-risk figure moves."""
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        child = connection.execute(text(
            "SELECT id, region_code, risk_level, version FROM children WHERE region_code >= :lo AND "
            "region_code < :hi AND status = 'active' AND NOT unattended ORDER BY id LIMIT 1"),
            {"lo": PROVINCE, "hi": PROVINCE + ":"}).one()
    client = app.test_client()
    headers = _token(client, _user(db, child.region_code, "staff", f"bench_rollup_{child.region_code}"))
    env = {**os.environ, "SHOUHU_REDIS_URL": redis_url, "SHOUHU_DATABASE_URL": db.url}
    worker = subprocess.Popen([sys.executable, "-m", "tenant_app.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_idle(redis_url)  # the worker's start-up work (catch-up drain, a due nightly rebuild) first
        new_risk = "high" if child.risk_level != "high" else "low"
        before, _ = _province_figure(db, "high_risk")
        started = time.perf_counter()
        response = client.patch(f"/api/v1/children/{child.id}", headers=headers,
                                json={"version": child.version, "risk_level": new_risk})
        committed = time.perf_counter()
        assert response.status_code == 200, response.get_json()
        want = before + (1 if new_risk == "high" else -1)
        while time.perf_counter() - started < timeout:
            figure, as_of = _province_figure(db, "high_risk")
            if figure == want:
                return {"visible_s": time.perf_counter() - started, "request_s": committed - started}
            time.sleep(0.02)
        return {"visible_s": None, "request_s": committed - started}
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def bench_rollup(app, db, children: int = 1_000_000, villages: int = 52_000, seed: int = 2016, echo=print) -> dict:
    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench rollup needs PostgreSQL")
    figures = ensure_children(db, villages, children, seed, echo)
    with scoped(Scope(all_tenants=True)):
        time_rebuild(db)  # warm-up: the first run also fills caches and creates every row
    rebuilds = [time_rebuild(db) for _ in range(2)]
    bare = [time_bare_group_by(db) for _ in range(3)]
    figures.update(rebuild_s=round(min(rebuilds), 2), group_by_s=round(min(bare), 3))
    figures["ratio"] = round(figures["rebuild_s"] / figures["group_by_s"], 1)
    _say(echo, "villages / children", f"{figures['villages']:,} / {figures['children']:,}")
    _say(echo, "full rebuild", f"{figures['rebuild_s']:.2f} s (best of {len(rebuilds)}: "
                               f"{', '.join(f'{r:.2f}' for r in rebuilds)})")
    _say(echo, "bare GROUP BY", f"{figures['group_by_s']:.3f} s (best of {len(bare)})")
    _say(echo, "rebuild / GROUP BY", f"{figures['ratio']}x")
    from tenant_app import create_app

    # A separate application: requests under the command's own app context would share its `g` (and its
    # cached login) from one call to the next.
    app = create_app()
    api = time_api(app, db)
    figures.update(api_median_ms=round(api["median_ms"], 1), api_max_ms=round(api["max_ms"], 1))
    _say(echo, "province API (ms)", f"median {api['median_ms']:.1f}, max {api['max_ms']:.1f}, first "
                                    f"{api['first_ms']:.1f} ({api['child_units']} child units, "
                                    f"{api['children_total']:,} children)")
    redis_url = app.config.get("SHOUHU_REDIS_URL")
    if redis_url:
        change = time_change_visible(app, db, redis_url)
        figures.update(change_visible_s=change["visible_s"] and round(change["visible_s"], 3))
        shown = f"{change['visible_s']:.3f} s" if change["visible_s"] is not None else "not within 30 s"
        _say(echo, "change visible at province", f"{shown} (the edit request itself {change['request_s']:.3f} s)")
    else:
        _say(echo, "change visible at province", "skipped: set SHOUHU_REDIS_URL to run it with a worker")
    return figures
