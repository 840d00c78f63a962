"""The crawl's horizontal links: the county's education bureau (a department account) with more roll versions
than a page, a current version longer than a page, matched to the village's children with a grey band longer
than a page for the county's staff; the village's worklists (every record a suspected dropout: longer than a
page) and the county's verification campaign whose village task lists more items than a page, a few answered."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

VERSIONS = 25


def build(conn, password_hash: str, *, county: str, village: str, username: str, today: date | None = None,
          title: str = "疑似辍学核查") -> int:
    """The rolls, matches, worklists and verification campaign; returns the village's verification task."""
    conn.execute(text("""
        INSERT INTO users (region_code, username, password_hash, role, real_name, phone, active, auth_epoch,
                           created_at, updated_at, org_kind, org_name)
        VALUES (:code, :username, :hash, 'department', '巡检教育局', '13700000000', true, 0, now(), now(),
                'education', '浈江区教育局')"""), {"code": county, "username": username, "hash": password_hash})
    user_id = conn.execute(text("SELECT id FROM users WHERE username = :u"), {"u": username}).scalar_one()
    conn.execute(text("""
        INSERT INTO roll_uploads (region_code, dept_unit, dept_kind, roll_kind, status, base_version, is_current,
                                  filename, total_rows, error_count, errors, user_id, created_at)
        VALUES (:c, :c, 'education', 'school', 'invalid', :v, false, '有错误的名册.csv', 1, 1,
                CAST(:errors AS json), :u, now())"""),
                 {"c": county, "v": 0, "u": user_id,
                  "errors": '[{"row": 2, "column": "姓名", "field": "name", "message": "此项必填 / Required"}]'})
    conn.execute(text("""
        INSERT INTO roll_uploads (region_code, dept_unit, dept_kind, roll_kind, status, version, base_version,
                                  is_current, filename, total_rows, error_count, errors, user_id, created_at,
                                  confirmed_at)
        SELECT :c, :c, 'education', 'school', 'confirmed', n, n - 1, n = :v, '学籍名册' || n || '.xlsx', 0, 0,
               CAST('[]' AS json), :u, now() - (:v - n) * interval '1 day', now() - (:v - n) * interval '1 day'
        FROM generate_series(1, :v) n"""), {"c": county, "v": VERSIONS, "u": user_id})
    current = conn.execute(text("SELECT id FROM roll_uploads WHERE is_current AND dept_unit = :c"),
                           {"c": county}).scalar_one()
    conn.execute(text("""
        INSERT INTO roll_rows (region_code, dept_unit, dept_kind, upload_id, line, student_no, id_number, name,
                               name_pinyin, sex, birth_date, area_code, details)
        SELECT :c, :c, 'education', :up, row_number() OVER (ORDER BY id) + 1, 'J' || id, NULL, name, name, sex,
               birth_date, :c, CAST('{"status": "enrolled"}' AS json)
        FROM children WHERE region_code = :village"""), {"c": county, "up": current, "village": village})
    conn.execute(text("""
        INSERT INTO roll_matches (region_code, dept_unit, dept_kind, upload_id, row_id, child_id, score, method,
                                  status, roll_name, roll_sex, roll_birth_date, version)
        SELECT ch.region_code, :c, 'education', :up, r.id, ch.id, CASE WHEN r.line % 3 = 0 THEN 95 ELSE 80 END,
               'fuzzy', CASE WHEN r.line % 3 = 0 THEN 'linked' ELSE 'grey' END, r.name, r.sex, r.birth_date, 1
        FROM roll_rows r JOIN children ch ON ch.region_code = :village AND 'J' || ch.id = r.student_no
        WHERE r.upload_id = :up AND r.line % 7 <> 0"""), {"c": county, "up": current, "village": village})
    conn.execute(text("""
        INSERT INTO roll_match_runs (region_code, dept_unit, dept_kind, upload_id, status, rows_total, rows_done,
                                     linked, grey, created_at, finished_at)
        SELECT :c, :c, 'education', :up, 'done', count(*), count(*), 0, 0, now(), now()
        FROM roll_rows WHERE upload_id = :up"""), {"c": county, "up": current})
    return _worklists(conn, county, village, today or date(2026, 6, 15), title)


TASK_ITEMS = 60
ANSWERED = 5


def _worklists(conn, county: str, village: str, today: date, title: str) -> int:
    conn.execute(text("""
        INSERT INTO worklist_items (region_code, list_kind, subject_key, child_id, name, sex, birth_date, id_number,
                                    reason, status, answer_note, computed_at, version)
        SELECT region_code, 'dropout', 'c' || id, id, name, sex, birth_date, id_number,
               CASE WHEN id % 2 = 0 THEN 'not_on_roll' ELSE 'dropped_out' END, 'open', '', now(), 1
        FROM children WHERE region_code = :village ORDER BY id"""), {"village": village})
    conn.execute(text("""
        INSERT INTO worklist_items (region_code, list_kind, subject_key, child_id, name, sex, birth_date, id_number,
                                    reason, status, answer_note, computed_at, version)
        SELECT region_code, 'mismatch', 'c' || id, id, name, sex, birth_date, id_number, 'name birth_date', 'open',
               '', now(), 1
        FROM children WHERE region_code = :village ORDER BY id LIMIT 3"""), {"village": village})
    campaign = conn.execute(text("""
        INSERT INTO campaigns (issuer_code, title, directive, kind, template, target_level, reviewer_level, starts_on,
                               due_on, questions, status, task_count, receipt_count, created_at, published_at, version)
        VALUES (:c, :title, '请逐一核实。', 'special_action', 'verification', 5, 4, :starts, :due,
                CAST('[]' AS json), 'open', 1, 1, now(), now(), 1)
        RETURNING id"""), {"c": county, "title": title, "starts": today - timedelta(days=3),
                           "due": today + timedelta(days=30)}
                            ).scalar_one()
    task = conn.execute(text("""
        INSERT INTO tasks (campaign_id, region_code, reviewer_code, due_on) VALUES (:cid, :v, :r, :due)
        RETURNING id"""), {"cid": campaign, "v": village, "r": village[:9], "due": today + timedelta(days=30)}
                        ).scalar_one()
    conn.execute(text("INSERT INTO campaign_receipts (campaign_id, region_code) VALUES (:cid, :r)"),
                 {"cid": campaign, "r": village[:9]})
    conn.execute(text("""
        UPDATE worklist_items SET status = 'in_task', campaign_id = :cid, task_id = :task
        WHERE id IN (SELECT id FROM worklist_items WHERE region_code = :v AND list_kind = 'dropout'
                     ORDER BY id LIMIT :n)"""), {"cid": campaign, "task": task, "v": village, "n": TASK_ITEMS})
    conn.execute(text("""
        UPDATE worklist_items SET status = 'answered', answer = 'corrected', answered_at = now(), answered_on = :day
        WHERE id IN (SELECT id FROM worklist_items WHERE task_id = :task ORDER BY id LIMIT :n)"""),
                 {"task": task, "day": today, "n": ANSWERED})
    return task
