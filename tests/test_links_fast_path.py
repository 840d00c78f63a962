"""The dry run's fast path for school-roll rows agrees with the field-by-field check: on every crafted row it
either steps aside (None) or gives exactly the values `check_row` gives, and it never accepts a row that
`check_row` refuses."""

from __future__ import annotations

import pytest

from tenant_app.links import parsing
from tests.test_children_api import make_id

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
