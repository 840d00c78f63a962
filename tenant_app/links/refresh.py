"""Worklists kept current when child records are edited by hand (created, corrected, exited, deleted, moved).

The lists are otherwise recomputed only after a match run, a grey-band confirmation or the county's button, so a
record given its household registration would stay on "records without household registration" until then. The
pattern is the roll-up's (sync.outbox): a flush that writes a record in a way a list reads (FIELDS) notes its
village, both villages of a move, in the session; after the commit each noted village gets one recompute job
(tenant_app.links.worklists.compute over the village alone, a handful of statements on its index range).

Coalescing: a per-village key set with SET NX marks "a recompute of this village is queued and has not started";
the job clears it before it reads, so a commit from then on queues the next one and no edit is missed. A burst
of edits in a village therefore costs one job. The job id names the village and a generation (a fixed id per
village would be overwritten by the next enqueue while the job runs, and RQ's copy of a finished job expires).
Without Redis (the quick start's "jobs inline" mode) the recompute runs in the committing process. If Redis is
unreachable the edit stands and its village's lists wait for the next recompute (logged once per outage).

Set-based writers that bypass the ORM (the import of an upload) call `note_villages` in their transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from hierarchy.session_hooks import forget_at_end, install_once
from sync import queues
from sync.outbox import RedisOutage

log = logging.getLogger(__name__)

# The record's columns some list reads (tenant_app.links.worklists): any other edit leaves every list as it is.
FIELDS = ("region_code", "status", "name", "sex", "birth_date", "id_number", "hukou_registered",
          "is_in_difficulty", "is_de_facto_unsupported", "difficulty_subcategory")
PENDING_KEY = "shouhu:worklists-refresh:pending:"
GENERATION_KEY = "shouhu:worklists-refresh:generation"
PENDING_TTL = 600  # a key left by a lost enqueue expires: the village's next edit queues again
_VILLAGES = "shouhu_worklist_villages"
redis_outage = RedisOutage(log, "worklists not recomputed after an edit; they wait for the next recompute")


def _villages_of(obj, always: bool) -> set[str]:
    state = inspect(obj)
    if not always and not any(state.attrs[key].history.has_changes() for key in FIELDS):
        return set()
    codes = {obj.region_code} if obj.region_code else set()
    codes.update(code for code in state.attrs.region_code.history.deleted if code)
    return codes


def changed_villages(session: Session) -> set[str]:
    """The villages whose lists the pending flush may change."""
    found: set[str] = set()
    for group, always in ((session.new, True), (session.deleted, True), (session.dirty, False)):
        for obj in group:
            if getattr(type(obj), "__tablename__", None) == "children":
                found |= _villages_of(obj, always)
    return found


def note_villages(session: Session, codes: Iterable[str]) -> None:
    """Recompute these villages' lists after the session's commit (for writes that bypass the ORM)."""
    codes = {code for code in codes if code}
    if codes:
        session.info.setdefault(_VILLAGES, set()).update(codes)


def _after_flush(session: Session, flush_context) -> None:
    note_villages(session, changed_villages(session))


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT was released: the enclosing transaction may still roll back
    villages = session.info.pop(_VILLAGES, None)
    if villages:
        request_refresh(sorted(villages))


def install(session_class: type[Session]) -> None:
    """Register the hooks once, on the Session class requests and jobs use (tenant_app.db)."""
    install_once(session_class, "_shouhu_worklist_refresh", after_flush=_after_flush, after_commit=_after_commit,
                 after_transaction_end=forget_at_end(_VILLAGES))


_UNSET = object()


def request_refresh(villages: Iterable[str], redis_url=_UNSET) -> list:
    """After the commit: one recompute per village (inline without Redis); the jobs queued (or inline reports).
    Never raises: the edit has committed."""
    from sync.outbox import configured_redis_url

    url = configured_redis_url() if redis_url is _UNSET else redis_url
    if url and redis_outage.skipping(url):
        return []
    done = []
    for village in villages:
        try:
            done.append(enqueue_village(village, url))
        except Exception as exc:  # noqa: BLE001 - the edit stands; the lists wait for the next recompute
            if not url:
                log.exception("worklists of village %s not recomputed inline after an edit", village)
                continue
            redis_outage.failed(url, exc)
            return done
    if url:
        redis_outage.reachable(url)
    return done


def enqueue_village(village: str, redis_url: str | None):
    """One recompute of the village's lists: queued unless one is queued and not started (then None), or run
    inline without Redis. Its scope is the province: the rolls of a city's or the province's departments
    belong to those units."""
    from sync.jobs import enqueue
    from sync.outbox import redis_client

    if not redis_url:
        return enqueue("tenant_app.links.refresh.village_job", village, job_id=f"worklists-{village}",
                       scope_code=village[:2])
    client = redis_client(redis_url)
    if not client.set(PENDING_KEY + village, "1", nx=True, ex=PENDING_TTL):
        return None  # a queued recompute has not started: it will read this commit's records
    try:
        generation = client.incr(GENERATION_KEY)
        return enqueue("tenant_app.links.refresh.village_job", village, job_id=f"worklists-{village}-{generation}",
                       scope_code=village[:2], queue=queues.LINKS, redis_url=redis_url, connection=client)
    except Exception:
        client.delete(PENDING_KEY + village)  # best effort: let the next edit try again
        raise


def village_job(village_code: str) -> dict:
    """The job: the key cleared first (an edit committed from now on queues another recompute), then the village's
    lists recomputed in one transaction."""
    from rq import get_current_job

    from tenant_app.links.worklists import refresh_job

    job = get_current_job()
    if job is not None:
        job.connection.delete(PENDING_KEY + village_code)
    return refresh_job(village_code)
