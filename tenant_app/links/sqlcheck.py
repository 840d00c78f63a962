"""The dry run of a school roll sent as CSV, in PostgreSQL: millions of rows are parsed by COPY and checked with
set-based SQL instead of one Python call per row.

1. The file goes as it is (UTF-8 or GB18030) into a temporary table with COPY (its CSV parser); a file COPY
   does not take (ragged or blank rows, stray bytes) is left to the Python path, which words its errors.
2. One pass computes every row's values and whether the row is *ordinary*: each cell within what
   `parsing.check_row` accepts without a doubt (a name of Chinese characters, an ASCII student number, an ID
   number whose check character and birth date hold, a birth date as YYYY-MM-DD, a known sex and status, and
   birth date and sex agreeing with the ID number). Cells are trimmed of exactly what Python's `str.strip`
   trims, so the values are those `check_row` gives.
3. The other rows (few, usually none) are read back and checked by `check_row` itself: its values join the
   ordinary ones, its errors are the dry run's.
4. Duplicate ID numbers (or student numbers) are found with one window over the valid rows: each repeat
   points at the previous occurrence, as the Python loop does.
5. Without errors, the names' pinyin keys are computed once per distinct name, and the rows are staged in
   `roll_staged_rows` with one INSERT ... SELECT (its RLS policy checking them).
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tenant_app.i18n import _l
from tenant_app.links import enums as E
from tenant_app.links import parsing
from tenant_app.links.keys import name_key

SQL_FROM_BYTES = 1 << 20  # smaller files are read in Python (no temporary tables to set up)
# Exactly the characters Python's str.strip() removes.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# A row where a cell starts or ends with whitespace (cells joined by \x01): only those rows' cells are trimmed.
# btrim() with a set of multibyte characters costs more than the rest of the first pass; few rows need it, and
# a false alarm (a \x01 in a cell) only trims a row that did not need it.
_EDGE_CLASS = "[" + WHITESPACE + "]"
EDGE = f"(^|\x01){_EDGE_CLASS}|{_EDGE_CLASS}(\x01|$)"
# (No bounded repetitions such as {17} in these patterns: PostgreSQL's regex engine runs them many times slower.)
_ID_SHAPE = "(length({x}) = 18 AND left({x}, 17) !~ '[^0-9]' AND right({x}, 1) ~ '[0-9X]')"
_BORN_SHAPE = ("(length({x}) = 10 AND {x} ~ '^[0-9]+-[0-9]+-[0-9]+$' "
               "AND substr({x}, 5, 1) = '-' AND substr({x}, 8, 1) = '-')")


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _status_case() -> str:  # of the column status_text
    whens = []
    for key, label in E.SCHOOL_STATUSES.items():
        whens.append(f"WHEN {_q(parsing._msgid(label))} THEN {_q(key)}")
        whens.append(f"WHEN {_q(key)} THEN {_q(key)}")
    return "CASE status_text " + " ".join(whens) + " END"


def _digits(data: str, first: int, count: int) -> str:
    """SQL: the number written by `count` ASCII digits of the bytea `data` from byte `first` (0-based): byte
    arithmetic, where a text cast per field (substr(...)::int) went through the text output and input functions."""
    terms = " + ".join(f"get_byte({data}, {first + k}) * {10 ** (count - 1 - k)}" for k in range(count))
    return f"({terms} - {48 * int('1' * count)})"


_CHECK_SUM = "(" + " + ".join(f"get_byte(t.ib, {i}) * {w}" for i, w in enumerate(WEIGHTS)) + \
    f" - {48 * sum(WEIGHTS)}) % 11"


def _date_of(year: str, month: str, day: str) -> str:
    """SQL: the date of integer columns year, month and day when they make a date from 1990 to 2039, else NULL
    (a row with another date is checked in Python; NULL parts give NULL). Never raises: arithmetic before
    make_date."""
    y, m, d = year, month, day
    leap = f"CASE WHEN {m} = 2 AND {y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0) THEN 1 ELSE 0 END"
    valid = (f"{y} BETWEEN 1990 AND 2039 AND {m} BETWEEN 1 AND 12 "
             f"AND {d} BETWEEN 1 AND (ARRAY[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[{m}] + {leap}")
    return f"CASE WHEN {valid} THEN make_date({y}, {m}, {d}) END"


def _header(stream, encoding: str) -> list[str] | None:
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        header = next(csv.reader(wrapper), None)
    except (UnicodeDecodeError, csv.Error):
        header = None
    finally:
        wrapper.detach()
    stream.seek(0)
    return [h.strip() for h in header] if header else None


def school_csv(session, up, stream, counties: frozenset, villages: set, check_row) -> dict | None:
    """The dry run of a school roll's CSV in PostgreSQL: {"total", "problems" [(row, field, message)],
    "staged"}; None when the file is not for this path (the caller then reads it in Python)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    stream.seek(0, io.SEEK_END)
    small = stream.tell() < SQL_FROM_BYTES
    stream.seek(0)
    if small:
        return None
    if stream.read(2) == b"PK":
        stream.seek(0)
        return None
    stream.seek(0)
    try:
        encoding = parsing._encoding(stream)
    except Exception:  # noqa: BLE001 - the Python path words it
        return None
    headers = _header(stream, encoding)
    fields = dict(parsing.COLUMNS["school"])
    if (not headers or len(set(headers)) != len(headers)
            or any(h not in headers for h in parsing.REQUIRED_HEADERS["school"])):
        return None
    column = {fields[h]: f"c{i}" for i, h in enumerate(headers) if h in fields}
    raw_in, values = f"roll_in_{up.id}", f"roll_vals_{up.id}"
    cells = ", ".join(f"c{i} text" for i in range(len(headers)))
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {raw_in} (n bigint GENERATED ALWAYS AS IDENTITY, {cells}) "
                               "ON COMMIT DROP")
    savepoint = session.begin_nested()
    try:
        cursor = connection.connection.driver_connection.cursor()
        names = ", ".join(f"c{i}" for i in range(len(headers)))
        sql_encoding = "UTF8" if encoding.startswith("utf") else "GB18030"
        with cursor.copy(f"COPY {raw_in} ({names}) FROM STDIN WITH (FORMAT csv, HEADER true, "
                         f"ENCODING '{sql_encoding}')") as copy:
            while block := stream.read(1 << 20):
                copy.write(block)
        savepoint.commit()
    except DBAPIError:
        savepoint.rollback()
        stream.seek(0)
        return None
    connection.exec_driver_sql(f"ANALYZE {raw_in}")  # the joins below are planned on its real size
    total = connection.scalar(text(f"SELECT count(*) FROM {raw_in}"))
    if not total or total > parsing.MAX_CSV_ROWS:
        stream.seek(0)
        return None  # the Python path says why

    def cell(field: str) -> str:
        if field not in column:
            return "''"
        value = f"coalesce(i.{column[field]}, '')"
        return f"CASE WHEN i.edge THEN btrim({value}, :ws) ELSE {value} END"

    dept = up.dept_unit
    cells_t, ids_t = f"roll_cells_{up.id}", f"roll_ids_{up.id}"
    joined = ", ".join(f"i.{c}" for c in sorted(set(column.values())))
    # Three passes, each over plain columns of the one before (an expression used many times stays cheap).
    connection.execute(text(f"""
CREATE TEMPORARY TABLE {cells_t} ON COMMIT DROP AS
SELECT i.n + 1 AS line, upper({cell('student_no')}) AS sno, {cell('name')} AS name, upper({cell('id_number')}) AS given,
       {cell('sex')} AS sex_text, {cell('birth_date')} AS born_text, {cell('status')} AS status_text,
       {cell('school')} AS school, {cell('grade')} AS grade
FROM (SELECT i.*, concat_ws(E'\\x01', {joined}) ~ :edge AS edge FROM {raw_in} AS i OFFSET 0) AS i"""),
        {"ws": WHITESPACE, "edge": EDGE})
    # The second pass reads the ID number's and the birth date's digits as bytes, only where the text has the
    # shape of one (then it is ASCII): the date's fields, the check sum and the sex digit's parity.
    connection.execute(text(f"""
CREATE TEMPORARY TABLE {ids_t} ON COMMIT DROP AS
SELECT t.line, t.sno, t.name, t.given, t.sex_text, t.born_text, t.status_text, t.school, t.grade, t.cand,
       CASE WHEN t.id_shaped THEN {_digits('t.ib', 6, 4)} END AS iy,
       CASE WHEN t.id_shaped THEN {_digits('t.ib', 10, 2)} END AS im,
       CASE WHEN t.id_shaped THEN {_digits('t.ib', 12, 2)} END AS iday,
       CASE WHEN t.id_shaped THEN {_CHECK_SUM} END AS isum,
       CASE WHEN t.id_shaped THEN get_byte(t.ib, 16) % 2 = 1 END AS iodd,
       CASE WHEN t.born_shaped THEN {_digits('t.bb', 0, 4)} END AS by,
       CASE WHEN t.born_shaped THEN {_digits('t.bb', 5, 2)} END AS bm,
       CASE WHEN t.born_shaped THEN {_digits('t.bb', 8, 2)} END AS bday
FROM (SELECT t.*, {_ID_SHAPE.format(x="t.cand")} AS id_shaped, textsend(t.cand) AS ib,
             {_BORN_SHAPE.format(x="t.born_text")} AS born_shaped, textsend(t.born_text) AS bb
      FROM (SELECT t.*, CASE WHEN t.given <> '' THEN t.given
                             WHEN length(t.sno) = 19 AND left(t.sno, 1) = 'G' THEN substr(t.sno, 2) ELSE '' END AS cand
            FROM {cells_t} AS t OFFSET 0) AS t
      OFFSET 0) AS t"""))
    connection.exec_driver_sql(f"DROP TABLE {cells_t}")
    connection.execute(text(f"""
CREATE TEMPORARY TABLE {values} ON COMMIT DROP AS
SELECT line, sno AS student_no, name, number AS id_number,
       CASE WHEN number IS NOT NULL THEN CASE WHEN iodd THEN 'male' ELSE 'female' END
            ELSE CASE sex_text WHEN '男' THEN 'male' WHEN 'male' THEN 'male' WHEN '女' THEN 'female'
                               WHEN 'female' THEN 'female' END END AS sex,
       coalesce(id_born, bd) AS birth_date,
       CASE WHEN cardinality(CAST(:counties AS text[])) > 0
                 AND left(coalesce(number, substr(sno, 2)), 6) = ANY (CAST(:counties AS text[]))
            THEN left(coalesce(number, substr(sno, 2)), 6) ELSE :dept END AS area_code,
       status, left(school, 100) AS school, left(grade, 20) AS grade,
       (name !~ '[^一-龥]' AND length(name) BETWEEN 1 AND 64 AND sno !~ '[^A-Z0-9]' AND length(sno) BETWEEN 1 AND 40
        AND (given = '' OR number IS NOT NULL)
        AND NOT (given = '' AND length(sno) = 19 AND left(sno, 1) = 'G' AND number IS NULL)
        AND (born_text = '' OR bd IS NOT NULL)
        AND sex_text IN ('', '男', '女', 'male', 'female')
        AND status IS NOT NULL
        AND CASE WHEN number IS NOT NULL
                 THEN (bd IS NULL OR bd = id_born) AND (sex_text = '' OR (sex_text IN ('男', 'male')) = iodd)
                 ELSE bd IS NOT NULL AND sex_text <> '' END) AS ordinary
FROM (SELECT kc.*, CASE WHEN ok THEN kc.cand END AS number, CASE WHEN ok THEN kc.idd END AS id_born,
             {_status_case()} AS status
      FROM (SELECT kc.*, kc.idd IS NOT NULL AND substr('10X98765432', 1 + kc.isum, 1) = right(kc.cand, 1) AS ok
            FROM (SELECT kc.*, {_date_of('kc.iy', 'kc.im', 'kc.iday')} AS idd,
                         {_date_of('kc.by', 'kc.bm', 'kc.bday')} AS bd
                  FROM {ids_t} AS kc OFFSET 0) AS kc
            OFFSET 0) AS kc
      OFFSET 0) AS v
"""), {"counties": sorted(counties), "dept": dept})
    connection.exec_driver_sql(f"DROP TABLE {ids_t}")
    problems = _odd_rows(connection, raw_in, values, column, counties, villages, check_row, up)
    problems += _duplicates(connection, values)
    staged = 0
    if not problems:
        staged = _stage(connection, values, up)
    connection.exec_driver_sql(f"DROP TABLE {values}")
    connection.exec_driver_sql(f"DROP TABLE {raw_in}")
    return {"total": total, "problems": sorted(problems, key=lambda p: p[0]), "staged": staged}


# (Each LATERAL step ends with OFFSET 0: computed once per row, not inlined into every expression that uses
# it, which multiplied the trims and casts of a cell by the dozen.)


def _odd_rows(connection, raw_in, values, column, counties, villages, check_row, up) -> list:
    """The rows that are not ordinary, checked by check_row: their errors; their values join the others."""
    fields = [(f, column[f]) for f in column]
    odd = connection.execute(text(
        f"SELECT i.n + 1 AS line, {', '.join(f'i.{c}' for _, c in fields)} FROM {raw_in} AS i "
        f"WHERE i.n + 1 IN (SELECT line FROM {values} WHERE ordinary IS NOT TRUE) ORDER BY i.n")).all()
    if not odd:
        return []
    problems, good = [], []
    for row in odd:
        raw = {f: (row[k + 1] or "").strip() for k, (f, _) in enumerate(fields)}
        raw["_row"] = row[0]
        found_values, found = check_row("school", raw, up.dept_unit, villages, counties)
        if found:
            problems.extend((row[0], field, m) for field, messages in found.items() for m in messages)
        else:
            good.append(found_values)
    connection.execute(text(f"DELETE FROM {values} WHERE ordinary IS NOT TRUE"))
    if good:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {values} (line, student_no, name, id_number, sex, birth_date, area_code, status, "
                         "school, grade, ordinary) FROM STDIN") as copy:
            for v in good:
                d = v["details"]
                copy.write_row((v["line"], v["student_no"], v["name"], v["id_number"], v["sex"], v["birth_date"],
                                v["area_code"], d["status"], d["school"], d["grade"], True))
    return problems


def _duplicates(connection, values) -> list:
    """Repeated ID numbers (student numbers where there is none): the keys first, one hash aggregate (usually
    none repeat, and the check ends there), then each repeat pointing at the previous occurrence. (As one
    statement, the planner sorted all the rows to merge them with the few repeated keys.)"""
    keys = connection.scalars(text(f"SELECT coalesce(id_number, student_no) FROM {values} GROUP BY 1 "
                                   "HAVING count(*) > 1")).all()
    if not keys:
        return []
    rows = connection.execute(text(f"""
SELECT line, has_id, prev FROM (
  SELECT line, id_number IS NOT NULL AS has_id,
         lag(line) OVER (PARTITION BY coalesce(id_number, student_no) ORDER BY line) AS prev
  FROM {values} WHERE coalesce(id_number, student_no) = ANY (CAST(:keys AS text[]))) AS d
WHERE prev IS NOT NULL"""), {"keys": keys}).all()
    return [(r.line, "id_number" if r.has_id else "student_no", _l("与第%(row)s行重复", row=r.prev)) for r in rows]


def _stage(connection, values, up) -> int:
    names = connection.scalars(text(f"SELECT DISTINCT name FROM {values}")).all()
    table = f"roll_names_{up.id}"
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE {table} (name text PRIMARY KEY, pinyin text) ON COMMIT DROP")
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} (name, pinyin) FROM STDIN") as copy:
        for name in names:
            copy.write_row((name, name_key(name)))
    staged = connection.execute(text(f"""
INSERT INTO roll_staged_rows (region_code, dept_unit, dept_kind, upload_id, line, student_no, id_number, name,
                              name_pinyin, sex, birth_date, birth_swapped, area_code, details, province_code)
SELECT :unit, :unit, :kind, :upload, v.line, v.student_no, v.id_number, v.name, p.pinyin, v.sex, v.birth_date,
       CASE WHEN extract(day FROM v.birth_date) <= 12
                 AND extract(day FROM v.birth_date) <> extract(month FROM v.birth_date)
            THEN make_date(extract(year FROM v.birth_date)::int, extract(day FROM v.birth_date)::int,
                           extract(month FROM v.birth_date)::int) END,
       v.area_code, json_build_object('status', v.status, 'school', v.school, 'grade', v.grade), :province
FROM {values} AS v JOIN {table} AS p ON p.name = v.name"""),
        {"unit": up.dept_unit, "kind": up.dept_kind, "upload": up.id, "province": up.dept_unit[:2]}).rowcount
    connection.exec_driver_sql(f"DROP TABLE {table}")
    return staged
