"""gunicorn configuration for production (`shouhu serve`). Override with GUNICORN_* env or CLI flags."""

import multiprocessing
import os

bind = os.environ.get("SHOUHU_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("SHOUHU_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("SHOUHU_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
# Query strings may carry names; log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
errorlog = "-"
preload_app = False
forwarded_allow_ips = os.environ.get("SHOUHU_FORWARDED_ALLOW_IPS", "127.0.0.1")
