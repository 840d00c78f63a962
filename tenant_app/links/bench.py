"""`shouhu bench links`: horizontal links at province scale, on a dedicated PostgreSQL database (it commits).

1. The synthetic province 41 (~52,000 villages) and its children (1,000,000 by default), generated set-based
   once (`children.demo.generate_children`); a rerun finds them.
2. A school roll of the province's education bureau (3,000,000 rows by default) written as CSV by PostgreSQL
   itself (`COPY (SELECT … generate_series …) TO STDOUT`, not timed): the province's children with "G" + ID
   number student numbers (every other row with the ID number column filled too), `--fuzzy` of them with "J"
   student numbers and their name, birth date or sex altered (same name, a homophone, one character off,
   month and day swapped, the other sex), and pupils not on the records (valid ID numbers no record has).
3. Upload and dry run through the API (`POST /api/v1/rolls/uploads` as the bureau: every row checked, the valid
   ones staged with COPY) — target < 90 s; then the confirmation (the staged rows moved into the roll).
4. The match job: the children's pinyin keys (first run), the exact step (ID numbers, "G" numbers decoded)
   — target < 20 s — and, in the same run, a bare hash join of the same two tables (children ⋈ roll_rows on
   id_number): their ratio; then the fuzzy step over the rows left.
5. Fuzzy matching of `--fuzzy` unmatched rows (50,000): an assistance roster of the province's assistance
   office without ID numbers, addressed to the children's villages (name + birth date + sex within the
   county, homophones, one character off) — target < 60 s.
6. A village's worklist page (`/links/worklists/<village code>`) as the county's staff through the Flask test
   client: p50/p95 of `--runs` requests — target < 100 ms. Any status but 200 fails the bench, loudly, last.
Every figure is printed with its target and ✔/✘, with the scale and the load average.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time

from sqlalchemy import select, text

from hierarchy.scope import Scope, apply_db_scope, job_scope, scoped
from tenant_app.children.bench import PROVINCE, ensure_children

PASSWORD = "Bench-links-2026"
TARGETS = {"dry_run_s": 90.0, "exact_s": 20.0, "fuzzy_s": 60.0, "worklist_p95_ms": 100.0}

# Homophones of common surnames (the same toneless pinyin): 张/章 zhang, 王/汪 wang, 李/理 li, 刘/柳 liu, ...
HOMOPHONE_FROM, HOMOPHONE_TO = "张王李刘陈杨黄赵吴周", "章汪理柳沉阳皇照无舟"
# The GB 11643 weighted sum of the first 17 digits of p.id17 (its check character is '10X98765432'[sum % 11]).
_CHECK_SUM = " + ".join(f"substr(p.id17, {i + 1}, 1)::int * {w}"
                        for i, w in enumerate((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
GIVEN = "浩宇轩涵博文俊杰明辉鹏晨阳睿泽思远嘉豪志强伟欣怡诗雨婷佳琪彤雅静萱馨梅雪慧敏丽娟芳"
# A: children, "G" + ID number; B: children, "J" number and an altered field; C: pupils not on the records.
_ROLL_SQL = f"""
WITH c AS (
  SELECT id, name, sex, birth_date, id_number, region_code, row_number() OVER (ORDER BY id) AS rn
  FROM children WHERE region_code >= :lo AND region_code < :hi AND status = 'active' AND id_number IS NOT NULL
), cn AS MATERIALIZED (
  SELECT code, (row_number() OVER (ORDER BY code) - 1)::int AS j FROM units
  WHERE level = 3 AND NOT retired AND code >= :lo AND code < :hi
), ncn AS MATERIALIZED (SELECT count(*)::int AS n FROM cn),
p AS MATERIALIZED (
  SELECT q.i, b.born, cn.code || to_char(b.born, 'YYYYMMDD') || lpad((700 + q.i / (3650 * ncn.n))::text, 3, '0')
         AS id17
  FROM ncn CROSS JOIN generate_series(1, :others) AS q(i)
  CROSS JOIN LATERAL (SELECT CAST(:today AS date) - 2200 - ((q.i / ncn.n) % 3650)::int AS born) AS b
  JOIN cn ON cn.j = q.i % ncn.n
), surnames AS (SELECT string_to_array('{SURNAMES}', NULL) AS s),
given AS (SELECT string_to_array('{GIVEN}', NULL) AS g),
roll AS (
  SELECT 1 AS part, c.rn AS k, 'G' || c.id_number AS student_no, c.name,
         c.sex, c.birth_date, CASE WHEN c.rn % 2 = 0 THEN c.id_number ELSE '' END AS id_number
  FROM c WHERE c.rn <= :exact
  UNION ALL
  SELECT 2, c.rn, 'J' || c.id_number,
         CASE c.rn % 5 WHEN 1 THEN translate(substr(c.name, 1, 1), '{HOMOPHONE_FROM}', '{HOMOPHONE_TO}')
                                   || substr(c.name, 2)
                       WHEN 2 THEN substr(c.name, 1, length(c.name) - 1)
                                   || CASE WHEN right(c.name, 1) = '嘉' THEN '乐' ELSE '嘉' END
                       ELSE c.name END,
         CASE WHEN c.rn % 5 = 4 THEN CASE c.sex WHEN 'male' THEN 'female' ELSE 'male' END ELSE c.sex END,
         CASE WHEN c.rn % 5 = 3 AND extract(day FROM c.birth_date) <= 12
              THEN make_date(extract(year FROM c.birth_date)::int, extract(day FROM c.birth_date)::int,
                             extract(month FROM c.birth_date)::int)
              ELSE c.birth_date END, ''
  FROM c WHERE c.rn > :exact AND c.rn <= :exact + :fuzzy
  UNION ALL
  SELECT 3, p.i, 'G' || p.id17 || substr('10X98765432', 1 + ({_CHECK_SUM}) % 11, 1),
         s.s[1 + (p.i * 7) % array_length(s.s, 1)] || g.g[1 + (p.i * 13) % array_length(g.g, 1)]
           || CASE WHEN p.i % 3 = 0 THEN '' ELSE g.g[1 + (p.i * 31) % array_length(g.g, 1)] END,
         CASE WHEN substr(p.id17, 17, 1)::int % 2 = 1 THEN 'male' ELSE 'female' END, p.born, ''
  FROM p, surnames s, given g
)
SELECT r.student_no AS "学籍号", r.name AS "姓名", CASE r.sex WHEN 'male' THEN '男' ELSE '女' END AS "性别",
       to_char(r.birth_date, 'YYYY-MM-DD') AS "出生日期", r.id_number AS "身份证号",
       '第' || (1 + r.k % 40) || '小学' AS "学校", (1 + r.k % 9) || '年级' AS "年级",
       CASE WHEN r.k % 17 = 0 THEN '辍学' WHEN r.k % 23 = 0 THEN '休学' WHEN r.k % 29 = 0 THEN '转出'
            ELSE '在校' END AS "学籍状态"
FROM roll AS r
"""

_ASSISTANCE_SQL = f"""
WITH c AS (
  SELECT id, name, sex, birth_date, region_code, row_number() OVER (ORDER BY id DESC) AS rn
  FROM children WHERE region_code >= :lo AND region_code < :hi AND status = 'active'
)
SELECT CASE c.rn % 5 WHEN 1 THEN translate(substr(c.name, 1, 1), '{HOMOPHONE_FROM}', '{HOMOPHONE_TO}')
                                 || substr(c.name, 2)
                     WHEN 2 THEN substr(c.name, 1, length(c.name) - 1)
                                 || CASE WHEN right(c.name, 1) = '嘉' THEN '乐' ELSE '嘉' END
                     ELSE c.name END AS "姓名",
       CASE WHEN (c.rn % 5 = 4) = (c.sex = 'male') THEN '女' ELSE '男' END AS "性别",
       to_char(CASE WHEN c.rn % 5 = 3 AND extract(day FROM c.birth_date) <= 12
                    THEN make_date(extract(year FROM c.birth_date)::int, extract(day FROM c.birth_date)::int,
                                   extract(month FROM c.birth_date)::int)
                    ELSE c.birth_date END, 'YYYY-MM-DD') AS "出生日期",
       '' AS "身份证号", (ARRAY['低保', '特困', '临时救助', '事实无人抚养'])[1 + c.rn % 4] AS "救助类别",
       c.region_code AS "住址代码"
FROM c WHERE c.rn <= :n ORDER BY c.rn
"""


def _say(echo, key: str, value) -> None:
    echo(f"{key:<40} {value}")


def _mark(value: float, target: float) -> str:
    return "✔" if value < target else "✘"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _percentiles(timings: list[float]) -> dict:
    ordered = sorted(timings)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)], 1), "max_ms": round(ordered[-1], 1)}


def _all(db, statement: str, **params):
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.execute(text(statement), params).all()


def _user(db, code: str, role: str, username: str, org_kind: str | None = None) -> str:
    from tenant_app.auth.models import User
    from tenant_app.auth.passwords import hash_password

    with db.session_scope(Scope(all_tenants=True)) as session:
        if session.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
            session.add(User(region_code=code, username=username, role=role, org_kind=org_kind,
                             org_name="基准测试部门" if org_kind else "", password_hash=hash_password(PASSWORD),
                             real_name="基准测试", phone="13800000000"))
    return username


def _user_id(db, username: str) -> int:
    from tenant_app.auth.models import User

    with db.session_scope(Scope(all_tenants=True)) as session:
        return session.execute(select(User.id).where(User.username == username)).scalar_one()


def _token(client, username: str) -> dict:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def write_csv(db, path: str, statement: str, **params) -> int:
    """PostgreSQL writes the CSV (header first) straight into `path`; its data rows."""
    rows = 0
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        cursor = connection.connection.driver_connection.cursor()
        # COPY takes no parameters: the values (integers and a date of ours) are written in as literals.
        query = re.sub(r"(?<!:):(\w+)\b", lambda m: _literal(params[m.group(1)]) if m.group(1) in params
                       else m.group(0), statement)
        with open(path, "wb") as out, cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for block in copy:
                out.write(block)
                rows += bytes(block).count(b"\n")
    return rows - 1


def _literal(value) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _cleanup(db) -> None:
    """Remove the bench's rolls, runs and matches (as the tables' owner); the province and children stay."""
    engine = db.owner_engine()
    try:
        with engine.begin() as connection:
            others = connection.scalar(text("SELECT count(*) FROM roll_uploads WHERE dept_unit NOT LIKE :p || '%'"),
                                       {"p": PROVINCE})
            if not others:  # a database of the bench's own: emptied at once (row by row, millions take minutes)
                connection.execute(text("TRUNCATE roll_matches, roll_match_runs, roll_rows, roll_staged_rows, "
                                        "roll_uploads"))
                return
            uploads = "SELECT id FROM roll_uploads WHERE dept_unit = :p"
            for table in ("roll_matches", "roll_match_runs", "roll_rows", "roll_staged_rows"):
                connection.execute(text(f"DELETE FROM {table} WHERE upload_id IN ({uploads})"), {"p": PROVINCE})
            connection.execute(text(f"DELETE FROM roll_uploads WHERE id IN ({uploads})"), {"p": PROVINCE})
    finally:
        engine.dispose()


def _analyze(db, tables: tuple[str, ...]) -> None:
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for table in tables:
                connection.execute(text(f"ANALYZE {table}"))
    finally:
        engine.dispose()


def upload_through_api(client, headers: dict, kind: str, path: str) -> tuple[dict, float]:
    started = time.perf_counter()
    with open(path, "rb") as file:
        response = client.post("/api/v1/rolls/uploads", headers=headers, content_type="multipart/form-data",
                               data={"roll_kind": kind, "file": (file, os.path.basename(path))})
    seconds = time.perf_counter() - started
    body = response.get_json()
    if response.status_code != 201 or body["status"] != "checked":
        raise RuntimeError(f"the dry run of {path} failed: {response.status_code} {str(body)[:2000]}")
    return body, seconds


def confirm_and_match(db, username: str, upload_id: int, version: int) -> dict:
    """The confirmation as the department (its partner scope; commit included), then the match job as the
    worker runs it (the department's unit scope)."""
    from tenant_app.auth.models import User
    from tenant_app.links import matching, rolls

    user_id = _user_id(db, username)
    started = time.perf_counter()
    with db.session_scope(Scope(all_tenants=True)) as session:
        user = session.get(User, user_id)
        scope = user.scope
    with scoped(scope), db.session_scope() as session:
        actor = session.get(User, user_id)
        _, run = rolls.confirm(session, actor, upload_id, version)
        session.flush()
        run_id, dept_unit = run.id, run.dept_unit
    confirm_s = time.perf_counter() - started
    started = time.perf_counter()
    with job_scope(dept_unit):
        result = matching.run_match(run_id)
    return {**result, "confirm_s": confirm_s, "match_s": time.perf_counter() - started, "run_id": run_id}


def bare_hash_join(db, upload_id: int) -> tuple[float, int]:
    """children ⋈ roll_rows on id_number, the planner held to a hash join: the floor of the exact step."""
    started = time.perf_counter()
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        connection.exec_driver_sql("SET LOCAL enable_nestloop = off")
        connection.exec_driver_sql("SET LOCAL enable_mergejoin = off")
        pairs = connection.scalar(text(
            "SELECT count(*) FROM (SELECT c.id, r.id FROM roll_rows AS r JOIN children AS c "
            "ON c.id_number = r.id_number WHERE r.upload_id = :u) AS j"), {"u": upload_id})
    return time.perf_counter() - started, pairs


def match_counts(db, upload_id: int) -> dict:
    rows = _all(db, "SELECT method, status, count(*) FROM roll_matches WHERE upload_id = :u GROUP BY 1, 2",
                u=upload_id)
    return {f"{m}_{s}": n for m, s, n in rows}


def time_worklist(app_factory, db, village: str, runs: int) -> dict:
    """GET /links/worklists/<village> as the county's staff (logged in through the page), `runs` times."""
    county = village[:6]
    username = _user(db, county, "staff", f"bench_links_{county}")
    client = app_factory({"WTF_CSRF_ENABLED": False}).test_client()  # the login form's token is not timed
    login = client.post("/login", data={"username": username, "password": PASSWORD})
    if login.status_code not in (302, 303):
        raise RuntimeError(f"the county's staff could not log in: {login.status_code}")
    timings = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        response = client.get(f"/links/worklists/{village}")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            return {"status": response.status_code, "village": village}
    return {"status": 200, "village": village, **_percentiles(timings[1:])}


def bench_links(app, db, *, children: int = 1_000_000, rows: int = 3_000_000, fuzzy: int = 50_000,
                villages: int = 52_000, runs: int = 50, seed: int = 2016, files_dir: str | None = None,
                echo=print) -> dict:
    from tenant_app import create_app

    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench links needs PostgreSQL")
    figures: dict = ensure_children(db, villages, children, seed, echo, say=_say)
    have = figures["children"]
    fuzzy = min(fuzzy, have // 2)
    exact = min(have - fuzzy, rows - fuzzy)
    others = max(0, rows - exact - fuzzy)
    _cleanup(db)  # an earlier run's rolls
    education = _user(db, PROVINCE, "department", "bench_links_education", "education")
    assistance = _user(db, PROVINCE, "department", "bench_links_assistance", "civil_assistance")
    _say(echo, "scale", f"province {PROVINCE}: {figures['villages']:,} villages, {have:,} children; school roll "
                        f"{exact + fuzzy + others:,} rows ({exact:,} by ID number, {fuzzy:,} by name, {others:,} "
                        f"not on the records); assistance roster {fuzzy:,} rows")
    _say(echo, "load average at the start", _load())
    app = create_app()  # requests under the command's own app context would share its `g`
    client = app.test_client()
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        where = files_dir or tmp
        tag = f"{have}_{exact}_{fuzzy}_{others}"
        school_csv = os.path.join(where, f"links_bench_school_{tag}.csv")
        assistance_csv = os.path.join(where, f"links_bench_assistance_{tag}.csv")
        if os.path.exists(school_csv) and os.path.exists(assistance_csv):
            _say(echo, "roll files (not timed)", f"reused from {where}")
        else:
            started = time.perf_counter()
            today = time.strftime("%Y-%m-%d")
            written = write_csv(db, school_csv, _ROLL_SQL, lo=PROVINCE, hi=PROVINCE + ":", exact=exact,
                                fuzzy=fuzzy, others=others, today=today)
            write_csv(db, assistance_csv, _ASSISTANCE_SQL, lo=PROVINCE, hi=PROVINCE + ":", n=fuzzy)
            _say(echo, "roll files written (not timed)", f"{written:,} rows, "
                                                         f"{os.path.getsize(school_csv) / 1e6:.0f} MB in "
                                                         f"{time.perf_counter() - started:.1f} s")
        headers = _token(client, education)
        body, dry = upload_through_api(client, headers, "school", school_csv)
        figures.update(dry_run_s=round(dry, 1), rows=body["total_rows"])
        _say(echo, "upload + dry run (CSV, through the API)", f"{dry:.1f} s for {body['total_rows']:,} rows, "
                                                       f"{body['error_count']} errors (target < 90 s) "
                                                       f"{_mark(dry, TARGETS['dry_run_s'])}  load {_load()}")
        result = confirm_and_match(db, education, body["id"], body["base_version"])
        figures.update(confirm_s=round(result["confirm_s"], 1), keys_s=result["keys_s"], exact_s=result["exact_s"],
                       school_fuzzy_s=result["fuzzy_s"], match_s=round(result["match_s"], 1))
        _say(echo, "confirm (staged rows into the roll)", f"{result['confirm_s']:.1f} s (no target)")
        _say(echo, "pinyin keys of the children", f"{result['keys_s']:.1f} s ({result['keys']:,} keys)")
        _analyze(db, ("roll_rows",))
        hash_s, pairs = bare_hash_join(db, body["id"])
        counts = match_counts(db, body["id"])
        figures.update(hash_join_s=round(hash_s, 2), hash_pairs=pairs, school=counts,
                       exact_ratio=round(result["exact_s"] / hash_s, 1))
        _say(echo, "exact matching (ID numbers)", f"{result['exact_s']:.1f} s, {counts.get('id_number_linked', 0):,} "
                                                  f"linked (target < 20 s) {_mark(result['exact_s'], 20)}")
        _say(echo, "  bare hash join, same tables", f"{hash_s:.2f} s ({pairs:,} pairs): exact / hash join = "
                                                   f"{figures['exact_ratio']}x")
        _say(echo, "  fuzzy step over the rest of the roll", f"{result['fuzzy_s']:.1f} s "
                                                            f"({counts.get('fuzzy_linked', 0):,} linked, "
                                                            f"{counts.get('fuzzy_grey', 0):,} grey; no target)")
        _say(echo, "  records written from the links", f"{result['write_back_s']:.1f} s (no target)")
        _say(echo, "  worklists recomputed", f"{result['worklists_s']:.1f} s (no target)")
        _say(echo, "  the whole match job", f"{result['match_s']:.1f} s  load {_load()}")
        if counts.get("id_number_linked", 0) != pairs:
            failed.append(f"exact links {counts.get('id_number_linked', 0)} != hash join pairs {pairs}")

        headers = _token(client, assistance)
        body, dry = upload_through_api(client, headers, "assistance", assistance_csv)
        result = confirm_and_match(db, assistance, body["id"], body["base_version"])
        counts = match_counts(db, body["id"])
        figures.update(fuzzy_s=result["fuzzy_s"], assistance=counts, assistance_rows=body["total_rows"])
        _say(echo, "fuzzy matching (assistance roster)", f"{result['fuzzy_s']:.1f} s for {body['total_rows']:,} "
                                                         f"unmatched rows: {counts.get('fuzzy_linked', 0):,} linked, "
                                                         f"{counts.get('fuzzy_grey', 0):,} grey (target < 60 s) "
                                                         f"{_mark(result['fuzzy_s'], 60)}  load {_load()}")

    # The village with the longest worklist (the page shows its first 50 items).
    village, items = _all(db, "SELECT region_code, count(*) FROM worklist_items WHERE region_code LIKE :p || '%' "
                              "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", p=PROVINCE)[0]
    page = time_worklist(create_app, db, village, runs)
    figures["worklist"] = page
    if page["status"] != 200:
        _say(echo, "a village's worklist page", f"✘ GET /links/worklists/{village} answered {page['status']}, "
                                                f"not 200 (target p95 < 100 ms)")
        failed.append(f"worklist page /links/worklists/{village}: status {page['status']}")
    else:
        _say(echo, "a village's worklist page (ms)", f"p50 {page['p50_ms']}, p95 {page['p95_ms']} over {runs} "
                                                     f"({village}: {items:,} items, county staff; target p95 < 100 ms) "
                                                     f"{_mark(page['p95_ms'], 100)}")
    _say(echo, "load average at the end", _load())
    figures["failed"] = failed
    if failed:
        raise RuntimeError("bench links: " + "; ".join(failed))
    return figures
