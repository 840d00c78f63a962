"""gunicorn configuration for production (`shouhu serve`). Override with GUNICORN_* env or CLI flags.

Sized for CPU, not for the classic "2 x cores + 1": a request here is mostly Python (routing, scoping, ORM,
serialisation) with short waits on the local PostgreSQL. One process per core plus one, each with a few
threads to cover those waits, keeps the cores busy without a crowd of processes taking turns on them while the
database and the roll-up worker need the same cores (measured with `shouhu bench load`).
"""

import multiprocessing
import os

bind = os.environ.get("SHOUHU_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("SHOUHU_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("SHOUHU_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycling a worker costs a fresh one its warm caches; with the app preloaded the new worker is a fork, not a
# re-import, and a high limit keeps recycling rare under load.
max_requests = 20000
max_requests_jitter = 2000
accesslog = "-"
# Query strings may carry names; log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
# Import the app once in the master and fork the workers from it: faster starts and restarts, shared memory.
# The app does no I/O at import (tenant_app.db), so no connection is shared across the fork.
preload_app = True
forwarded_allow_ips = os.environ.get("SHOUHU_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    # Belt and braces: a pool inherited from the master must never hand its sockets to two processes.
    from tenant_app.db import db

    if db.engine is not None:
        db.engine.dispose(close=False)
