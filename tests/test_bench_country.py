"""`shouhu bench country` at a tiny scale: a country of three provinces, each step timed, the fan-out reaching
every village of every province, the first province's figures equal to a recount, and the database dropped.
Speed is not asserted here (the machine running tests varies); the command prints the figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_URL
from tests.test_bench_load import _assert_dropped

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHOUHU_BENCH_PG_URL": PG_URL, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "tenant_app.cli", "bench", "country", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900, check=False)


def test_bench_country_times_every_step_on_a_small_country():
    out = _run("--provinces", "3", "--villages", "1500", "--children", "6000", "--runs", "3")
    text = out.stdout
    assert out.returncode == 0, text[-3000:] + out.stderr[-3000:]
    # The scale factor is printed against the full country.
    assert re.search(r"^scale\s+3 provinces; villages 1,500 of 680,000 \(0\.002\); children 6,000 of "
                     r"7,000,000 \(0\.001\)$", text, re.M), text
    assert re.search(r"^load: tree\s+[\d.]+ s\s+1,500 villages", text, re.M), text
    assert re.search(r"^load: children\s+[\d.]+ s\s+6,000 children", text, re.M), text
    assert re.search(r"^full roll-up\s+[\d.]+ s", text, re.M), text
    assert re.search(r"^fan-out of a national campaign\s+[\d.]+ s\s+3 provinces' campaigns published", text, re.M)
    # Every village of the country got its task: one per village, from its own province's campaign.
    assert re.search(r"^\s+1,500 village tasks, [\d,]+ tasks/s$", text, re.M), text
    for line in ("a province's progress", "a county's children list"):
        assert re.search(rf"^{line}\s+p50 [\d.]+ ms, p95 [\d.]+ ms \(3 requests", text, re.M), (line, text)
    assert re.search(r"^recount\s+province 11: figures equal a recount$", text, re.M), text
    _assert_dropped(re.search(r"^database\s+(shouhu_bench_load_\w+)", text, re.M).group(1))


def test_bench_country_refuses_more_provinces_than_the_country_has():
    out = _run("--provinces", "32")
    assert out.returncode == 2
    assert "--provinces" in out.stderr and "1<=x<=31" in out.stderr, out.stderr
