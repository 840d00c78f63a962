"""`shouhu bench assessment` end to end in a small configuration, on a database of its own: the figures are
printed and what the bench added (roster, campaigns, tasks) is gone afterwards. Speed targets are not asserted
here: the machine running tests varies."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text

from tests.conftest import create_test_database, drop_test_database
from tests.test_bench_cases import _shouhu


def test_bench_assessment_runs_small_and_cleans_up():
    from tenant_app.migrate import upgrade

    url = create_test_database("shouhu_bench_assess")
    try:
        upgrade(url)
        out = _shouhu(url, "bench", "assessment", "--villages", "300", "--children", "400", "--cases", "120")
        printed = out.stdout
        assert out.returncode == 0, printed[-3000:] + out.stderr[-3000:]
        generated = r"roster and campaigns generated\s+[\d,]+ people \([\d,]+ trained\), [\d,]+ tasks"
        assert re.search(generated, printed), printed
        assert re.search(r"every county of the province, year\s+[\d.]+ s best of 3 \((\d+) counties", printed)
        assert re.search(r"a county's league table page \(ms\)\s+median [\d.]+, p95 [\d.]+", printed), printed
        assert re.search(r"a county's trend seen by the province\s+[\d.]+ s \(12 months\)", printed), printed
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM roster_appointments")) == 0
                assert connection.scalar(text("SELECT count(*) FROM campaigns")) == 0
                assert connection.scalar(text("SELECT count(*) FROM training_attendance")) == 0
                assert connection.scalar(text("SELECT count(*) FROM children")) == 400
        finally:
            engine.dispose()
    finally:
        drop_test_database(url)
