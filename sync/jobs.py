"""Enqueueing and running jobs.

Jobs take ids and codes, never ORM objects, and always run with an explicit scope: a unit code, or the
all-tenants flag, which only job code can set (hierarchy.scope.job_scope refuses it inside requests).
Without SHOUHU_REDIS_URL a job runs inline, in the caller's process, after the caller's commit.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from hierarchy.scope import job_scope
from sync import queues

log = logging.getLogger(__name__)


def _resolve(func_path: str) -> Callable:
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def run_scoped(func_path: str, scope_code: str | None, all_tenants: bool, *args, **kwargs):
    """Entry point executed by the worker (or inline): set the scope, then call the job function.

    The job opens its own session (tenant_app.db.db.session_scope) and commits once at its end.
    """
    from tenant_app.db import db

    if db.engine is None:  # a bare RQ worker process: bind the database from the environment
        from tenant_app.config import from_environment

        config = from_environment()
        db.configure(config["SHOUHU_DATABASE_URL"], config["SHOUHU_DB_APP_ROLE"])
    with job_scope(scope_code, all_tenants=all_tenants):
        return _resolve(func_path)(*args, **kwargs)


def redis_connection(url: str):
    import redis

    return redis.Redis.from_url(url)


def enqueue(func_path: str, *args, job_id: str, scope_code: str | None = None, all_tenants: bool = False,
            queue: str = queues.DEFAULT, redis_url: str | None = None, connection=None, **kwargs):
    """Enqueue `func_path(*args, **kwargs)` under a deterministic job id; inline when there is no Redis.

    Call only after the transaction that produced the work has committed. `connection`: a Redis client to
    use instead of one made from `redis_url`.
    """
    if scope_code is None and not all_tenants:
        raise ValueError("a job needs a scope: a unit code or all_tenants=True")
    if redis_url is None:
        return run_scoped(func_path, scope_code, all_tenants, *args, **kwargs)
    from rq import Queue, Retry

    q = Queue(queue, connection=connection if connection is not None else redis_connection(redis_url))
    return q.enqueue(run_scoped, func_path, scope_code, all_tenants, *args, job_id=job_id,
                     retry=Retry(max=3, interval=[1, 5, 30]), failure_ttl=7 * 24 * 3600, **kwargs)
