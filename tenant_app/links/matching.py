"""Matching a roll version against the child records: an RQ job (queue `links`), set-based: the exact step in one
statement, the fuzzy step a chunk of rows per transaction so that its progress (rows done of the total) shows
while it runs; a retry redoes only the rows without a match.

1. Exact: the row's ID number (given, or decoded from a "G" student number) equals a record's, within the
   department's unit: score 100, linked.
2. Fuzzy, for the rest: records of the row's area (its address's county, else the department's unit) born the
   same day, or on the day with month and day swapped, whose name is the same (95), sounds the same (the pinyin
   keys agree: 85) or differs in one character of the same length (75); minus 15 for a swapped birth date and
   25 for a different sex. The best candidate of a row is linked at LINK_AT and above when it is the only one
   with its score, and waits for a county's decision (grey) from GREY_AT; below, the row has no match.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select, text, update

from hierarchy.citus_schema import via_results
from tenant_app import clock
from tenant_app.links import enums as E
from tenant_app.links.keys import name_key
from tenant_app.links.models import MatchRun, RollMatch, RollRow, RollUpload

CHUNK = 20_000  # rows per transaction of the fuzzy step (its progress is written after each)
KEY_CHUNK = 5_000
MAX_NAME = 6  # one character differing: names of 2 to 6 characters, position by position

# Rows of the chunk without a match: a hashed sub-plan (one pass over the chunk's matches), whatever the planner
# believes of the rows just written (a fresh roll has no statistics yet, and its estimates of one row led to a
# nested loop that read every match of the upload once per row).
_NOT_MATCHED = ("r.id NOT IN (SELECT m.row_id FROM roll_matches AS m WHERE m.upload_id = :upload "
                "AND m.row_id >= :lo AND m.row_id < :hi)")
# Every join and correlated look-up between two tenant tables names the province too (a roll's rows, its matches
# and the records they link lie in its department's province): on a Citus coordinator they then join on their
# distribution column, each province's on its own shard.
_ROWS = "r.upload_id = :upload AND r.id >= :lo AND r.id < :hi"
_COLUMNS = ("region_code, dept_unit, dept_kind, upload_id, row_id, child_id, score, method, status, roll_name, "
            "roll_sex, roll_birth_date, version, province_code")

EXACT_SQL = f"""
INSERT INTO roll_matches ({_COLUMNS})
SELECT c.region_code, r.dept_unit, r.dept_kind, r.upload_id, r.id, c.id, 100, 'id_number', 'linked', r.name,
       r.sex, r.birth_date, 1, c.province_code
FROM roll_rows AS r
JOIN children AS c ON c.id_number = r.id_number AND c.province_code = r.province_code
  AND c.status = 'active' AND c.region_code >= r.dept_unit AND c.region_code < (r.dept_unit || ':')/*C*/
WHERE {_ROWS} AND r.id_number IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM roll_matches AS m WHERE m.province_code = r.province_code
                  AND m.upload_id = :upload AND m.row_id = r.id)
/*VIA_RESULTS*/"""

# The exact step is one statement over the whole version: hash joins (as the bare join of the two tables would
# be), the records hashed or scanned once, not once per chunk (six chunks of a three-million-row roll built the
# same hash six times: half the step's time). The rows already matched (a retry) are left out by a hash anti
# join, which spills to disk rather than falling back to a probe per row when they are millions.
_EXACT_SETTINGS = ("SET LOCAL enable_nestloop = off", "SET LOCAL enable_mergejoin = off", "SET LOCAL work_mem = '64MB'")

_DIFFERING = " + ".join(f"(CASE WHEN substr(c.name, {i}, 1) <> substr(r.name, {i}, 1) THEN 1 ELSE 0 END)"
                        for i in range(1, MAX_NAME + 1))

FUZZY_SQL = f"""
INSERT INTO roll_matches ({_COLUMNS})
SELECT region_code, dept_unit, dept_kind, upload_id, row_id, child_id, score, 'fuzzy',
       CASE WHEN score >= {E.LINK_AT} AND same = 1 THEN 'linked' ELSE 'grey' END, roll_name, roll_sex,
       roll_birth_date, 1, province_code
FROM (
  SELECT s.*, ROW_NUMBER() OVER (PARTITION BY province_code, row_id ORDER BY score DESC, child_id) AS rn,
         COUNT(*) OVER (PARTITION BY province_code, row_id, score) AS same
  FROM (
    SELECT c.province_code, c.region_code, r.dept_unit, r.dept_kind, r.upload_id, r.id AS row_id, c.id AS child_id,
           r.name AS roll_name, r.sex AS roll_sex, r.birth_date AS roll_birth_date,
           (CASE WHEN c.name = r.name THEN 95
                 WHEN (SELECT k.name_pinyin FROM child_name_keys AS k WHERE k.province_code = c.province_code
                         AND k.child_id = c.id AND k.name = c.name) = r.name_pinyin THEN 85
                 WHEN length(c.name) = length(r.name) AND length(r.name) BETWEEN 2 AND {MAX_NAME}
                      AND ({_DIFFERING}) = 1 THEN 75
                 ELSE 0 END)
           - (CASE WHEN c.birth_date = r.birth_date THEN 0 ELSE 15 END)
           - (CASE WHEN c.sex = r.sex THEN 0 ELSE 25 END) AS score
    FROM (SELECT r.*, r.birth_date AS born, (r.area_code || ':')/*C*/ AS area_hi FROM roll_rows AS r
          WHERE {_ROWS} AND r.birth_date IS NOT NULL AND {_NOT_MATCHED}
          UNION ALL
          SELECT r.*, r.birth_swapped AS born, (r.area_code || ':')/*C*/ AS area_hi FROM roll_rows AS r
          WHERE {_ROWS} AND r.birth_swapped IS NOT NULL AND {_NOT_MATCHED}) AS r
    /*CANDIDATES*/
  ) AS s
) AS ranked
WHERE rn = 1 AND score >= {E.GREY_AT}
/*VIA_RESULTS*/"""


_STALE = ("c.region_code >= :lo AND c.region_code < :hi AND c.status = 'active' AND "
          "(k.child_id IS NULL OR k.name <> c.name OR k.region_code <> c.region_code)")
_KEY_OF_CHILD = "k.province_code = c.province_code AND k.child_id = c.id"


# PostgreSQL: a lateral look-up per row, the records born that day in the area by (birth_date, region_code),
# whatever the planner believes of the rows just written (a join let it scan the area's records for every row).
_LATERAL = """CROSS JOIN LATERAL (SELECT c.province_code, c.id, c.name, c.sex, c.birth_date, c.region_code
                        FROM children AS c
                        WHERE c.province_code = r.province_code AND c.birth_date = r.born
                          AND c.region_code >= r.area_code
                          AND c.region_code < r.area_hi AND c.status = 'active' OFFSET 0) AS c"""
_JOIN = """JOIN children AS c ON c.province_code = r.province_code AND c.birth_date = r.born
      AND c.region_code >= r.area_code AND c.region_code < r.area_hi AND c.status = 'active'"""  # SQLite (no LATERAL)


def _sql(statement: str, postgres: bool, via: str = "") -> str:
    """The statement for the dialect: an area's upper bound (code || ':') compares byte-wise on PostgreSQL, as
    the codes' "C" collation does. (It is computed on the roll's side: under the records' row-level security a
    concatenation, not leakproof, could not bound their index scan and only filtered the rows it read.) `via`:
    hierarchy.citus_schema.via_results of the connection (the ranked matches pass through a Citus coordinator)."""
    return (statement.replace("/*C*/", ' COLLATE "C"' if postgres else "")
            .replace("/*CANDIDATES*/", _LATERAL if postgres else _JOIN).replace("/*VIA_RESULTS*/", via))


def refresh_name_keys(session, unit_code: str) -> int:
    """Pinyin keys for the active records of a subtree whose key is missing or stale (renamed or moved), written
    set-based: pinyin is computed once per distinct name (names repeat heavily: a province's million children
    carry some tens of thousands), and the keys go in with one INSERT ... SELECT joining a temporary table of
    the names. How many records got a new key."""
    bounds = {"lo": unit_code, "hi": unit_code + ":"}
    names = session.scalars(text(
        f"SELECT DISTINCT c.name FROM children AS c LEFT JOIN child_name_keys AS k ON {_KEY_OF_CHILD} "
        f"WHERE {_STALE}"), bounds).all()
    if not names:
        return 0
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    connection.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS links_name_keys (name text PRIMARY KEY, "
                               "name_pinyin text NOT NULL)" + (" ON COMMIT DROP" if postgres else ""))
    connection.exec_driver_sql("DELETE FROM links_name_keys")
    if postgres:
        with connection.connection.driver_connection.cursor() as cursor, \
                cursor.copy("COPY links_name_keys (name, name_pinyin) FROM STDIN") as copy:
            for name in names:
                copy.write_row((name, name_key(name)))
    else:
        for start in range(0, len(names), KEY_CHUNK):
            connection.execute(text("INSERT INTO links_name_keys (name, name_pinyin) VALUES (:name, :key)"),
                               [{"name": n, "key": name_key(n)} for n in names[start:start + KEY_CHUNK]])
    connection.execute(text(
        f"DELETE FROM child_name_keys WHERE child_id IN (SELECT c.id FROM children AS c JOIN child_name_keys AS k "
        f"ON {_KEY_OF_CHILD} WHERE {_STALE})"), bounds)
    added = connection.execute(text(
        "INSERT INTO child_name_keys (child_id, region_code, province_code, name, name_pinyin) "
        "SELECT c.id, c.region_code, c.province_code, c.name, n.name_pinyin FROM children AS c "
        f"JOIN links_name_keys AS n ON n.name = c.name LEFT JOIN child_name_keys AS k ON {_KEY_OF_CHILD} "
        f"WHERE {_STALE}{via_results(connection)}"), bounds).rowcount
    connection.exec_driver_sql("DROP TABLE links_name_keys")
    return added


def _set(run_id: int, **values) -> None:
    from tenant_app.db import db

    with db.session_scope() as s:
        s.execute(update(MatchRun).where(MatchRun.id == run_id).values(**values))


def after_run(upload_id: int, dept_unit: str) -> dict:
    """What the version's links tell is written to the records (tenant_app.links.writeback), then the worklists
    of the department's subtree are recomputed (a job of their own: they read the rolls above the unit too).
    Returns the seconds of each (the worklists' only when they run inline, without Redis)."""
    from tenant_app.db import db
    from tenant_app.links import worklists, writeback

    started = time.perf_counter()
    with db.session_scope() as session:
        kind = session.get(RollUpload, upload_id).roll_kind
        writeback.write_back(session, kind, upload_id=upload_id)
    written = time.perf_counter()
    worklists.enqueue_refresh(dept_unit)
    return {"write_back_s": written - started, "worklists_s": time.perf_counter() - written}


def run_match(run_id: int) -> dict:
    """The job: keys refreshed; then the exact step over the whole version (hash joins), then the
    fuzzy step chunk by chunk, each chunk in its own transaction with the progress (rows done of the total)
    written as it goes. Returns the counts and the seconds of each step."""
    from tenant_app.db import db

    timings = {}
    with db.session_scope() as session:
        run = session.get(MatchRun, run_id)
        if run is None or run.status == "done":
            return {"skipped": run_id}
        upload_id, dept_unit = run.upload_id, run.dept_unit
        run.status = "running"
        postgres = session.get_bind().dialect.name == "postgresql"
    started = time.perf_counter()
    with db.session_scope() as session:
        keys = refresh_name_keys(session, dept_unit)
        bounds = session.execute(select(func.min(RollRow.id), func.max(RollRow.id), func.count())
                                 .where(RollRow.upload_id == upload_id)).one()
    timings["keys_s"] = time.perf_counter() - started
    try:
        first, last, total = bounds
        done = 0
        if total:
            started = time.perf_counter()
            with db.session_scope() as session:
                for setting in _EXACT_SETTINGS if postgres else ():
                    session.execute(text(setting))
                session.execute(text(_sql(EXACT_SQL, postgres, via_results(session.connection()))),
                                {"upload": upload_id, "lo": first, "hi": last + 1})
            timings["exact_s"] = time.perf_counter() - started
            started = time.perf_counter()
            for lo in range(first, last + 1, CHUNK):
                hi = lo + CHUNK
                with db.session_scope() as session:
                    session.execute(text(_sql(FUZZY_SQL, postgres, via_results(session.connection()))),
                                    {"upload": upload_id, "lo": lo, "hi": hi})
                    done += session.scalar(select(func.count()).where(
                        RollRow.upload_id == upload_id, RollRow.id >= lo, RollRow.id < hi))
                    session.execute(update(MatchRun).where(MatchRun.id == run_id).values(rows_done=done))
            timings["fuzzy_s"] = time.perf_counter() - started
        with db.session_scope() as session:
            counts = dict(session.execute(select(RollMatch.status, func.count()).where(
                RollMatch.upload_id == upload_id).group_by(RollMatch.status)).all())
    except Exception:
        _set(run_id, status="failed", finished_at=clock.now())
        raise
    _set(run_id, status="done", rows_done=total, linked=counts.get("linked", 0), grey=counts.get("grey", 0),
         finished_at=clock.now())
    timings.update(after_run(upload_id, dept_unit))
    return {"rows": total, "linked": counts.get("linked", 0), "grey": counts.get("grey", 0), "keys": keys,
            **{k: round(v, 3) for k, v in timings.items()}}
