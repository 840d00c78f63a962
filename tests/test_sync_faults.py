"""Faults, found by killing things: a Redis outage under a running `shouhu worker`.

A private redis-server (never the shared one) is stopped while villages write and started again empty:
the outbox drains within 10 s of Redis's return with the default 30 s catch-up interval, the same worker
process survives and registers again, `shouhu sync status` lists it with its last heartbeat, and the write
side logged one warning for the whole outage. The nightly rebuild's once-a-day guard survives a Redis flush.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from datetime import datetime

import pytest
import redis
from rq import Worker

from sync import outbox
from tests.test_sync_worker import ROOT, SHOUHU, Env, _wait


@pytest.fixture(scope="module")
def env(tmp_path_factory, pg_url):
    environment = Env(tmp_path_factory.mktemp("sync_faults"))
    saved = os.environ.get("SHOUHU_REDIS_URL")
    os.environ["SHOUHU_REDIS_URL"] = environment.redis_url
    original = environment.start_worker

    def start_worker_default_interval():
        # The default catch-up interval (30 s): recovery must not depend on a short one.
        env_vars = {**os.environ, "SHOUHU_DATABASE_URL": environment.db_url,
                    "SHOUHU_REDIS_URL": environment.redis_url, "SHOUHU_SECRET_KEY": "worker-test",
                    "SHOUHU_INSTANCE_DIR": str(environment.tmp)}
        with open(environment.tmp / "worker.log", "ab") as log:
            environment.worker = subprocess.Popen([str(SHOUHU), "worker", "--queues", "rollup"],
                                                  cwd=ROOT, env=env_vars, stdout=log,
                                                  stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(environment.redis_url)
        assert _wait(lambda: Worker.all(connection=client), 120, 0.2), environment.log()

    environment.start_worker = start_worker_default_interval
    try:
        environment.start_redis()
        environment.start_worker()
        yield environment
    finally:
        environment.start_worker = original
        if saved is None:
            os.environ.pop("SHOUHU_REDIS_URL", None)
        else:
            os.environ["SHOUHU_REDIS_URL"] = saved
        outbox.redis_outage.reset()
        environment.close()


def test_outbox_drains_within_10_s_of_redis_return_and_the_worker_registers_again(env, caplog):
    caplog.set_level(logging.WARNING, logger="sync.outbox")
    pid = env.worker.pid
    env.stop_redis()
    for i in range(20, 30):
        env.change_child(i)  # commits succeed without Redis
    assert env.pending() >= 10
    assert len([r for r in caplog.records if "not enqueued" in r.getMessage()]) == 1  # one per outage
    time.sleep(12)  # a real outage: RQ's own back-off would have grown to 8 s and beyond
    env.start_redis()  # empty: queued state and worker registrations are gone
    back = time.perf_counter()
    assert _wait(lambda: env.pending() == 0, 15, 0.2), env.log()
    drained_after = time.perf_counter() - back
    print(f"\noutbox drained {drained_after:.1f} s after Redis returned")
    assert drained_after < 10, env.log()
    assert env.problems() == []
    assert env.worker.poll() is None and env.worker.pid == pid  # the same process survived
    client = redis.Redis.from_url(env.redis_url)
    assert _wait(lambda: Worker.all(connection=client), 10, 0.2), env.log()
    result = subprocess.run([str(SHOUHU), "sync", "status"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "SHOUHU_DATABASE_URL": env.db_url,
                                             "SHOUHU_REDIS_URL": env.redis_url, "SHOUHU_SECRET_KEY": "x",
                                             "SHOUHU_INSTANCE_DIR": str(env.tmp)})
    assert result.returncode == 0, result.stderr
    assert "workers: 1" in result.stdout, result.stdout
    assert "last heartbeat" in result.stdout and "CST" in result.stdout, result.stdout


def test_the_nightly_guard_survives_a_redis_flush(env):
    from sync.worker import schedule_nightly
    from tenant_app import clock

    client = redis.Redis.from_url(env.redis_url)
    moment = datetime(2031, 3, 4, 1, 0, tzinfo=clock.CST)
    with clock.frozen(moment):
        job = schedule_nightly(env.redis_url, client=client, database=env.db)
        assert job is not None and job.id == "rollup-rebuild-2031-03-04"
        client.flushdb()  # what a restart without persistence does
        assert schedule_nightly(env.redis_url, client=client, database=env.db) is None
