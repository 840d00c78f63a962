"""The crawl's horizontal links: the county's education bureau (a department account) with more roll versions
than a page, a current version longer than a page, matched to the village's children with a grey band longer
than a page for the county's staff."""

from __future__ import annotations

from sqlalchemy import text

VERSIONS = 25


def build(conn, password_hash: str, *, county: str, village: str, username: str) -> None:
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
