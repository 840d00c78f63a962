"""`shouhu worker`: an RQ worker with its scheduler, plus a housekeeping thread.

The housekeeper catches up on what commits could not hand to Redis (an outage, a lost flag, a worker that
died): when the worker starts and every 30 seconds it looks at the outbox and, if rows are waiting, requests
a drain. While Redis is unreachable it looks every second instead, and the moment Redis answers again it
forces a drain: the outbox left by an outage drains within seconds of Redis's return. It also enqueues the
nightly full rebuild once per day after 00:05 China Standard Time (overdue and due figures change with the
date, not with any write); a row per day in the database (`sync_nightly_runs`) keeps several workers, and a
Redis restart, from running it twice. Every five minutes it enqueues the escalation of overdue case steps
(tenant_app.cases.escalation; one job per five-minute slot, whichever worker looks first), and once per day
(CST) the purge of the rolls' dry runs left unconfirmed (tenant_app.links.rolls.purge_stale_job).

The RQ worker retries an unreachable Redis with a back-off capped at a few seconds (RQ's own reaches a minute),
re-registers itself when Redis comes back empty (a restart without persistence), and is started again if RQ's
loop gives up on a connection error; `shouhu sync status` lists the live workers with their last heartbeat.

The housekeeper reads the database through its own engine and closes its connections after each look, so
the work horses RQ forks never inherit a connection that the parent is using.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import time as dtime

from rq import Worker
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hierarchy.scope import Scope, scoped
from sync import outbox, queues
from sync.status import as_utc

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 30.0
PROBE_SECONDS = 1.0  # how often the housekeeper looks for Redis while it is unreachable
RECONNECT_MAX_SECONDS = 2.0  # the worker's longest wait between two tries to reach Redis
NIGHTLY_AT_CST = dtime(0, 5)
# Limits run in hours (an emergency is accepted within one): a step's escalation is at most this late.
ESCALATION_SECONDS = 300
ESCALATION_KEY = "shouhu:case-escalation:"
PURGE_KEY = "shouhu:links-purge:"


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


def schedule_nightly(redis_url: str, client=None, database=None):
    """Enqueue today's rebuild if it is past 00:05 CST and no worker has done so; returns the job or None.

    The guard is a row per day in the database, written in the same transaction that enqueues: if Redis
    refuses the job the row is rolled back and the next look tries again; a Redis restart forgets nothing."""
    from sync.jobs import enqueue
    from tenant_app import clock

    local = clock.now().astimezone(clock.CST)
    if local.time() < NIGHTLY_AT_CST:
        return None
    if database is None:
        from tenant_app.db import db as database
    day = local.date()
    with scoped(Scope(all_tenants=True)), database.session_scope() as session:
        try:
            with session.begin_nested():
                session.execute(text("INSERT INTO sync_nightly_runs (day, enqueued_at) VALUES (:day, :now)"),
                                {"day": day, "now": clock.now()})
        except IntegrityError:
            return None  # another worker, or an earlier look, has queued today's rebuild
        client = client or outbox.redis_client(redis_url)
        return enqueue("sync.worker.nightly_rebuild", job_id=f"rollup-rebuild-{day.isoformat()}",
                       all_tenants=True, queue=queues.ROLLUP, redis_url=redis_url, connection=client)


def schedule_escalation(redis_url: str, client=None):
    """Enqueue the escalation job once per slot of ESCALATION_SECONDS; returns the job or None.

    The job is idempotent (a level is notified once, tenant_app.cases.escalation), so the guard is only there
    to keep several workers from queueing the same slot: a SET NX on a key that outlives the slot."""
    from sync.jobs import enqueue
    from tenant_app import clock

    slot = int(clock.now().timestamp() // ESCALATION_SECONDS)
    client = client or outbox.redis_client(redis_url)
    if not client.set(f"{ESCALATION_KEY}{slot}", "1", nx=True, ex=2 * ESCALATION_SECONDS):
        return None
    return enqueue("tenant_app.cases.escalation.run", job_id=f"case-escalation-{slot}", all_tenants=True,
                   queue=queues.DEFAULT, redis_url=redis_url, connection=client)


def schedule_purge(redis_url: str, client=None):
    """Enqueue the day's purge of stale dry runs (their staged rows can be millions) once per CST day; returns
    the job or None.

    Idempotent like the escalation (a purged dry run is gone; a second purge finds nothing), so a Redis key per
    day is guard enough: a Redis restart costs at most one more, empty, purge."""
    from sync.jobs import enqueue
    from tenant_app import clock

    day = clock.today_cst().isoformat()
    client = client or outbox.redis_client(redis_url)
    if not client.set(f"{PURGE_KEY}{day}", "1", nx=True, ex=2 * 24 * 3600):
        return None
    return enqueue("tenant_app.links.rolls.purge_stale_job", job_id=f"links-purge-{day}", all_tenants=True,
                   queue=queues.LINKS, redis_url=redis_url, connection=client)


class Housekeeper:
    """One look per call to `tick`; `start` runs it every `interval` seconds in a daemon thread, and every
    PROBE_SECONDS while Redis is unreachable."""

    def __init__(self, redis_url: str, database, interval: float = CATCH_UP_SECONDS, *, owns_database: bool = False):
        self.redis_url = redis_url
        self.interval = interval
        self.database = database
        self.owns_database = owns_database  # then its connections are closed after each look
        self.redis_down = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._forced = False
        self._thread: threading.Thread | None = None

    def tick(self, *, first: bool = False) -> dict:
        """Raises while Redis is unreachable (the caller looks again soon)."""
        outbox.redis_client(self.redis_url).ping()
        done = {"pending": 0, "drain": None, "rebuild": None, "escalation": None, "purge": None}
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
        try:
            done["rebuild"] = schedule_nightly(self.redis_url, database=self.database)
        finally:
            if self.owns_database:
                self.database.engine.dispose()
        done["escalation"] = schedule_escalation(self.redis_url)
        done["purge"] = schedule_purge(self.redis_url)
        return done

    def look(self, *, first: bool = False) -> float:
        """One look that never raises; returns the seconds to wait before the next one."""
        try:
            # Redis back after an outage: what the outage left in the outbox is queued at once.
            self.tick(first=first or self.redis_down)
        except Exception as exc:  # noqa: BLE001 - keep looking; the next look may succeed
            if not self.redis_down:  # one warning per outage, not one per look
                log.warning("housekeeping failed (%s: %s); looking again every %.0f s until it succeeds",
                            type(exc).__name__, exc, PROBE_SECONDS)
            self.redis_down = True
            return min(PROBE_SECONDS, self.interval)
        if self.redis_down:
            log.warning("housekeeping succeeds again: the outbox left by the outage was queued for draining")
        self.redis_down = False
        return self.interval

    def _run(self, wait: float) -> None:
        while True:
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            forced, self._forced = self._forced, False
            wait = self.look(first=forced)

    def wake(self) -> None:
        """Look now and drain regardless of age: the worker saw Redis come back (an outage may have fallen
        between two looks, which are 30 s apart while Redis answers)."""
        self._forced = True
        self._wake.set()

    def start(self, wait: float | None = None) -> None:
        self._thread = threading.Thread(target=self._run, args=(self.interval if wait is None else wait,),
                                        name="shouhu-housekeeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


class ShouhuWorker(Worker):
    """RQ's forking worker, quicker to come back after a Redis outage."""

    max_connection_wait_time = RECONNECT_MAX_SECONDS
    housekeeper: Housekeeper | None = None
    redis_lost = False

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        try:
            # A Redis restarted without persistence has forgotten this worker: register it again, or
            # monitoring (and `shouhu sync status`) would show no worker at all while this one keeps working.
            if not self.connection.hexists(self.key, "birth"):
                self.log.warning("Worker %s: Redis forgot this worker (restarted?); registering again", self.name)
                self.connection.delete(self.key)
                self.register_birth()
                self.redis_lost = True
            result = super().heartbeat(timeout, pipeline)
        except Exception:
            self.redis_lost = True  # RQ retries; the first heartbeat that succeeds ends the outage
            raise
        if self.redis_lost:
            self.redis_lost = False
            if self.housekeeper is not None:
                self.housekeeper.wake()  # what commits left in the outbox during the outage, now
        return result


def run_worker(redis_url: str, queue_names: list[str], *, database_url: str, app_role: str | None,
               jobs_role: str | None = "shouhu_jobs", burst: bool = False,
               interval: float = CATCH_UP_SECONDS) -> None:
    import redis
    from rq import Queue

    from sync.jobs import redis_connection
    from tenant_app.db import Database, db

    if not logging.getLogger("sync").handlers:
        # RQ logs its own lines; the housekeeper's and this loop's warnings belong in the same output.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%H:%M:%S"))
        logging.getLogger("sync").addHandler(handler)
        logging.getLogger("sync").setLevel(logging.INFO)
    database = Database()  # its own engine: never share a connection with the forked work horses
    database.configure(database_url, app_role, jobs_role)
    housekeeper = Housekeeper(redis_url, database, interval, owns_database=True)
    wait = housekeeper.look(first=True)
    if not burst:
        housekeeper.start(wait)
    if db.engine is not None:
        db.engine.dispose()  # work horses open their own connections
    connection = redis_connection(redis_url)
    queues_ = [Queue(name, connection=connection) for name in queue_names]
    backoff = 0.25
    lost = False  # a worker replacing one that lost Redis wakes the housekeeper on its first heartbeat
    try:
        while True:
            try:
                # Inside the try: RQ's constructor already talks to Redis (CLIENT SETNAME).
                worker = ShouhuWorker(queues_, connection=connection)
                worker.housekeeper = housekeeper
                worker.redis_lost = lost
                worker.work(with_scheduler=True, burst=burst)
                # An idle worker stopped by a signal leaves only the date of the request behind.
                if burst or worker._stop_requested or worker._shutdown_requested_date is not None:
                    return
                # RQ's loop gave up (a Redis timeout, an error it does not retry): start a new worker.
                log.warning("the RQ worker loop ended without a stop request; starting again")
                lost = True
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                lost = True
                # Redis unreachable when registering (or unregistering): try again shortly, not after a minute.
                log.warning("Redis unreachable for the worker (%s); retrying in %.1f s", type(exc).__name__, backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
    finally:
        housekeeper.stop()
