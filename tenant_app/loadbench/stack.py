"""The production stack of `shouhu bench load` as child processes: gunicorn with deploy's configuration and
`shouhu worker`, bound to 127.0.0.1, and the CPU each process tree (and the database's backends) used."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


# Connections name their process (application_name), so the database's CPU can be told apart by source.
WEB_NAME, WORKER_NAME, BENCH_NAME = "shouhu-web", "shouhu-worker", "shouhu-bench"
SOURCES = {WEB_NAME: "requests", WORKER_NAME: "roll-up worker", BENCH_NAME: "bench"}


def named(url: str, application_name: str) -> str:
    """The database URL with the connection's application_name (seen in pg_stat_activity)."""
    return make_url(url).update_query_dict({"application_name": application_name}).render_as_string(
        hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int, *, with_reaped: bool = True) -> float:
    """utime + stime of a process (and of its children it has waited for); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    # fields[0] is the state (field 3): utime, stime, cutime, cstime are fields 14..17.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of a process and of every live descendant, by pid (reaped ones count in their parent)."""
    out = {pid: cpu_seconds(pid)}
    for child in children_of(pid):
        out.update(tree_cpu(child))
    return out


class Stack:
    def __init__(self, database_url: str, redis_url: str, log_dir: Path, *, workers: int | None = None,
                 threads: int | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SHOUHU_DATABASE_URL": database_url, "SHOUHU_REDIS_URL": redis_url,
                    "SHOUHU_SECRET_KEY": os.environ.get("SHOUHU_SECRET_KEY") or os.urandom(16).hex(),
                    "SHOUHU_BIND": f"127.0.0.1:{self.port}", "PYTHONUNBUFFERED": "1"}
        if workers:
            self.env["SHOUHU_WORKERS"] = str(workers)
        if threads:
            self.env["SHOUHU_THREADS"] = str(threads)
        self.log_dir = log_dir
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    def _spawn(self, args: list[str], name: str, **env: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        return subprocess.Popen(args, env={**self.env, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start(self, timeout: float = 600.0) -> None:
        url = self.env["SHOUHU_DATABASE_URL"]
        self.web = self._spawn([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                                "--chdir", str(ROOT), "wsgi:app"], "gunicorn",
                               SHOUHU_DATABASE_URL=named(url, WEB_NAME))
        self.worker = self._spawn([sys.executable, "-m", "tenant_app.cli", "worker"], "worker",
                                  SHOUHU_DATABASE_URL=named(url, WORKER_NAME))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.web.returncode}); see {self.log_dir / 'gunicorn.log'}")
            try:
                with urllib.request.urlopen(self.base_url + "/api/v1/openapi.json", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("gunicorn did not answer in time")
        # Every gunicorn worker up (each imports the app on its own: preload_app is off).
        wanted = int(self.env.get("SHOUHU_WORKERS") or 0)
        while wanted and len(children_of(self.web.pid)) < wanted and time.monotonic() < deadline:
            time.sleep(0.2)

    def web_workers(self) -> int:
        return len(children_of(self.web.pid)) if self.web else 0

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: the web server's tree, the job worker's tree."""
        return {"web": sum(tree_cpu(self.web.pid).values()) if self.web else 0.0,
                "worker": sum(tree_cpu(self.worker.pid).values()) if self.worker else 0.0}

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is None or process.poll() is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in (self.web, self.worker):
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def database_backends_cpu(db, database_name: str) -> float:
    """CPU seconds of the PostgreSQL backends serving the bench database right now (same machine)."""
    from sqlalchemy import text

    with db.engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                  {"d": database_name}).scalars().all()
    return sum(cpu_seconds(pid, with_reaped=False) for pid in pids)
