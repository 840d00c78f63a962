"""The write side of upward sync: outbox rows written in the changing transaction, and the drain job.

Every flush that creates, changes or deletes a child, visit, task, census check, report, case or case action
(case figures), a roster appointment or a training attendance (roster figures), or (for staff coverage) a
user's unit, role or active flag inserts one `sync_outbox` row per (unit code, kind) it touched, in the same
transaction: the change and the note that figures must be recomputed commit or roll back together. Bulk
writers that bypass the ORM call `record_bulk`.

After the commit, the drain is requested: with Redis, one queued drain job covers any burst of commits (a
flag key set with SET NX marks "a drain is queued and has not started"; the job clears it before it reads
the outbox, so a commit after that point queues the next one). Without Redis, the drain runs inline. If
Redis is unreachable the commit still stands and the rows wait in the outbox; workers drain it when they
start and every 30 seconds (sync.worker).

The drain deletes a batch of outbox rows and recomputes the figures of their units from source rows in one
transaction: a crash rolls back both, a duplicate or retried drain recomputes the same figures.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from hierarchy.citus_schema import via_results
from hierarchy.codes import CODE_LENGTHS, Level
from hierarchy.scope import Scope, scoped
from hierarchy.session_hooks import forget_at_end, install_once
from sync import queues
from sync.models import OutboxEvent

log = logging.getLogger(__name__)

# Tables whose rows feed the figures, and the kind their outbox rows carry.
WATCHED = {"children": "children", "visits": "visits", "tasks": "tasks", "census_checks": "census",
           "users": "staff", "reports": "cases", "cases": "cases", "case_actions": "cases",
           "roster_appointments": "roster", "training_attendance": "training",
           "worklist_items": "links"}
# Where only some columns feed the figures, a change to the others writes no outbox row:
# a user's login times, password or phone, a task's answers (every autosave of a draft after the first).
STAFF_COLUMNS = ("region_code", "role", "active")
TASK_COLUMNS = ("campaign_id", "region_code", "status", "due_on", "submitted_at")  # sync.rollup's campaign figures
FIGURE_COLUMNS = {"users": STAFF_COLUMNS, "tasks": TASK_COLUMNS}
# Kinds whose unit stands for every village below it (a campaign's fan-out touches the issuer's subtree).
SUBTREE_KINDS = frozenset({"campaign"})
# Kinds that feed the campaigns' progress alone: a unit whose every row of a batch is of these has its campaign
# figures recomputed (and its ancestors'), not its other figures. Task writes are most of a working day's writes.
CAMPAIGN_ONLY_KINDS = frozenset({"tasks"})

VILLAGE_LENGTH = CODE_LENGTHS[Level.village]
BATCH_SIZE = 20_000
MAX_BATCHES = 100

PENDING_KEY = "shouhu:rollup-drain:pending"
GENERATION_KEY = "shouhu:rollup-drain:generation"
PENDING_TTL = 300  # a flag left by a lost enqueue expires; workers also force a drain for old rows
OUTAGE_BACKOFF = 5.0  # after a failed enqueue, skip Redis for this long: requests must not wait on it
# A queued drain waits before it clears the flag and reads: the commits of that moment join it instead of each
# queueing a drain of its own. A drain's cost is mostly fixed (the ancestors up to the province, the monthly
# snapshot), so under a steady stream of writes drains that ran back to back, each for a handful of villages,
# took a third of a core of a 2-core server under the load bench. So the wait adapts: a drain that follows a
# recent one (writes keep coming) waits DEBOUNCE_SECONDS, which cut the roll-up's share by two thirds and keeps
# the figures within about two seconds of the last write (`shouhu bench load` prints the lag; five seconds are
# allowed); a drain after a quiet spell waits only QUIET_DEBOUNCE_SECONDS, so a lone change reaches the
# province within a second.
DEBOUNCE_SECONDS = float(os.environ.get("SHOUHU_ROLLUP_DEBOUNCE_SECONDS", "1.5"))
QUIET_DEBOUNCE_SECONDS = min(0.25, DEBOUNCE_SECONDS)
LAST_DRAIN_KEY = "shouhu:rollup-drain:last-end"  # when the last drain ended (epoch seconds; jobs run in forks)
ROLLUP_LOCK = 7_214_305_001  # pg_advisory_xact_lock key: one roll-up transaction at a time

_PENDING_FLAG = "shouhu_outbox_pending"
_drains_held: ContextVar[bool] = ContextVar("shouhu_drains_held", default=False)
_clients: dict[str, object] = {}

# Tests may set this to a function with sync.rollup.recompute's signature.
recompute_hook = None


class RedisOutage:
    """What an enqueue after a commit does when Redis is unreachable: skip Redis for OUTAGE_BACKOFF seconds
    (requests must not wait on it write after write), and log the outage once per process, not once per write."""

    def __init__(self, logger: logging.Logger, message: str, recovered: str | None = None):
        self.log, self.message, self.recovered_message = logger, message, recovered
        self.down_until: dict[str, float] = {}
        self.logged: set[str] = set()  # URLs whose outage has been logged

    def skipping(self, url: str) -> bool:
        return time.monotonic() < self.down_until.get(url, 0.0)

    def failed(self, url: str, exc: Exception) -> None:
        self.down_until[url] = time.monotonic() + OUTAGE_BACKOFF
        (self.log.debug if url in self.logged else self.log.warning)(
            "%s (%s: %s)", self.message, type(exc).__name__, exc)
        self.logged.add(url)

    def reachable(self, url: str) -> None:
        self.down_until.pop(url, None)
        if url in self.logged:
            self.logged.discard(url)
            if self.recovered_message:
                self.log.warning(self.recovered_message)

    def reset(self) -> None:
        self.down_until.clear()
        self.logged.clear()


redis_outage = RedisOutage(log, "roll-up drain not enqueued; the outbox keeps the rows until a worker drains it",
                           "Redis reachable again: roll-up drains are queued after each commit once more")


# --- write side ------------------------------------------------------------------------------------------

def _region_codes(obj, state) -> set[str]:
    codes = {obj.region_code} if obj.region_code else set()
    history = state.attrs.region_code.history
    codes.update(code for code in history.deleted if code)
    return codes


def _changed(state, table: str) -> bool:
    keys = FIGURE_COLUMNS.get(table) or [attr.key for attr in state.mapper.column_attrs]
    return any(state.attrs[key].history.has_changes() for key in keys)


def changed_units(session: Session) -> set[tuple[str, str]]:
    """(unit code, kind) of every watched row the pending flush writes; both villages of a move."""
    found: set[tuple[str, str]] = set()
    for group, always in ((session.new, True), (session.deleted, True), (session.dirty, False)):
        for obj in group:
            table = getattr(type(obj), "__tablename__", None)
            kind = WATCHED.get(table)
            if kind is None:
                continue
            state = inspect(obj)
            if always or _changed(state, table):
                found.update((code, kind) for code in _region_codes(obj, state))
    return found


def _after_flush(session: Session, flush_context) -> None:
    units = changed_units(session)
    if not units:
        return
    now = _now()
    # Inline: no RETURNING of the new ids (unused), which a partner reporter's scope may insert but not read.
    session.connection().execute(OutboxEvent.__table__.insert().inline(),
                                 [{"region_code": code, "province_code": code[:2], "kind": kind, "created_at": now}
                                  for code, kind in sorted(units)])
    session.info[_PENDING_FLAG] = True


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the enclosing transaction may still roll back
    if session.info.pop(_PENDING_FLAG, False) and not _drains_held.get():
        request_drain()


@contextmanager
def drains_held() -> Iterator[None]:
    """Commits inside do not request the drain: the outbox keeps their rows until the caller (or a worker)
    drains it. For measuring a write without the roll-up it triggers."""
    token = _drains_held.set(True)
    try:
        yield
    finally:
        _drains_held.reset(token)


def install_outbox(session_class: type[Session]) -> None:
    """Register the outbox hooks once, on the Session class requests and jobs use."""
    install_once(session_class, "_shouhu_outbox", after_flush=_after_flush, after_commit=_after_commit,
                 after_transaction_end=forget_at_end(_PENDING_FLAG))


def record_bulk(target, codes, kind: str, params: dict | None = None) -> None:
    """Outbox rows for a set-based write that bypassed the ORM, in the caller's transaction.

    `target`: a Session (the drain is then requested after its commit) or a Connection (the caller calls
    `request_drain()` after committing). `codes`: unit codes, or a SELECT (SQL text or a clause) whose column
    `region_code` lists them, with `params`. One row per distinct code.
    """
    session = target if isinstance(target, Session) else None
    connection = session.connection() if session is not None else target
    now = _now()
    if isinstance(codes, str | ClauseElement):
        select_sql = codes if isinstance(codes, str) else str(codes.compile(dialect=connection.dialect))
        connection.execute(text(
            "INSERT INTO sync_outbox (region_code, province_code, kind, created_at) "
            f"SELECT DISTINCT s.region_code, substr(s.region_code, 1, 2), :outbox_kind, :outbox_now "
            f"FROM ({select_sql}) AS s{via_results(connection)}"),
            {**(params or {}), "outbox_kind": kind, "outbox_now": now})
    else:
        distinct = sorted({code for code in codes if code})
        if not distinct:
            return
        if connection.dialect.name == "postgresql":
            connection.execute(text(
                "INSERT INTO sync_outbox (region_code, province_code, kind, created_at) "
                "SELECT c, substr(c, 1, 2), :kind, :now FROM unnest(CAST(:codes AS varchar[])) AS c"
                + via_results(connection)),
                {"codes": distinct, "kind": kind, "now": now})
        else:
            connection.execute(OutboxEvent.__table__.insert(),
                               [{"region_code": code, "province_code": code[:2], "kind": kind, "created_at": now}
                                for code in distinct])
    if session is not None:
        session.info[_PENDING_FLAG] = True


def _now():
    from tenant_app import clock

    return clock.now()


# --- requesting a drain ----------------------------------------------------------------------------------

def configured_redis_url() -> str | None:
    try:
        from flask import current_app, has_app_context
    except ImportError:  # pragma: no cover - flask is always installed with the app
        has_app_context = lambda: False  # noqa: E731
    if has_app_context():
        return current_app.config.get("SHOUHU_REDIS_URL") or None
    return os.environ.get("SHOUHU_REDIS_URL") or None


def redis_client(url: str):
    """A client that gives up fast: a commit must not wait on an unreachable Redis."""
    client = _clients.get(url)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0))
        _clients[url] = client
    return client


_UNSET = object()


def request_drain(redis_url=_UNSET, *, force: bool = False):
    """Ask for the outbox to be drained; call after the commit that wrote outbox rows.

    Without Redis: drains inline and returns the report. With Redis: enqueues a drain job unless one is
    already queued and not started (`force` enqueues regardless); returns the job or None. Never raises for
    an unreachable Redis: the rows stay in the outbox until a worker drains it.
    """
    url = configured_redis_url() if redis_url is _UNSET else redis_url
    if not url:
        return drain_inline()
    if not force and redis_outage.skipping(url):
        log.debug("roll-up drain not requested: Redis was unreachable moments ago; the outbox keeps the rows")
        return None
    try:
        job = _enqueue_drain(url, force)
    except Exception as exc:  # noqa: BLE001 - the write has committed; the outbox keeps the rows
        redis_outage.failed(url, exc)
        return None
    redis_outage.reachable(url)
    return job


def _enqueue_drain(url: str, force: bool):
    from sync.jobs import enqueue

    client = redis_client(url)
    if force:
        client.set(PENDING_KEY, "1", ex=PENDING_TTL)
    elif not client.set(PENDING_KEY, "1", nx=True, ex=PENDING_TTL):
        return None  # a queued drain has not started yet: it will read this commit's rows
    generation = client.incr(GENERATION_KEY)
    try:
        return enqueue("sync.outbox.drain_outbox", job_id=f"rollup-drain-{generation}", all_tenants=True,
                       queue=queues.ROLLUP, redis_url=url, connection=client)
    except Exception:
        client.delete(PENDING_KEY)  # best effort: let the next commit try again
        raise


def drain_inline() -> dict | None:
    """Run the drain in this process, now, with the all-tenants scope.

    The drain is a fixed function that takes nothing from the caller, so it may run after a request's commit
    even though requests cannot open the all-tenants scope themselves (hierarchy.scope.job_scope). A failure
    is logged and swallowed: the commit stands and the outbox keeps the rows for the next drain.
    """
    try:
        with scoped(Scope(all_tenants=True)):
            return drain_outbox()
    except Exception:  # noqa: BLE001
        log.exception("inline roll-up drain failed; the outbox keeps the rows")
        return None


# --- the drain job ---------------------------------------------------------------------------------------

def _recompute():
    if recompute_hook is not None:
        return recompute_hook
    from sync.rollup import recompute

    return recompute


def lock_rollup(connection) -> None:
    """Serialise roll-up transactions (drains, rebuilds): two at once could each write an ancestor computed
    from the other's not yet committed villages. Held until the transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROLLUP_LOCK})


def _take_batch(connection, limit: int) -> list[tuple[str, str]]:
    if connection.dialect.name == "postgresql":
        # No FOR UPDATE SKIP LOCKED: the application role may not lock outbox rows for update (no UPDATE
        # grant), and lock_rollup already serialises drains. Even without it, a concurrent DELETE of the
        # same ids returns only the rows it actually deleted, so no row is handled twice.
        return [tuple(row) for row in connection.execute(text(
            "DELETE FROM sync_outbox WHERE id IN (SELECT id FROM sync_outbox ORDER BY id LIMIT :n) "
            "RETURNING region_code, kind"), {"n": limit})]
    rows = connection.execute(text("SELECT id, region_code, kind FROM sync_outbox ORDER BY id LIMIT :n"),
                              {"n": limit}).all()
    if rows:
        connection.execute(text("DELETE FROM sync_outbox WHERE id <= :last"), {"last": rows[-1].id})
    return [(row.region_code, row.kind) for row in rows]


def targets(events: Iterable[tuple[str, str]]) -> tuple[list[str], list[str], list[str]]:
    """The distinct villages, other units and whole subtrees to recompute for a batch of outbox rows."""
    villages: set[str] = set()
    others: set[str] = set()
    subtrees: set[str] = set()
    for code, kind in events:
        if kind in SUBTREE_KINDS and len(code) < VILLAGE_LENGTH:
            subtrees.add(code)
        elif len(code) == VILLAGE_LENGTH:
            villages.add(code)
        else:
            others.add(code)
    # A subtree inside another one is covered by it.
    subtrees = {code for code in subtrees if not any(code != other and code.startswith(other) for other in subtrees)}
    return sorted(villages), sorted(others), sorted(subtrees)


def campaign_only(events: Iterable[tuple[str, str]], codes: Iterable[str]) -> list[str]:
    """Of `codes`, those whose every outbox row in `events` is of a campaign-only kind (CAMPAIGN_ONLY_KINDS)."""
    kinds: dict[str, set[str]] = {}
    for code, kind in events:
        kinds.setdefault(code, set()).add(kind)
    return sorted(code for code in codes if kinds.get(code) and kinds[code] <= CAMPAIGN_ONLY_KINDS)


def _units_written(result) -> int:
    units = (result or {}).get("units", 0)
    return sum(units.values()) if isinstance(units, dict) else int(units)


def _clear_pending_flag() -> None:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return
    job = get_current_job()
    if job is not None:
        last_end = float(job.connection.get(LAST_DRAIN_KEY) or 0)
        busy = time.time() - last_end < DEBOUNCE_SECONDS
        wait = DEBOUNCE_SECONDS if busy else QUIET_DEBOUNCE_SECONDS
        if wait > 0:
            time.sleep(wait)
        job.connection.delete(PENDING_KEY)


def drain_outbox(batch_size: int = BATCH_SIZE) -> dict:
    """The job: take outbox rows and recompute their units' figures, one transaction per batch, until the
    outbox is empty. Runs with the all-tenants scope. Returns {batches, events, units, seconds}."""
    from tenant_app.db import db

    _clear_pending_flag()  # after the debounce, before reading: a commit from now on queues the next drain
    started = time.perf_counter()
    report = {"batches": 0, "events": 0, "units": 0}
    recompute = _recompute()
    for _ in range(MAX_BATCHES):
        with db.session_scope() as session:
            connection = session.connection()
            lock_rollup(connection)
            events = _take_batch(connection, batch_size)
            if events:
                villages, others, subtrees = targets(events)
                if villages or others:
                    narrow = campaign_only(events, villages + others)
                    options = {"campaign_only": narrow} if narrow else {}
                    skip = set(narrow)  # a batch holds up to BATCH_SIZE codes: no list look-ups per code
                    report["units"] += _units_written(recompute(
                        connection, [c for c in villages if c not in skip],
                        unit_codes=[c for c in others if c not in skip], **options))
                for code in subtrees:
                    report["units"] += _units_written(recompute(connection, subtree=code))
        if not events:
            break
        report["batches"] += 1
        report["events"] += len(events)
    report["seconds"] = round(time.perf_counter() - started, 3)
    _note_drain_end()
    return report


def _note_drain_end() -> None:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return
    job = get_current_job()
    if job is not None:
        job.connection.set(LAST_DRAIN_KEY, repr(time.time()), ex=PENDING_TTL)
