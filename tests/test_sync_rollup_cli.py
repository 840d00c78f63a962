"""`shouhu sync rebuild` / `sync verify` as an operator runs them, on the quick start's SQLite database: the
portable SQL gives the same figures as the independent recount, and a tampered row makes verify fail."""

from __future__ import annotations

import sqlite3

from tests.test_cli import shouhu


def test_rebuild_then_verify_on_sqlite_and_a_tampered_row_fails(tmp_path):
    setup = shouhu(tmp_path, "demo", "setup")
    assert setup.returncode == 0, setup.stderr

    built = shouhu(tmp_path, "sync", "rebuild")
    assert built.returncode == 0, built.stderr
    assert "village 1468" in built.stdout and "province 1" in built.stdout

    clean = shouhu(tmp_path, "sync", "verify")
    assert clean.returncode == 0, clean.stderr
    assert "match" in clean.stdout

    database = tmp_path / "instance" / "shouhu.sqlite3"
    with sqlite3.connect(database) as conn:
        total, township = conn.execute("SELECT children_total, townships_with_supervisor FROM unit_stats "
                                       "WHERE unit_code = '440203'").fetchone()
        assert total >= 600  # the demo township's children reached the county
        assert township >= 1  # town_staff is 新华街道's supervisor
        assert total == sum(conn.execute(
            "SELECT age_0_5 + age_6_13 + age_14_16 + age_17_over FROM unit_stats WHERE unit_code = '440203'"
        ).fetchone())
        conn.execute("UPDATE unit_stats SET unattended = unattended + 1 WHERE unit_code = '440203001'")

    tampered = shouhu(tmp_path, "sync", "verify", "--unit", "440203")
    assert tampered.returncode == 1
    assert "440203001 unattended" in tampered.stderr

    again = shouhu(tmp_path, "sync", "rebuild", "--unit", "440203001")
    assert again.returncode == 0, again.stderr
    assert shouhu(tmp_path, "sync", "verify").returncode == 0
