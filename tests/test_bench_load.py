"""`shouhu bench load` end to end in a tiny configuration: the real stack (gunicorn with deploy's configuration,
`shouhu worker`, Redis, a database of its own), a few seconds of the mixed workload, figures printed and the
province's figures equal to a recount. Speed targets are not asserted here: the machine running tests varies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL, REDIS_URL

ROOT = Path(__file__).resolve().parent.parent


def test_bench_load_runs_end_to_end_and_recounts():
    env = {**os.environ, "SHOUHU_BENCH_PG_URL": PG_URL, "SHOUHU_BENCH_REDIS_URL": REDIS_URL,
           "PYTHONUNBUFFERED": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "tenant_app.cli", "bench", "load", "--villages", "200", "--children", "600",
         "--village-users", "40", "--logins", "6", "--rate", "25", "--duration", "3", "--requests", "200",
         "--concurrency", "8", "--workers", "2", "--threads", "2"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    text = out.stdout
    assert out.returncode == 0, text[-3000:] + out.stderr[-3000:]
    assert re.search(r"answered 201\s+6/6", text), text
    overall = re.search(r"^overall\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", text, re.M)
    assert overall, text
    assert int(overall.group(1)) > 0 and float(overall.group(2)) > 0
    # Endpoints are drawn at random: a loaded machine may answer few requests in a few seconds.
    assert re.search(r"^(village|county|province)\.\w+\s+(read|write)\s+\d+", text, re.M), text
    assert re.search(r"cores used .*client [\d.]+; server: gunicorn [\d.]+", text), text
    # CPU per request and the core's speed, so runs at different moments can be compared.
    per_request = re.search(r"CPU per request \(ms\)\s+client ([\d.]+); server: gunicorn ([\d.]+), worker ([\d.]+), "
                            r"PostgreSQL backends ([\d.]+)", text)
    assert per_request and float(per_request.group(2)) > 0, text
    assert re.search(r"reference loop\s+[1-9]\d* ms of CPU", text), text
    assert re.search(r"PostgreSQL by source \(ms/req\)\s+requests [\d.]+; roll-up worker [\d.]+; autovacuum [\d.]+; "
                     r"bench [\d.]+; other [\d.]+", text), text
    assert "figures equal a recount" in text, text
    assert re.search(r"drained after last write\s+[\d.]+ s", text), text
    # The database was dropped: its name is not left on the server.
    _assert_dropped(re.search(r"database\s+(shouhu_bench_load_\w+)", text).group(1))


def test_bench_requests_counts_calls_and_statements_of_every_endpoint():
    env = {**os.environ, "SHOUHU_BENCH_PG_URL": PG_URL, "PYTHONUNBUFFERED": "1"}
    env.pop("SHOUHU_BENCH_REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "tenant_app.cli", "bench", "requests", "--villages", "200", "--children", "600",
         "--village-users", "40", "--per-endpoint", "3", "--warmup", "1"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    text = out.stdout
    assert out.returncode == 0, text[-3000:] + out.stderr[-3000:]
    from tenant_app.loadbench.client import MIX

    for name in ["me", *MIX]:
        line = re.search(rf"^{re.escape(name)}\s+(read|write)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)"
                         r"\s+([\d.]+)$", text, re.M)
        assert line, (name, text)
        if int(line.group(2)):  # a write falls back to a read once every task is submitted: then none counted
            assert int(line.group(3)) > 500 and float(line.group(4)) >= 1, (name, line.group(0))
            # The database's CPU per request, read from its backends (the server is local in tests).
            assert float(line.group(7)) >= 0, (name, line.group(0))
    assert re.search(r"^weighted by the mix\s+\d+\s+[\d.]+$", text, re.M), text
    _assert_dropped(re.search(r"database: (shouhu_bench_load_\w+)", text).group(1))


def _assert_dropped(name: str) -> None:
    """The bench's database is not left on the server."""
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    engine = create_engine(PG_URL)
    try:
        with engine.connect() as connection:
            assert connection.execute(sql("SELECT count(*) FROM pg_database WHERE datname = :n"),
                                      {"n": name}).scalar() == 0
    finally:
        engine.dispose()


def test_database_cpu_counts_only_what_backends_used_during_the_run(pg_url):
    """A pooled connection that worked before the run (the logins', the set-up's) counts from its state at the
    start: its earlier CPU is not the workload's."""
    from types import SimpleNamespace

    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.engine import make_url

    from tenant_app.loadbench.sampler import Sampler
    from tenant_app.loadbench.stack import cpu_seconds

    engine = create_engine(pg_url)
    sampler_engine = create_engine(pg_url)
    try:
        with engine.connect() as busy:
            pid = busy.execute(sql("SELECT pg_backend_pid()")).scalar()
            busy.execute(sql("SELECT count(*) FROM generate_series(1, 3000000)")).scalar()
            before = cpu_seconds(pid, with_reaped=False)
            assert before >= 0.05, before  # the backend did measurable work before the run
            sampler = Sampler(SimpleNamespace(engine=sampler_engine), make_url(pg_url).database)
            sampler._look()  # the start (Sampler.start without its thread)
            sampler.active = True
            busy.execute(sql("SELECT 1")).scalar()
            sampler._look()
            sampler.active = False
        during = sampler.database_cpu()
        assert pid in sampler.backend_cpu
        assert 0 <= during < before, (during, before)
    finally:
        engine.dispose()
        sampler_engine.dispose()


def test_database_cpu_is_told_apart_by_source(pg_url):
    """The web server's and the worker's connections name themselves: their backends' CPU is counted apart,
    and the server's own processes (WAL writer, checkpointer) are found and kept out of the database's total."""
    from types import SimpleNamespace

    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.engine import make_url

    from tenant_app.loadbench.sampler import Sampler
    from tenant_app.loadbench.stack import WEB_NAME, WORKER_NAME, named

    engines = [create_engine(named(pg_url, WEB_NAME)), create_engine(named(pg_url, WORKER_NAME)),
               create_engine(pg_url), create_engine(pg_url)]
    web, worker, monitor, sampler_engine = engines
    try:
        with web.connect() as requests, worker.connect() as rollup:
            request_pid = requests.execute(sql("SELECT pg_backend_pid()")).scalar()
            worker_pid = rollup.execute(sql("SELECT pg_backend_pid()")).scalar()
            sampler = Sampler(SimpleNamespace(engine=sampler_engine), make_url(pg_url).database, monitor)
            sampler._look()
            sampler.active = True
            requests.execute(sql("SELECT count(*) FROM generate_series(1, 3000000)")).scalar()
            rollup.execute(sql("SELECT 1")).scalar()
            sampler._look()
            sampler.active = False
        assert sampler.source[request_pid] == "requests" and sampler.source[worker_pid] == "roll-up worker"
        by_source = sampler.cpu_by_source()
        assert by_source["requests"] >= 0.05, by_source
        assert by_source["roll-up worker"] < by_source["requests"], by_source
        assert "server" in set(sampler.source.values())  # the checkpointer and the WAL writer were found
        assert abs(sampler.database_cpu() - sum(v for k, v in by_source.items() if k != "server")) < 1e-9
    finally:
        for engine in engines:
            engine.dispose()
