"""`shouhu bench cases` end to end in a small configuration, on a database of its own: the figures are printed,
the escalation's second run changes nothing, and the stored case figures agree with a recount afterwards.
Speed targets are not asserted here: the machine running tests varies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import create_test_database, drop_test_database

ROOT = Path(__file__).resolve().parent.parent


def _shouhu(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHOUHU_DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env.pop("SHOUHU_REDIS_URL", None)
    return subprocess.run([sys.executable, "-m", "tenant_app.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False)


def test_bench_cases_runs_small_and_prints_its_figures():
    from tenant_app.migrate import upgrade

    url = create_test_database("shouhu_bench_cases")
    try:
        upgrade(url)
        out = _shouhu(url, "bench", "cases", "--villages", "300", "--children", "400", "--cases", "250",
                      "--runs", "3")
        text = out.stdout
        assert out.returncode == 0, text[-3000:] + out.stderr[-3000:]
        assert re.search(r"villages / children / cases\s+[\d,]+ / [\d,]+ / 250$", text, re.M), text
        assert re.search(r"county case queue \(ms\)\s+median [\d.]+, p95 [\d.]+", text), text
        first = re.search(r"escalation, first run\s+[\d.]+ s \(([\d,]+) cases changed, ([\d,]+) notifications\)",
                          text)
        assert first and int(first.group(1).replace(",", "")) > 0, text
        assert re.search(r"escalation, again\s+[\d.]+ s \(0 cases changed, 0 notifications\)", text), text
        assert re.search(r"full rebuild without cases\s+[\d.]+ s \(best of 2\): ratio [\d.]+", text), text
        assert re.search(r"file a report \(ms\)\s+median [\d.]+, p95 [\d.]+", text), text
        # Run again: nothing to generate; then the stored figures equal a recount.
        again = _shouhu(url, "bench", "cases", "--villages", "300", "--children", "400", "--cases", "250",
                        "--runs", "3")
        assert again.returncode == 0 and "generate cases" not in again.stdout, again.stdout[-2000:]
        assert _shouhu(url, "sync", "drain").returncode == 0
        verify = _shouhu(url, "sync", "verify", "--unit", "41")
        assert verify.returncode == 0, verify.stdout[-2000:] + verify.stderr[-2000:]
    finally:
        drop_test_database(url)
