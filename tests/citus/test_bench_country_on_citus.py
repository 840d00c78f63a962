"""`shouhu bench country --citus-url` at a tiny scale: the same steps on one server and on the local cluster, each
recount equal, the ratio of every figure printed, and both databases dropped on every node."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.citus.conftest import worker_urls
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_country_side_by_side_on_one_server_and_on_the_cluster(citus_url):
    env = {**os.environ, "SHOUHU_BENCH_PG_URL": PG_URL, "SHOUHU_BENCH_CITUS_URL": citus_url,
           "PYTHONUNBUFFERED": "1"}
    out = subprocess.run([sys.executable, "-m", "tenant_app.cli", "bench", "country", "--provinces", "2",
                          "--villages", "600", "--children", "2000", "--runs", "3"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=900, check=False)
    printed = out.stdout
    assert out.returncode == 0, printed[-3000:] + out.stderr[-3000:]
    assert re.search(r"^\s+-- Citus: a coordinator and 2 workers, \d+ shards per table, distributed by province --$",
                     printed, re.M), printed
    assert len(re.findall(r"^recount\s+province 11: figures equal a recount$", printed, re.M)) == 2, printed
    assert len(re.findall(r"^\s+600 village tasks", printed, re.M)) == 2, printed
    for step in ("load: tree", "load: children", "full roll-up", "fan-out of a national campaign"):
        assert re.search(rf"^{step}\s+[\d.]+ s\s+[\d.]+ s\s+× [\d.]+$", printed, re.M), (step, printed)
    for request in ("province progress", "county children list"):
        assert re.search(rf"^{request}\s+[\d.]+ ms\s+[\d.]+ ms\s+× [\d.]+ \(p50\)$", printed, re.M), (request, printed)
    names = re.findall(r"^database\s+(shouhu_bench_load_\w+)", printed, re.M)
    assert len(names) == 2
    for url in [citus_url, *worker_urls(citus_url)]:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                left = connection.execute(text("SELECT datname FROM pg_database WHERE datname = ANY(:n)"),
                                          {"n": names}).scalars().all()
        finally:
            engine.dispose()
        assert left == [], (url, left)
