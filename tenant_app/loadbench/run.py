"""`shouhu bench load`: the production stack on this machine under a mixed workload of many users.

Steps: a fresh database (created and dropped here) with the dataset of tenant_app.loadbench.dataset; a Redis DB
of its own (emptied before and after); gunicorn with deploy/gunicorn.conf.py and `shouhu worker` as child
processes on 127.0.0.1; 60 simultaneous logins; the mixed workload from a separate client process; then the
roll-up lag after the last write and the province's figures against a recount (sync.rollup.verify).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hierarchy.scope import apply_db_scope, job_scope
from tenant_app.loadbench import dataset
from tenant_app.loadbench.client import MIX
from tenant_app.loadbench.sampler import Sampler
from tenant_app.loadbench.stack import BENCH_NAME, Stack, named

READ_P95_MS, WRITE_P95_MS, TARGET_RPS, LOGIN_MAX_S, LAG_MAX_S = 150, 250, 200, 3.0, 5.0


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def reference_loop_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (dictionary and string work, as a request's): how fast one
    core of this machine is right now. Counted in CPU time, so other processes do not lengthen it; the same
    machine gives different figures at different moments, and runs are compared by it."""
    started = time.process_time()
    seen: dict[str, int] = {}
    for i in range(400_000):
        key = f"k{i % 997}"
        seen[key] = seen.get(key, 0) + i
    return (time.process_time() - started) * 1000


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _client(plan: dict, mode: str, work: Path) -> dict:
    path = work / f"plan-{mode}.json"
    path.write_text(json.dumps(plan))
    out = subprocess.run([sys.executable, "-m", "tenant_app.loadbench.client", str(path), mode],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"load client failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def _pending(db) -> int:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text("SELECT count(*) FROM sync_outbox")).scalar()


def _wait_drained(db, redis_url: str, timeout: float) -> float | None:
    """Seconds until the outbox is empty and no roll-up job is queued or running; None on timeout."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    from sync import queues
    from sync.jobs import redis_connection

    connection = redis_connection(redis_url)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        busy = Queue(queues.ROLLUP, connection=connection).count + \
            StartedJobRegistry(queues.ROLLUP, connection=connection).count
        if not busy and not _pending(db):
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _recount(db) -> list:
    from sync.rollup import verify

    with job_scope(all_tenants=True), db.session_scope(commit=False) as session:
        return verify(session.connection(), dataset.PROVINCE)


def _province_figures(db) -> tuple[int, int]:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        row = connection.execute(text("SELECT villages_total, children_total FROM unit_stats WHERE unit_code = :c"),
                                 {"c": dataset.PROVINCE}).one()
    return int(row[0]), int(row[1])


def report_workload(result: dict, echo) -> dict:
    by_name: dict[str, list[tuple[float, int]]] = {}
    for name, _start, latency, status in result["results"]:
        by_name.setdefault(name, []).append((latency * 1000, status))
    elapsed = result["elapsed_s"]
    echo(f"{'endpoint':<20} {'kind':<5} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
         f"{'errors':>6}")
    figures = {"endpoints": {}}
    for name in [*MIX, "overall"]:
        rows = [r for rs in by_name.values() for r in rs] if name == "overall" else by_name.get(name, [])
        if not rows:
            continue
        ms = [r[0] for r in rows]
        errors = sum(1 for r in rows if not 200 <= r[1] < 300)
        kind = MIX[name][2] if name in MIX else ""
        line = {"count": len(rows), "rps": len(rows) / elapsed, "p50": _percentile(ms, 50),
                "p95": _percentile(ms, 95), "p99": _percentile(ms, 99), "errors": errors, "kind": kind}
        figures["endpoints"][name] = line
        echo(f"{name:<20} {kind:<5} {line['count']:>6} {line['rps']:>7.1f} {line['p50']:>8.1f} {line['p95']:>8.1f} "
             f"{line['p99']:>8.1f} {errors:>6}")
    for kind in ("read", "write"):
        ms = [r[0] for n, rs in by_name.items() if MIX[n][2] == kind for r in rs]
        figures[f"{kind}_p95"] = _percentile(ms, 95)
    statuses: dict[int, int] = {}
    for _n, _s, _l, status in result["results"]:
        if not 200 <= status < 300:
            statuses[status] = statuses.get(status, 0) + 1
    figures["errors"] = sum(statuses.values())
    _timeline(result["results"], echo)
    figures["rps"] = len(result["results"]) / elapsed
    if statuses:
        echo(f"errors by status: {statuses} {result.get('error_samples') or ''}")
    return figures


def _timeline(results: list, echo, window: float = 10.0) -> None:
    """Latency by window of the run, by the moment each request was sent: a queue that builds up shows here."""
    windows: dict[int, list[float]] = {}
    for _name, start, latency, _status in results:
        windows.setdefault(int(start // window), []).append(latency * 1000)
    echo("by " + f"{window:.0f} s of the run: " + "; ".join(
        f"{int(k * window)}-{int((k + 1) * window)} s p50 {_percentile(v, 50):.0f} p95 {_percentile(v, 95):.0f}"
        for k, v in sorted(windows.items())))


def bench_load(admin_url: str, redis_url: str, *, villages: int, children: int, village_users: int,
               logins: int, rate: float, duration: float, max_requests: int, concurrency: int,
               workers: int | None = None, threads: int | None = None, keep: bool = False,
               reuse_url: str | None = None, echo=print) -> dict:
    import redis

    from tenant_app import create_app
    from tenant_app.db import db
    from tenant_app.migrate import upgrade

    say = lambda key, value: echo(f"{key:<30} {value}")  # noqa: E731
    say("load average at start", _load_average())
    say("cores on this machine", os.cpu_count())
    say("reference loop", f"{reference_loop_ms():.0f} ms of CPU (one core's speed now: compare runs by it)")
    redis_client = redis.Redis.from_url(redis_url)
    redis_client.flushdb()
    started = time.perf_counter()
    url = reuse_url or dataset.create_database(admin_url)
    name = make_url(url).database
    keep = keep or bool(reuse_url)
    say("database", f"{name} (" + ("kept from an earlier run)" if reuse_url else "created; dropped at the end)"))
    figures: dict = {}
    stack = None
    work = Path(tempfile.mkdtemp(prefix="shouhu-bench-load-"))
    try:
        upgrade(url)
        # The bench's own connections (set-up, sampling, the recount) name themselves too.
        app = create_app({"SHOUHU_DATABASE_URL": named(url, BENCH_NAME), "SHOUHU_REDIS_URL": None})
        with app.app_context():
            db.configure(named(url, BENCH_NAME), app.config["SHOUHU_DB_APP_ROLE"])
            if reuse_url:
                users, campaign_id = dataset.existing_users(db, logins), dataset.existing_campaign(db)
                total = dataset._all(db, "SELECT count(*) FROM units WHERE level = 5")[0][0]
                made = dataset._all(db, "SELECT count(*) FROM children")[0][0]
                dataset.rebuild_figures(db)
            else:
                total = dataset.load_tree(db, villages)
                made = dataset.generate_children(db, children)
                users = dataset.create_users(db, village_users, logins)
                campaign_id = dataset.create_campaign(db)
                dataset.rebuild_figures(db)
                dataset.analyze(db)
            plan_villages = dataset.village_plan(db, campaign_id, users["villages"])
            say("tree", f"synthetic province {dataset.PROVINCE}: {total:,} villages")
            say("children", f"{made:,} in city {dataset.CITY} ({len(users['counties'])} counties)")
            say("users", f"{len(users['villages']):,} village staff, {len(users['counties'])} county staff, "
                         f"1 province viewer, {logins} login accounts")
            say("campaign", f"#{campaign_id} questionnaire to every village, past due since yesterday")
            say("set-up", f"{time.perf_counter() - started:.1f} s")

            _skip_nightly_rebuild(db)
            stack = Stack(url, redis_url, work, workers=workers, threads=threads)
            stack.start()
            say("gunicorn", f"{stack.base_url}, {stack.web_workers()} workers, threads "
                            f"{threads or 'as configured'}, deploy/gunicorn.conf.py")
            plan = {"base_url": stack.base_url, "password": dataset.PASSWORD, "logins": users["logins"],
                    "villages": plan_villages, "counties": users["counties"], "province": users["province"],
                    "campaign_id": campaign_id, "answers": dataset.ANSWERS, "rate": rate, "duration": duration,
                    "max_requests": max_requests, "concurrency": concurrency}

            echo("")
            echo(f"-- {logins} logins at once (POST /api/v1/auth/token), load average {_load_average()}")
            result = _client(plan, "logins", work)
            ok = sum(1 for s in result["statuses"] if s == 201)
            slowest = max(result["latencies"]) if result["latencies"] else float("nan")
            figures["logins"] = {"ok": ok, "max_s": slowest, "median_s": statistics.median(result["latencies"])}
            say("answered 201", f"{ok}/{logins} (other statuses: "
                                f"{sorted(s for s in result['statuses'] if s != 201)})")
            say("slowest / median", f"{slowest:.2f} s / {figures['logins']['median_s']:.2f} s "
                                    f"(target: all within {LOGIN_MAX_S:.0f} s)")
            _wait_drained(db, redis_url, 60)

            echo("")
            echo(f"-- mixed workload: rate {rate or 'closed loop'} req/s, {concurrency} in flight at most, "
                 f"{duration:.0f} s or {max_requests:,} requests; load average {_load_average()}")
            monitor = create_engine(named(url, BENCH_NAME), pool_size=1, max_overflow=0)
            sampler = Sampler(db, name, monitor)
            sampler.start()
            cpu_before = stack.cpu()
            sampler.active = True
            result = _client(plan, "workload", work)
            sampler.active = False
            cpu_after = stack.cpu()
            figures.update(report_workload(result, echo))
            elapsed = result["elapsed_s"]
            web = (cpu_after["web"] - cpu_before["web"]) / elapsed
            worker = (cpu_after["worker"] - cpu_before["worker"]) / elapsed
            lag_after = _wait_drained(db, redis_url, 120)
            since_last_write = time.monotonic() - result["last_write"] if result["last_write"] else 0.0
            sampler.stop()
            database = sampler.database_cpu() / elapsed
            by_source = {k: v / elapsed for k, v in sampler.cpu_by_source().items()}
            monitor.dispose()
            client = result["client_cpu_s"] / elapsed
            figures["cores"] = {"client": client, "web": web, "worker": worker, "database": database}
            answered = len(result["results"]) / elapsed
            figures["cpu_ms_per_request"] = {k: 1000 * v / answered if answered else float("nan")
                                             for k, v in figures["cores"].items()}
            say("submitted tasks", result["submitted"])
            say("cores used (CPU s / wall s)", f"client {client:.2f}; server: gunicorn {web:.2f}, worker {worker:.2f},"
                                               f" PostgreSQL backends {database:.2f}")
            per = figures["cpu_ms_per_request"]
            say("CPU per request (ms)", f"client {per['client']:.1f}; server: gunicorn {per['web']:.1f}, worker "
                                        f"{per['worker']:.1f}, PostgreSQL backends {per['database']:.1f}")
            figures["database_by_source"] = by_source
            say("PostgreSQL by source (ms/req)", "; ".join(
                f"{source} {1000 * by_source.get(source, 0.0) / answered:.1f}" if answered else source
                for source in ("requests", "roll-up worker", "autovacuum", "bench", "other")))
            say("PostgreSQL server processes", f"{by_source.get('server', 0.0):.2f} cores (WAL writer, "
                                               "checkpointer, background writer: shared by every database)")
            say("client behind its schedule", f"{result['behind_s']:.2f} s at most")
            say("load average at end", _load_average())

            echo("")
            echo("-- roll-up")
            lag = None if lag_after is None else since_last_write
            figures["lag_s"] = lag
            figures["max_outbox_age_s"] = sampler.max_age
            say("oldest outbox row, max", f"{sampler.max_age:.2f} s during the run")
            say("drained after last write", "not within 120 s" if lag is None else f"{lag:.2f} s "
                                            f"(target: {LAG_MAX_S:.0f} s)")
            problems = _recount(db)
            figures["recount_differences"] = len(problems)
            villages_total, children_total = _province_figures(db)
            if problems:
                say("recount", f"DIFFERS: {len(problems)} figures, e.g. {problems[:3]}")
            else:
                say("recount", f"province {dataset.PROVINCE} figures equal a recount (villages_total "
                               f"{villages_total:,}, children_total {children_total:,})")
            echo("")
            _verdict(figures, echo)
    finally:
        if stack is not None:
            stack.stop()
        db.engine.dispose() if db.engine is not None else None
        redis_client.flushdb()
        if keep:
            say("kept database", url)
        else:
            dataset.drop_database(admin_url, url)
        say("logs", work)
    return figures


def _skip_nightly_rebuild(db) -> None:
    """The figures were just rebuilt: the worker must not start today's nightly rebuild in the middle of the run
    (its guard is a row per day, sync.worker.schedule_nightly)."""
    from tenant_app import clock

    day = clock.now().astimezone(clock.CST).date()
    dataset._exec(db, "INSERT INTO sync_nightly_runs (day, enqueued_at) VALUES (:day, :now) ON CONFLICT DO NOTHING",
                  day=day, now=clock.now())


def _verdict(figures: dict, echo) -> None:
    checks = [
        ("requests/s", figures["rps"] >= TARGET_RPS, f"{figures['rps']:.0f} (target >= {TARGET_RPS})"),
        ("p95 reads", figures["read_p95"] < READ_P95_MS, f"{figures['read_p95']:.0f} ms (< {READ_P95_MS})"),
        ("p95 writes", figures["write_p95"] < WRITE_P95_MS, f"{figures['write_p95']:.0f} ms (< {WRITE_P95_MS})"),
        ("errors", figures["errors"] == 0, str(figures["errors"])),
        ("60 logins", figures["logins"]["max_s"] <= LOGIN_MAX_S, f"slowest {figures['logins']['max_s']:.2f} s"),
        ("roll-up lag", figures["lag_s"] is not None and figures["lag_s"] <= LAG_MAX_S,
         "none" if figures["lag_s"] is None else f"{figures['lag_s']:.2f} s"),
        ("recount", figures["recount_differences"] == 0, f"{figures['recount_differences']} differences"),
    ]
    for label, ok, detail in checks:
        echo(f"{'met ' if ok else 'MISS'} {label:<12} {detail}")
