"""The sampler of `shouhu bench load`: the roll-up's lag and the database's CPU during the run, by source."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime

from sqlalchemy import text

from hierarchy.scope import apply_db_scope, job_scope
from tenant_app.loadbench.stack import SOURCES, cpu_seconds


class Sampler:
    """Every 0.25 s: the age of the oldest outbox row (the roll-up's lag during the run) and the CPU of the
    bench database's backends (kept per pid, so backends that ended still count up to their last look), each
    by its source: the web server's requests, the roll-up worker, autovacuum, or other (the bench's own).

    `monitor`: an engine of a role that sees every session's application_name and backend type
    (a superuser, or pg_read_all_stats); without one, every backend counts as "other". It also finds the
    server's own processes (WAL writer, checkpointer, background writer), whose CPU is reported apart: they
    serve every database of the server."""

    def __init__(self, db, database_name: str, monitor=None):
        self.db = db
        self.name = database_name
        self.monitor = monitor
        self.max_age = 0.0
        self.backend_cpu: dict[int, float] = {}
        self.baseline: dict[int, float] = {}  # what backends alive at the start had used before the run
        self.source: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.active = False

    def _backends(self, connection) -> list[tuple[int, str]]:
        if self.monitor is None:
            pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND "
                                           "pid <> pg_backend_pid()"), {"d": self.name}).scalars().all()
            return [(pid, "other") for pid in pids]
        with self.monitor.connect() as watch:
            rows = watch.execute(text(
                "SELECT pid, datname, coalesce(application_name, ''), coalesce(backend_type, '') "
                "FROM pg_stat_activity WHERE (datname = :d OR datname IS NULL) AND pid <> pg_backend_pid()"),
                {"d": self.name}).all()
        own = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        found = []
        for pid, database, application, kind in rows:
            if pid == own:
                continue
            if database is None:
                source = "server"
            elif kind.startswith("autovacuum"):
                source = "autovacuum"
            else:
                source = SOURCES.get(application, "other")
            found.append((pid, source))
        return found

    def _look(self) -> None:
        with self.db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            oldest = connection.execute(text("SELECT min(created_at) FROM sync_outbox")).scalar()
            backends = self._backends(connection)
        if self.active and oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            self.max_age = max(self.max_age, (datetime.now(UTC) - oldest).total_seconds())
        for pid, source in backends:
            used = cpu_seconds(pid, with_reaped=False)
            if not self.active and pid not in self.backend_cpu:
                self.baseline[pid] = used
            self.backend_cpu[pid] = max(self.backend_cpu.get(pid, 0.0), used)
            self.source[pid] = source

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            with contextlib.suppress(Exception):  # a missed look only makes the figure coarser
                self._look()

    def start(self) -> None:
        self._look()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def cpu_by_source(self) -> dict[str, float]:
        """CPU seconds during the run by source: pooled connections opened before it (the logins') count from
        their state at the start, not from their birth."""
        sums: dict[str, float] = {}
        for pid, used in self.backend_cpu.items():
            source = self.source.get(pid, "other")
            sums[source] = sums.get(source, 0.0) + used - self.baseline.get(pid, 0.0)
        return sums

    def database_cpu(self) -> float:
        """CPU seconds of the bench database's backends during the run (the server's own processes apart)."""
        return sum(v for k, v in self.cpu_by_source().items() if k != "server")
