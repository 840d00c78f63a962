"""`shouhu sync rebuild` / `sync verify` as an operator runs them, on the quick start's SQLite database: the
portable SQL gives the same figures as the independent recount, and a tampered row makes verify fail."""

from __future__ import annotations

import sqlite3

from tests.test_cli import shouhu


def test_rebuild_then_verify_on_sqlite_and_a_tampered_row_fails(tmp_path):
    setup = shouhu(tmp_path, "demo", "setup")
    assert setup.returncode == 0, setup.stderr
    database = tmp_path / "instance" / "shouhu.sqlite3"
    _roster_and_training(database)

    built = shouhu(tmp_path, "sync", "rebuild")
    assert built.returncode == 0, built.stderr
    assert "village 1468" in built.stdout and "province 1" in built.stdout

    clean = shouhu(tmp_path, "sync", "verify")
    assert clean.returncode == 0, clean.stderr
    assert "match" in clean.stdout

    with sqlite3.connect(database) as conn:
        in_post, vacant, villages, days, trained, hours = conn.execute(
            "SELECT directors_in_post, villages_vacant, villages_total, vacancy_days, trained_this_year, "
            "training_hours FROM unit_stats WHERE unit_code = '440203'").fetchone()
        assert in_post == 1 and villages == in_post + vacant and trained == 1 and hours == 5 and days >= 0
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


def _roster_and_training(database) -> None:
    """A director in post in a village of 新华街道, trained this year for 5 hours, written as the app stores it."""
    from tenant_app import clock

    today = clock.today_cst().isoformat()
    stamp = "2026-01-01 00:00:00.000000"
    with sqlite3.connect(database) as conn:
        village = conn.execute("SELECT code FROM units WHERE code LIKE '440203001%' AND level = 5 "
                               "ORDER BY code LIMIT 1").fetchone()[0]
        person = conn.execute(
            "INSERT INTO roster_people (region_code, province_code, name, sex, id_number, phone, qualifications, "
            "version, created_at, updated_at) VALUES (?, '44', '王一', 'male', 'R00000000000000001', '', '', 1, ?, ?)",
            (village, stamp, stamp)).lastrowid
        conn.execute(
            "INSERT INTO roster_appointments (region_code, person_id, post, employment, other_post, appointed_on, "
            "leave_reason, version, created_at, updated_at) VALUES (?, ?, 'director', 'part_time', '', "
            "'2025-01-01', '', 1, ?, ?)", (village, person, stamp, stamp))
        course = conn.execute(
            "INSERT INTO training_courses (region_code, title, level, topic, starts_on, ends_on, hours, note, "
            "version, created_at, updated_at) VALUES ('440203', '培训', 'county', 'policy', ?, ?, 8, '', 1, ?, ?)",
            (today, today, stamp, stamp)).lastrowid
        conn.execute(
            "INSERT INTO training_attendance (region_code, course_id, person_id, course_ends_on, course_title, "
            "attended, hours_credited, passed, certificate_no, version, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, '培训', 1, 5, 1, '', 1, ?, ?)", (village, course, person, today, stamp, stamp))
