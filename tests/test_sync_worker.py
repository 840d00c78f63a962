"""`shouhu worker` for real: a separate process (RQ's forking worker) on its own Redis server and its own
database, as in production. A village's change reaches the province within a second; Redis stopped while
villages write, then started again: nothing lost, figures exact after the drain.

Committed data: everything lives in a dedicated database and a private Redis server, both removed afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import select, text

from hierarchy.scope import Scope, apply_db_scope, scoped
from sync import outbox, rollup
from tenant_app.children.demo import generate_children
from tenant_app.children.models import Child
from tenant_app.db import Database
from tests.conftest import REGIONS, create_test_database, drop_test_database

ROOT = Path(__file__).resolve().parent.parent
SHOUHU = Path(sys.executable).parent / "shouhu"
TOWNSHIP = "440203001"
VILLAGE = "440203001002"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, step: float = 0.01):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Env:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port()
        self.redis_url = f"redis://127.0.0.1:{self.port}/0"
        self.redis_proc = None
        self.worker = None
        self.db_url = create_test_database("shouhu_sync")
        from tenant_app.migrate import upgrade

        upgrade(self.db_url)
        self.db = Database()
        self.db.configure(self.db_url, "shouhu_app")
        from hierarchy.loader import load_regions

        with self.db.engine.begin() as connection, scoped(Scope(all_tenants=True)) as scope:
            apply_db_scope(connection, scope)
            load_regions(connection, [REGIONS / "shaoguan"])
            generate_children(connection, 40, TOWNSHIP, seed=5)
            connection.execute(text("DELETE FROM sync_outbox"))
            rollup.rebuild(connection)

    def start_redis(self) -> None:
        self.redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.redis_url)
        assert _wait(lambda: _pings(client), 10, 0.05), "private redis-server did not start"

    def stop_redis(self) -> None:
        self.redis_proc.send_signal(signal.SIGTERM)
        self.redis_proc.wait(10)

    def start_worker(self) -> None:
        env = {**os.environ, "SHOUHU_DATABASE_URL": self.db_url, "SHOUHU_REDIS_URL": self.redis_url,
               "SHOUHU_SECRET_KEY": "worker-test", "SHOUHU_INSTANCE_DIR": str(self.tmp)}
        with open(self.tmp / "worker.log", "ab") as log:  # the worker keeps its own copy of the descriptor
            self.worker = subprocess.Popen(
                [str(SHOUHU), "worker", "--queues", "rollup", "--catch-up-seconds", "1"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT)
        from rq import Worker

        client = redis.Redis.from_url(self.redis_url)
        assert _wait(lambda: Worker.all(connection=client), 20, 0.1), self.log()

    def ensure_worker(self) -> None:
        """What systemd's Restart=always does for a worker that exited."""
        if self.worker.poll() is not None:
            print(f"\nworker exited while Redis was down (code {self.worker.returncode}); restarted")
            self.start_worker()

    def log(self) -> str:
        return (self.tmp / "worker.log").read_text(errors="replace")[-3000:]

    def close(self) -> None:
        for proc in (self.worker, self.redis_proc):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.db.engine.dispose()
        drop_test_database(self.db_url)

    # --- reading and writing the dedicated database -----------------------------------------------------

    def run(self, fn, commit: bool = False):
        with scoped(Scope(all_tenants=True)), self.db.session_scope(commit=commit) as session:
            return fn(session)

    def change_child(self, i: int) -> None:
        """One committed change (through the ORM: the outbox row and the drain request come with it)."""
        def change(session):
            ids = session.execute(select(Child.id).where(Child.region_code.like(TOWNSHIP + "%"))
                                  .order_by(Child.id)).scalars().all()
            child = session.get(Child, ids[i % len(ids)])
            child.unattended = not child.unattended

        self.run(change, commit=True)

    def province_unattended(self):
        return self.run(lambda s: s.execute(text(
            "SELECT unattended, as_of FROM unit_stats WHERE unit_code = '44'")).one())

    def expected_unattended(self) -> int:
        return self.run(lambda s: s.execute(text(
            "SELECT count(*) FROM children WHERE region_code LIKE '44%' AND unattended AND status = 'active'")
        ).scalar())

    def pending(self) -> int:
        return self.run(lambda s: s.execute(text("SELECT count(*) FROM sync_outbox")).scalar())

    def problems(self):
        return self.run(lambda s: rollup.verify(s.connection(), None))


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture(scope="module")
def env(tmp_path_factory, pg_url):
    environment = Env(tmp_path_factory.mktemp("sync_worker"))
    saved = os.environ.get("SHOUHU_REDIS_URL")
    os.environ["SHOUHU_REDIS_URL"] = environment.redis_url  # commits here request drains on the private Redis
    try:
        environment.start_redis()
        environment.start_worker()
        yield environment
    finally:
        if saved is None:
            os.environ.pop("SHOUHU_REDIS_URL", None)
        else:
            os.environ["SHOUHU_REDIS_URL"] = saved
        outbox.redis_outage.reset()
        environment.close()


def test_a_village_change_reaches_the_province_within_a_second(env):
    """A lone change (after a quiet spell): the drain waits only briefly for others to join it."""
    assert env.problems() == []
    connection = redis.Redis.from_url(env.redis_url)

    def quiet() -> bool:  # the last drain ended longer ago than the debounce (the worker notes its end)
        return time.time() - float(connection.get(outbox.LAST_DRAIN_KEY) or 0) > outbox.DEBOUNCE_SECONDS + 0.1

    delays = []
    for i in range(5):
        assert _wait(quiet, 10, step=0.05), env.log()
        before = env.province_unattended()
        started = time.perf_counter()
        env.change_child(i)
        expected = env.expected_unattended()
        assert _wait(lambda: env.province_unattended().as_of != before.as_of  # noqa: B023
                     and env.province_unattended().unattended == expected, 5), env.log()  # noqa: B023
        delays.append(time.perf_counter() - started)
    print(f"\nvillage change -> province figure: median {statistics.median(delays):.3f} s, "
          f"max {max(delays):.3f} s over {len(delays)} changes")
    assert statistics.median(delays) < 1.0, delays
    assert env.pending() == 0 and env.problems() == []


def test_redis_stopped_while_villages_write_then_back_loses_nothing(env):
    env.stop_redis()
    started = time.perf_counter()
    for i in range(10, 16):
        env.change_child(i)  # commits succeed without Redis
    assert time.perf_counter() - started < 10
    assert env.pending() >= 6  # the changes wait in the outbox
    assert env.problems() != []
    env.start_redis()  # empty: the queued state was lost with it; the outbox was not
    env.ensure_worker()
    assert _wait(lambda: env.pending() == 0, 20, 0.2), env.log()
    assert env.problems() == []


def test_a_steady_stream_of_changes_is_drained_in_batches_within_the_lag_allowed(env):
    """Changes every 0.2 s: drains wait for more writes to join them (fewer drains than changes), and the
    province's figure is right within 5 s of the last write."""
    assert env.problems() == []
    connection = redis.Redis.from_url(env.redis_url)
    generation_before = int(connection.get(outbox.GENERATION_KEY) or 0)
    for i in range(15):
        env.change_child(100 + i)
        time.sleep(0.2)
    last_write = time.perf_counter()
    expected = env.expected_unattended()
    assert _wait(lambda: env.pending() == 0 and env.province_unattended().unattended == expected, 5), env.log()
    lag = time.perf_counter() - last_write
    drains = int(connection.get(outbox.GENERATION_KEY) or 0) - generation_before
    print(f"\n15 changes 0.2 s apart: {drains} drains, figures right {lag:.2f} s after the last write")
    assert lag < 5.0
    assert 1 <= drains <= 8, drains
    assert env.problems() == []
