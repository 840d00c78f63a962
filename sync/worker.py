"""`shouhu worker`: an RQ worker with its scheduler, plus a housekeeping thread.

The housekeeper catches up on what commits could not hand to Redis (an outage, a lost flag, a worker that
died): when the worker starts and every 30 seconds it looks at the outbox and, if rows are waiting, requests
a drain. It also enqueues the nightly full rebuild once per day after 00:05 China Standard Time (overdue and
due figures change with the date, not with any write); a Redis key per day keeps several workers from
running it twice.

The housekeeper reads the database through its own engine and closes its connections after each look, so
the work horses RQ forks never inherit a connection that the parent is using.
"""

from __future__ import annotations

import logging
import threading
from datetime import time as dtime
from datetime import timedelta

from sqlalchemy import text

from hierarchy.scope import Scope, scoped
from sync import outbox, queues
from sync.status import as_utc

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 30.0
NIGHTLY_AT_CST = dtime(0, 5)
REBUILD_KEY = "shouhu:rollup-rebuild:{day}"


def pending_outbox(database) -> tuple[int, float | None]:
    """(rows waiting, age of the oldest in seconds) with the all-tenants scope."""
    from tenant_app import clock

    with scoped(Scope(all_tenants=True)), database.session_scope(commit=False) as session:
        count, oldest = session.execute(text("SELECT count(*), min(created_at) FROM sync_outbox")).one()
    if not count:
        return 0, None
    oldest = as_utc(oldest)
    return int(count), max(0.0, (clock.now() - oldest).total_seconds())


def nightly_rebuild() -> dict:
    """The job: recompute every unit from source rows (all-tenants scope)."""
    from sync.rollup import rebuild
    from tenant_app.db import db

    with db.session_scope() as session:
        connection = session.connection()
        outbox.lock_rollup(connection)
        return rebuild(connection)


def schedule_nightly(redis_url: str, client=None):
    """Enqueue today's rebuild if it is past 00:05 CST and no worker has done so; returns the job or None."""
    from sync.jobs import enqueue
    from tenant_app import clock

    local = clock.now().astimezone(clock.CST)
    if local.time() < NIGHTLY_AT_CST:
        return None
    day = local.date().isoformat()
    client = client or outbox.redis_client(redis_url)
    if not client.set(REBUILD_KEY.format(day=day), "1", nx=True, ex=int(timedelta(days=2).total_seconds())):
        return None
    return enqueue("sync.worker.nightly_rebuild", job_id=f"rollup-rebuild-{day}", all_tenants=True,
                   queue=queues.ROLLUP, redis_url=redis_url, connection=client)


class Housekeeper:
    """One look per call to `tick`; `start` runs it every `interval` seconds in a daemon thread."""

    def __init__(self, redis_url: str, database, interval: float = CATCH_UP_SECONDS, *, owns_database: bool = False):
        self.redis_url = redis_url
        self.interval = interval
        self.database = database
        self.owns_database = owns_database  # then its connections are closed after each look
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self, *, first: bool = False) -> dict:
        done = {"pending": 0, "drain": None, "rebuild": None}
        try:
            count, age = pending_outbox(self.database)
        finally:
            if self.owns_database:
                self.database.engine.dispose()
        done["pending"] = count
        if count:
            # Rows older than one interval were missed by the commit-time request (Redis down, lost flag):
            # queue a drain regardless of the flag.
            done["drain"] = outbox.request_drain(self.redis_url, force=first or (age or 0) >= self.interval)
        done["rebuild"] = schedule_nightly(self.redis_url)
        return done

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:  # noqa: BLE001 - keep looking; the next tick may succeed
                log.warning("housekeeping failed (%s: %s)", type(exc).__name__, exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="shouhu-housekeeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def run_worker(redis_url: str, queue_names: list[str], *, database_url: str, app_role: str | None,
               burst: bool = False, interval: float = CATCH_UP_SECONDS) -> None:
    from rq import Queue, Worker

    from sync.jobs import redis_connection
    from tenant_app.db import Database, db

    database = Database()  # its own engine: never share a connection with the forked work horses
    database.configure(database_url, app_role)
    housekeeper = Housekeeper(redis_url, database, interval, owns_database=True)
    try:
        housekeeper.tick(first=True)
    except Exception as exc:  # noqa: BLE001 - the worker still serves its queues
        log.warning("housekeeping at start failed (%s: %s)", type(exc).__name__, exc)
    if not burst:
        housekeeper.start()
    if db.engine is not None:
        db.engine.dispose()  # work horses open their own connections
    connection = redis_connection(redis_url)
    queues_ = [Queue(name, connection=connection) for name in queue_names]
    try:
        Worker(queues_, connection=connection).work(with_scheduler=True, burst=burst)
    finally:
        housekeeper.stop()
