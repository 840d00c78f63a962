"""`shouhu bench requests`: the work of one request of each endpoint of `shouhu bench load`, counted instead of
timed, so that the figures do not depend on what else the machine is doing.

The same dataset as `shouhu bench load` (or a database kept by it, `--reuse`), the same application
configuration, and each endpoint of the workload (tenant_app.loadbench.client.MIX) replayed in process through
the WSGI application with the workload's bearer tokens: after a few warm-up requests (statement caches, lazy
imports), `per_endpoint` requests each under cProfile. The roll-up that writes ask for is left to the end (it
is the worker's work, which `bench load` counts apart). Printed per endpoint: Python function calls per request
(the profiler's count, WSGI application only, not the test client) and SQL statements sent per request.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from sync.outbox import drain_inline, drains_held
from tenant_app.loadbench import dataset
from tenant_app.loadbench.client import MIX, Workload, request_headers

ME = "me"  # GET /api/v1/me as a village user: not part of the mix, the floor of every request


class _Counter:
    """WSGI middleware: profiles the application (not the test client) and counts statements while on."""

    def __init__(self, wsgi_app, engine):
        self.wsgi_app = wsgi_app
        self.profile: cProfile.Profile | None = None
        self.statements = 0
        self.texts: list[str] | None = None  # the statements' text, while a list
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, connection, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.statements += 1
            if self.texts is not None:
                self.texts.append(" ".join(statement.split()))

    def __call__(self, environ, start_response):
        if self.profile is None:
            return self.wsgi_app(environ, start_response)
        self.on = True
        self.profile.enable()
        try:
            body = b"".join(self.wsgi_app(environ, start_response))
        finally:
            self.profile.disable()
            self.on = False
        return [body]


def _backend_cpu_seconds(engine) -> float | None:
    """CPU seconds used so far by the backends of the bench's database, read from /proc: the server is local.
    None where /proc or the backends' processes cannot be read (another host, another OS)."""
    with engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
        pids = pids.scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def measure(app, engine, plan: dict, *, per_endpoint: int, warmup: int, endpoints: list[str] | None = None,
            profile_endpoint: str | None = None, top: int = 25, save_dir: str | None = None,
            echo=print) -> dict:
    """Calls and statements per request for each endpoint of the workload (the app must be configured)."""
    counter = _Counter(app.wsgi_app, engine)
    app.wsgi_app = counter
    client = app.test_client()
    workload = Workload(plan, seed=11)
    figures: dict[str, dict] = {}

    def send(name: str) -> tuple[str, int]:
        if name == ME:  # the fixed cost of any request: authentication, scope, hooks, a tiny answer
            actual, method, path, body, token, held = ME, "GET", "/api/v1/me", None, plan["villages"][0]["token"], \
                None
        else:
            actual, method, path, body, token, held = workload.request_for(name)
        try:
            # The roll-up a write asks for is the worker's work (`bench load` counts it apart), not the request's.
            with drains_held():
                response = client.open(path, method=method, json=body, headers=request_headers(actual, token))
        finally:
            if held is not None:
                workload.busy.discard(held)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"{actual} {method} {path}: {response.status_code} {response.get_data(True)[:300]}")
        return actual, len(response.data)

    names = endpoints or [ME, *MIX]
    echo(f"{'endpoint':<20} {'kind':<5} {'requests':>8} {'calls/req':>10} {'SQL/req':>8} {'bytes/req':>10} "
         f"{'ms/req':>7} {'DB CPU ms':>9}")
    for name in names:
        # What the writes so far left in the outbox is rolled up first, as the worker does within moments under
        # `bench load`: reads then find the stored figures current, as they mostly do there.
        with app.app_context():
            drain_inline()
        for _ in range(warmup):
            send(name)
        counter.profile = cProfile.Profile()
        counter.statements = 0
        sizes = 0
        counted = 0
        first_texts: list[str] = []
        db_cpu = _backend_cpu_seconds(engine)
        started = time.perf_counter()
        for i in range(per_endpoint):
            if profile_endpoint == name and i == 0:
                counter.texts = []
            actual, size = send(name)
            first_texts, counter.texts = counter.texts or first_texts, None
            if actual != name:  # a write with no open task left: read instead, not counted
                continue
            counted += 1
            sizes += size
        elapsed = time.perf_counter() - started
        db_after = _backend_cpu_seconds(engine) if db_cpu is not None else None
        profile, counter.profile = counter.profile, None
        stats = pstats.Stats(profile)
        if save_dir:
            profile.dump_stats(str(Path(save_dir) / f"{name}.prof"))
        n = max(counted, 1)
        line = {"requests": counted, "calls": stats.total_calls / n, "statements": counter.statements / n,
                "bytes": sizes / n, "ms": elapsed * 1000 / n,
                "db_cpu_ms": (db_after - db_cpu) * 1000 / n if db_after is not None else None,
                "kind": MIX[name][2] if name in MIX else "read"}
        figures[name] = line
        echo(f"{name:<20} {line['kind']:<5} {counted:>8} {line['calls']:>10.0f} {line['statements']:>8.1f} "
             f"{line['bytes']:>10.0f} {line['ms']:>7.1f} "
             + (f"{line['db_cpu_ms']:>9.2f}" if line["db_cpu_ms"] is not None else f"{'-':>9}"))
        if profile_endpoint == name:
            echo(f"-- the statements of one request of {name}:")
            for text in first_texts:
                echo(f"   {text[:300]}")
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(top)
            echo(out.getvalue())
    weights = {name: MIX[name][0] for name in figures if name in MIX}
    total = sum(weights.values()) or 1
    mix = {key: sum(figures[n][key] * weights[n] for n in weights) / total for key in ("calls", "statements")}
    figures["mix"] = mix
    echo(f"{'weighted by the mix':<26} {'':>8} {mix['calls']:>10.0f} {mix['statements']:>8.1f}")
    echo("(ms/req: wall clock in process, indicative only: it varies with the machine's load)")
    return figures


def bench_requests(admin_url: str, redis_url: str | None, *, villages: int, children: int, village_users: int,
                   per_endpoint: int, warmup: int, endpoints: list[str] | None = None,
                   profile_endpoint: str | None = None, top: int = 25, save_dir: str | None = None,
                   keep: bool = False,
                   reuse_url: str | None = None, echo=print) -> dict:
    from tenant_app import create_app
    from tenant_app.db import db
    from tenant_app.migrate import upgrade

    url = reuse_url or dataset.create_database(admin_url)
    keep = keep or bool(reuse_url)
    echo(f"database: {make_url(url).database} ({'kept from an earlier run' if reuse_url else 'created'})")
    try:
        upgrade(url)
        app = create_app({"SHOUHU_DATABASE_URL": url, "SHOUHU_REDIS_URL": redis_url})
        with app.app_context():
            db.configure(url, app.config["SHOUHU_DB_APP_ROLE"])
            if reuse_url:
                users, campaign_id = dataset.existing_users(db, 0), dataset.existing_campaign(db)
            else:
                started = time.perf_counter()
                dataset.load_tree(db, villages)
                dataset.generate_children(db, children)
                users = dataset.create_users(db, village_users, 0)
                campaign_id = dataset.create_campaign(db)
                dataset.rebuild_figures(db)
                dataset.analyze(db)
                echo(f"set-up: {time.perf_counter() - started:.1f} s")
            plan = {"villages": dataset.village_plan(db, campaign_id, users["villages"]),
                    "counties": users["counties"], "province": users["province"], "campaign_id": campaign_id,
                    "answers": dataset.ANSWERS}
        figures = measure(app, db.engine, plan, per_endpoint=per_endpoint, warmup=warmup, endpoints=endpoints,
                          profile_endpoint=profile_endpoint, top=top, save_dir=save_dir, echo=echo)
        with app.app_context():
            drain_inline()  # the figures of the writes, as the worker would have rolled them up
        return figures
    finally:
        dataset.release_database(db, admin_url, url, keep, echo)
