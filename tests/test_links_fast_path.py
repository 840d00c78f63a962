"""The dry run's fast path for school-roll rows agrees with the field-by-field check: on every crafted row it
either steps aside (None) or gives exactly the values `check_row` gives, and it never accepts a row that
`check_row` refuses."""

from __future__ import annotations

import json
import re

import pytest

from tenant_app.links import parsing
from tests import links_factories
from tests.test_children_api import make_id

department = links_factories.department
upload = links_factories.upload

GOOD = make_id("20160301", "013")
FEMALE = make_id("20150720", "024")
COUNTIES = frozenset({"440203", "440204"})


def _raw(student_no="", name="李小明", sex="", born="", id_number="", status="在校", school="第一小学", grade="四年级"):
    return {"student_no": student_no, "name": name, "sex": sex, "birth_date": born, "id_number": id_number,
            "school": school, "grade": grade, "status": status, "_row": 7}


ROWS = [
    _raw("G" + GOOD), _raw("g" + GOOD.lower()), _raw("G" + GOOD, id_number=GOOD), _raw("X1", id_number=GOOD),
    _raw("G" + GOOD, sex="男", born="2016-03-01"), _raw("G" + GOOD, sex="女"), _raw("G" + GOOD, born="2016-03-02"),
    _raw("G" + GOOD, born="20160301"), _raw("G" + GOOD, born="2016/03/01"), _raw("G" + GOOD, born="2016-3-1"),
    _raw("G" + GOOD[:17] + ("0" if GOOD[17] != "0" else "1")),  # a check character that fails
    _raw("G" + GOOD, id_number=FEMALE), _raw("J" + GOOD, sex="男", born="2016-03-01"), _raw("J" + GOOD, sex="男"),
    _raw("J" + GOOD, born="2016-03-01"), _raw("J1", sex="male", born="2016-03-01"),
    _raw("J1", sex="M", born="2016-03-01"), _raw("J1", sex="男", born="2016-13-01"),
    _raw("J1", sex="男", born="2016-02-30"), _raw("J1", sex="男", born="1899-01-01"),
    _raw("G" + GOOD, name="李 小明"), _raw("G" + GOOD, name="买买提·艾力"), _raw("G" + GOOD, name=""),
    _raw("G" + GOOD, name="李" * 65), _raw("", sex="男", born="2016-03-01"),
    _raw("J" * 41, sex="男", born="2016-03-01"),
    _raw("G" + GOOD, status="辍学"), _raw("G" + GOOD, status="dropped_out"), _raw("G" + GOOD, status="毕业"),
    _raw("G" + GOOD, status=""), _raw("G" + GOOD, school="校" * 150, grade="级" * 30),
    _raw("G" + GOOD, id_number="440203160301013"),  # a 15-digit number
    _raw("G" + GOOD, id_number=GOOD.lower() if GOOD.endswith("X") else GOOD + "1"),
    _raw("G123456789012345678"), _raw("G" + "4402032016030101３X"),  # a full-width digit
    _raw("J" + make_id("20160301", "019", area="440204"), sex="男", born="2016-03-01"),
    _raw("J" + make_id("20160301", "019", area="440299"), sex="男", born="2016-03-01"),
]


@pytest.mark.parametrize("raw", ROWS)
@pytest.mark.parametrize(("dept", "counties"), [("440203", frozenset()), ("44", COUNTIES)])
def test_the_fast_path_agrees_with_the_field_by_field_check(raw, dept, counties):
    fast = parsing.fast_school_row(dict(raw), dept, counties)
    values, errors = parsing.check_row("school", dict(raw), dept, set(), counties)
    if fast is not None:
        assert not errors and fast == values


def test_ordinary_rows_take_the_fast_path():
    for raw in (_raw("G" + GOOD), _raw("J1", sex="男", born="2016-03-01"), _raw("X", id_number=GOOD, status="休学")):
        assert parsing.fast_school_row(raw, "44", COUNTIES) is not None


def test_a_school_roll_checked_in_postgresql_gives_the_python_dry_runs_errors_and_rows(
        client, department, upload, scoped_sql, monkeypatch):
    """The same CSV through both paths (PostgreSQL for big files): the same errors by row and field, and, for
    a valid file, the same staged rows."""
    from tenant_app.links import sqlcheck
    from tests.links_factories import csv_file

    _, headers = department("440203")
    other = make_id("20160101", "031")
    bad = csv_file("school", [
        f"G{GOOD},李小明,女,2016-03-01,,第一小学,四年级,在校",  # sex against the ID number
        "J1,,男,2016-03-01,,一小,四年级,在校",  # no name
        "J2,王五,男,2016-13-01,,一小,四年级,毕业",  # no such date, no such status
        f"G{GOOD[:17]}{'0' if GOOD[17] != '0' else '1'},赵六,男,,,一小,四年级,在校",  # a "G" that does not decode
        f"X9,孙七,男,2016-01-01,{other},一小,四年级,在校", f"G{other},孙七,,,,一小,四年级,在校",  # the same ID twice
        "J3, 周 八 ,男,2016/03/01,,一小,四年级,dropped_out", "J3,周八,男,2016-03-01,,一小,四年级,在校",
    ])
    good = csv_file("school", [
        f"G{GOOD},李小明,男,2016-03-01,,第一小学,四年级,在校", f"x1,孙七,,,{other},一小 , 五年级,休学",
        "J3, 周 八 ,男,2016/03/01,,一小,四年级,dropped_out", f"J{FEMALE},王芳芳,女,2015-07-20,,二小,五年级,转出",
        "J4,买买提·艾力,男,20150101,,三小,一年级,辍学",
    ])
    staged_sql = ("SELECT line, student_no, id_number, name, name_pinyin, sex, birth_date, birth_swapped, area_code, "
                  "details::text FROM roll_staged_rows WHERE upload_id = :u ORDER BY line")
    results = {}
    for threshold in (1 << 40, 0):  # Python, then PostgreSQL
        monkeypatch.setattr(sqlcheck, "SQL_FROM_BYTES", threshold)
        invalid = upload(headers, "school", bad).get_json()
        valid = upload(headers, "school", good).get_json()
        assert (invalid["status"], valid["status"]) == ("invalid", "checked"), (invalid, valid)
        staged = [tuple(r[:-1]) + (json.loads(r[-1]),)
                  for r in scoped_sql("440203", staged_sql, u=valid["id"])]
        results[threshold] = ([(e["row"], e["field"], e["message"]) for e in invalid["errors"]],
                              invalid["error_count"], valid["total_rows"], staged)
    python, postgres = results[1 << 40], results[0]
    assert python == postgres
    assert len(python[3]) == 5 and {(e[0], e[1]) for e in python[0]} >= {(2, "sex"), (3, "name"), (7, "id_number")}


EDGES = [  # whitespace Python's str.strip removes, at either end of a cell, and inside one (kept)
    _raw("G" + GOOD, name="\u3000李小明"), _raw("G" + GOOD, name="李小明\u2009"), _raw("G" + GOOD, name="李\t小明"),
    _raw("G" + GOOD + "\x1c", school="\x85一小"), _raw("J1", sex="男\xa0", born=" 2016-03-01", grade="四年级\u3000"),
    _raw("J1", sex="男", born="2016-03-01", school="一\x01 小"),
    _raw("J1", sex="男", born="2016-03-01", status="在校\u205f"),
]


@pytest.mark.parametrize("dept", ["440203", "44"])
def test_every_crafted_row_gives_the_same_errors_or_staged_row_on_both_paths(
        dept, department, upload, scoped_sql, monkeypatch):
    """Each crafted row alone (a file of one row: no duplicates hide its values) through Python and through
    PostgreSQL: the same errors, or the same staged values (dates from the ID number or the birth date, the
    sex from the ID number's parity, the check character, trimming). And every row the Python fast path
    vouches for, the SQL vouches for too (it is not handed back to the field-by-field check)."""
    from sqlalchemy import text

    from tenant_app.links import sqlcheck
    from tests.links_factories import csv_file

    _, headers = department(dept)
    handed_back = []
    odd_rows = sqlcheck._odd_rows

    def counting(connection, raw_in, values, column, counties, *rest):
        handed_back.append((connection.scalar(text(f"SELECT count(*) FROM {values} WHERE ordinary IS NOT TRUE")),
                            counties))
        return odd_rows(connection, raw_in, values, column, counties, *rest)

    monkeypatch.setattr(sqlcheck, "_odd_rows", counting)
    order = ("student_no", "name", "sex", "birth_date", "id_number", "school", "grade", "status")
    staged_sql = ("SELECT student_no, id_number, name, name_pinyin, sex, birth_date, birth_swapped, area_code, "
                  "details::text FROM roll_staged_rows WHERE upload_id = :u")
    for raw in ROWS + EDGES:
        line = ",".join('"' + raw[f].replace('"', '""') + '"' for f in order)
        seen = {}
        for threshold in (1 << 40, 0):
            monkeypatch.setattr(sqlcheck, "SQL_FROM_BYTES", threshold)
            body = upload(headers, "school", csv_file("school", [line])).get_json()
            staged = [tuple(r[:-1]) + (json.loads(r[-1]),) for r in scoped_sql(dept, staged_sql, u=body["id"])]
            seen[threshold] = (body["status"], [(e["row"], e["field"], e["message"]) for e in body["errors"]], staged)
        assert seen[1 << 40] == seen[0], raw
        assert seen[0][0] == "invalid" or len(seen[0][2]) == 1
        odd, counties = handed_back.pop()
        # (Birth dates written otherwise than YYYY-MM-DD, or before 1990, are left to Python on purpose.)
        stripped = {k: v.strip() if isinstance(v, str) else v for k, v in raw.items()}  # as the reader gives them
        vouched = (parsing.fast_school_row(stripped, dept, counties) is not None
                   and re.fullmatch(r"((199\d|20[0-3]\d)-\d{2}-\d{2})?", raw["birth_date"].strip()) is not None)
        assert odd == (0 if vouched else 1), raw
    assert not handed_back
