"""`shouhu sync status`: what upward sync is waiting on, in numbers an operator can act on.

Pending outbox rows, queue depths, failed jobs with their exception's last line, the live workers with their
last heartbeat, and the last roll-up per level. Works without Redis (jobs then run inline) and with Redis down
(said so, the rest still shown).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from hierarchy.codes import Level
from sync import queues

FAILED_SHOWN = 5


def as_utc(value) -> datetime | None:
    """A timestamp from raw SQL as an aware UTC datetime (SQLite gives text, naive in UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def database_status(connection) -> dict:
    """Outbox and last roll-up per level; the connection needs the all-tenants scope."""
    from tenant_app import clock

    count, oldest = connection.execute(text("SELECT count(*), min(created_at) FROM sync_outbox")).one()
    kinds = dict(connection.execute(text("SELECT kind, count(*) FROM sync_outbox GROUP BY kind ORDER BY kind")).all())
    oldest = as_utc(oldest)
    age = (clock.now() - oldest).total_seconds() if oldest is not None else None
    rollups: dict[int, datetime] = {}
    if inspect(connection).has_table("unit_stats"):
        for level, as_of in connection.execute(text(
                "SELECT u.level, max(s.as_of) FROM unit_stats s JOIN units u ON u.code = s.unit_code "
                "GROUP BY u.level ORDER BY u.level")):
            rollups[int(level)] = as_utc(as_of)
    return {"outbox": {"pending": int(count), "oldest_age_s": age, "by_kind": kinds}, "rollups": rollups}


def _last_line(job) -> str:
    try:
        result = job.latest_result()
        exc = result.exc_string if result is not None else None
    except Exception:  # noqa: BLE001 - a result that cannot be read is shown as unknown
        exc = None
    lines = [line for line in (exc or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "?"


def redis_status(redis_url: str, connection=None) -> dict:
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    from sync.outbox import redis_client

    connection = connection or redis_client(redis_url)
    result = {}
    for name in queues.ALL:
        queue = Queue(name, connection=connection)
        failed = FailedJobRegistry(queue=queue)
        failed_ids = failed.get_job_ids(desc=True)
        last = []
        for job_id in failed_ids[:FAILED_SHOWN]:
            job = Job.fetch(job_id, connection=connection) if Job.exists(job_id, connection) else None
            last.append((job_id, _last_line(job) if job is not None else "?"))
        result[name] = {"queued": queue.count, "started": StartedJobRegistry(queue=queue).count,
                        "scheduled": ScheduledJobRegistry(queue=queue).count, "failed": len(failed_ids),
                        "failed_last": last}
    return result


def workers_status(redis_url: str, connection=None) -> list[dict]:
    """The workers registered in Redis (a worker re-registers after a Redis restart, sync.worker)."""
    from rq import Worker

    from sync.outbox import redis_client

    connection = connection or redis_client(redis_url)
    workers = [{"name": worker.name, "state": str(getattr(worker.get_state(), "value", worker.get_state())),
                "queues": worker.queue_names(), "last_heartbeat": as_utc(worker.last_heartbeat),
                "pid": worker.pid, "hostname": worker.hostname}
               for worker in Worker.all(connection=connection)]
    return sorted(workers, key=lambda worker: worker["name"])


def gather(connection, redis_url: str | None) -> dict:
    status = database_status(connection)
    status["redis"] = None
    status["redis_error"] = None
    status["workers"] = []
    if redis_url:
        try:
            status["redis"] = redis_status(redis_url)
            status["workers"] = workers_status(redis_url)
        except Exception as exc:  # noqa: BLE001 - report it, show the rest
            status["redis_error"] = f"{type(exc).__name__}: {exc}"
    return status


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def render(status: dict, redis_url: str | None) -> list[str]:
    from tenant_app import clock

    out = []
    box = status["outbox"]
    kinds = ", ".join(f"{kind} {n}" for kind, n in box["by_kind"].items())
    out.append(f"outbox: {box['pending']} pending" + (f" ({kinds}), oldest {_age(box['oldest_age_s'])} ago"
                                                      if box["pending"] else ""))
    if not redis_url:
        out.append("jobs: run inline after each commit (SHOUHU_REDIS_URL is not set)")
    elif status["redis_error"]:
        out.append(f"redis: UNREACHABLE ({status['redis_error']}); commits keep writing the outbox, "
                   "workers drain it when Redis is back")
    else:
        out.append("queues:")
        for name, q in status["redis"].items():
            out.append(f"  {name:8} queued {q['queued']}, running {q['started']}, scheduled {q['scheduled']}, "
                       f"failed {q['failed']}")
            for job_id, line in q["failed_last"]:
                out.append(f"    failed {job_id}: {line}")
        now = clock.now()
        out.append(f"workers: {len(status['workers'])}" + ("" if status["workers"] else
                                                           " (none registered: start `shouhu worker`)"))
        for worker in status["workers"]:
            beat = worker["last_heartbeat"]
            seen = (f"last heartbeat {beat.astimezone(clock.CST).strftime('%Y-%m-%d %H:%M:%S CST')} "
                    f"({_age((now - beat).total_seconds())} ago)") if beat is not None else "no heartbeat yet"
            out.append(f"  {worker['name']} {worker['state']} on {','.join(worker['queues'])} "
                       f"(pid {worker['pid']} on {worker['hostname']}), {seen}")
    out.append("last roll-up per level:")
    if not status["rollups"]:
        out.append("  none yet")
    now = clock.now()
    for level, as_of in status["rollups"].items():
        ago = _age((now - as_of).total_seconds()) if as_of is not None else "-"
        stamp = as_of.astimezone(clock.CST).strftime("%Y-%m-%d %H:%M:%S CST") if as_of is not None else "-"
        out.append(f"  {Level(level).name:9} {stamp} ({ago} ago)")
    return out
