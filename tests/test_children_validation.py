"""Child record rules as pure functions: GB 11643 vectors, ID agreement, definitions, derived risk."""

from __future__ import annotations

from datetime import date

import pytest

from tenant_app.children import idcard
from tenant_app.children.validation import age_on, derive, validate_child

REF = date(2026, 11, 23)


def make_id(birth: str, seq: str = "123", area: str = "440203") -> str:
    """An 18-character ID with a correct check character; seq's last digit odd = male."""
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def child(**overrides) -> dict:
    data = {
        "name": "李小明", "sex": "male", "birth_date": date(2016, 3, 1), "id_number": make_id("20160301", "013"),
        "hukou_registered": True, "hukou_rural": True, "health_status": "healthy", "schooling": "primary",
        "father_situation": "away", "mother_situation": "away", "guardian_name": "李爷爷",
        "is_left_behind": True, "is_in_difficulty": False, "is_de_facto_unsupported": False,
        "risk_level": "low", "status": "active", "income_sources": ["migrant_work"], "assistance": [],
    }
    data.update(overrides)
    return data


# --- GB 11643 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("number", [
    "11010519491231002X",  # the standard's own example, check character X
    "44052419800101001" + idcard.check_char("44052419800101001"),
    make_id("20160301", "013"),
])
def test_valid_18_digit_numbers(number):
    assert idcard.id_number_problems(number, legacy_allowed=False) == []


def test_lowercase_x_is_accepted_after_normalising():
    assert idcard.id_number_problems("11010519491231002x", legacy_allowed=False) == []


@pytest.mark.parametrize("number", [
    "110105194912310021",  # wrong check character (should be X)
    "11010519491231002Y",  # not a digit or X
    "1101051949123100",    # too short
    "440203201602300131",  # 30 February
    "4402032016030101X3",  # X in the sequence
])
def test_invalid_18_digit_numbers(number):
    assert idcard.id_number_problems(number, legacy_allowed=False)


def test_check_character_table():
    # S mod 11 = 2 -> X: take the standard's example and verify the computed char
    assert idcard.check_char("11010519491231002") == "X"
    number = make_id("20100101", "001")
    assert idcard.check_char(number[:17]) == number[17]


def test_15_digit_legacy_adult_ok_child_refused():
    legacy = "440203750101123"  # born 1975-01-01, sequence 123: odd -> male
    assert idcard.id_number_problems(legacy, legacy_allowed=True) == []
    assert idcard.birth_date_of(legacy) == date(1975, 1, 1)
    assert idcard.sex_of(legacy) == "male"
    assert idcard.id_number_problems(legacy, legacy_allowed=False)
    errors = validate_child(child(id_number=legacy), REF)
    assert "id_number" in errors
    assert validate_child(child(father_id_number=legacy, father_birth_date=date(1975, 1, 1)), REF) == {}


def test_future_birth_date_in_id_is_refused():
    assert idcard.id_number_problems(make_id("20300101"), legacy_allowed=False, today=REF)


def test_birth_date_and_sex_extraction():
    number = make_id("20160301", "014")
    assert idcard.birth_date_of(number) == date(2016, 3, 1)
    assert idcard.sex_of(number) == "female"


def test_mask_id():
    assert idcard.mask_id("11010519491231002X") == "110105********002X"
    assert idcard.mask_id("440203750101123") == "440203*****1123"
    assert idcard.mask_id(None) is None


# --- agreement with the record ----------------------------------------------------------------------

def test_valid_record_has_no_errors():
    assert validate_child(child(), REF) == {}


def test_sex_mismatch():
    assert "sex" in validate_child(child(sex="female"), REF)


def test_birth_date_mismatch():
    assert "birth_date" in validate_child(child(birth_date=date(2016, 3, 2)), REF)


def test_invalid_parent_and_guardian_ids_are_field_errors():
    errors = validate_child(child(mother_id_number="110105194912310021", guardian_id_number="123"), REF)
    assert set(errors) == {"mother_id_number", "guardian_id_number"}


def test_parent_birth_date_must_match_parent_id():
    errors = validate_child(child(father_id_number="11010519491231002X", father_birth_date=date(1950, 1, 1)),
                            REF)
    assert "father_birth_date" in errors


def test_registered_child_needs_an_id_unregistered_may_not():
    assert "id_number" in validate_child(child(id_number=None), REF)
    assert validate_child(child(id_number=None, hukou_registered=False), REF) == {}


# --- left-behind definition -------------------------------------------------------------------------

def test_left_behind_both_parents_away():
    assert validate_child(child(father_situation="away", mother_situation="away"), REF) == {}


@pytest.mark.parametrize("other", ["unable", "deceased"])
def test_left_behind_one_away_other_unable(other):
    assert validate_child(child(father_situation="away", mother_situation=other), REF) == {}
    assert validate_child(child(father_situation=other, mother_situation="away"), REF) == {}


def test_left_behind_refused_when_one_parent_at_home():
    errors = validate_child(child(father_situation="away", mother_situation="home"), REF)
    assert "is_left_behind" in errors


def test_left_behind_refused_at_16():
    born = date(2010, 11, 23)  # 16 today
    data = child(birth_date=born, id_number=make_id("20101123", "013"), schooling="senior")
    assert age_on(born, REF) == 16
    assert "is_left_behind" in validate_child(data, REF)
    day_before = date(2010, 11, 24)  # still 15
    data = child(birth_date=day_before, id_number=make_id("20101124", "013"), schooling="junior")
    assert validate_child(data, REF) == {}


def test_left_behind_needs_rural_registration():
    assert "is_left_behind" in validate_child(child(hukou_rural=False), REF)


def test_in_difficulty_needs_subcategory_and_de_facto_under_18():
    assert "difficulty_subcategory" in validate_child(child(is_in_difficulty=True), REF)
    assert validate_child(child(is_in_difficulty=True, difficulty_subcategory="orphan"), REF) == {}
    old = child(birth_date=date(2008, 1, 1), id_number=make_id("20080101", "013"), is_left_behind=False,
                schooling=None, is_de_facto_unsupported=True)
    assert "is_de_facto_unsupported" in validate_child(old, REF)


# --- schooling ages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("birth", "schooling", "ok"), [
    ("20160301", "dropout", True),         # 10
    ("20210301", "dropout", False),        # 5
    ("20110301", "dropout", True),         # 15
    ("20120301", "not_in_school", True),   # 14
    ("20130301", "not_in_school", False),  # 13
    ("20110301", "not_in_school", True),   # 15
])
def test_schooling_ages(birth, schooling, ok):
    born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    data = child(birth_date=born, id_number=make_id(birth, "013"), schooling=schooling)
    assert ("schooling" not in validate_child(data, REF)) is ok


def test_not_in_school_at_16_and_dropout_at_16():
    data = child(birth_date=date(2010, 1, 1), id_number=make_id("20100101", "013"), is_left_behind=False,
                 schooling="not_in_school")
    assert validate_child(data, REF) == {}
    assert "schooling" in validate_child({**data, "schooling": "dropout"}, REF)


# --- unattended, health, status ---------------------------------------------------------------------

def test_unattended_is_accepted_and_marks_high_risk():
    data = child(guardian_name="")
    assert validate_child(data, REF) == {}
    assert derive(data) == {"unattended": True, "risk_level": "high", "guardianship_type": "unattended"}


def test_guardian_named_is_not_unattended():
    assert derive(child()) == {"unattended": False}
    assert derive(child(father_situation="home", guardian_name="")) == {"unattended": False}


def test_disability_grade_and_exit_reason():
    assert "disability_grade" in validate_child(child(health_status="disabled"), REF)
    assert validate_child(child(health_status="disabled", disability_grade=2), REF) == {}
    assert "exit_reason" in validate_child(child(status="exited"), REF)


def test_unknown_codes_are_field_errors():
    errors = validate_child(child(risk_level="extreme", income_sources=["lottery"]), REF)
    assert set(errors) == {"risk_level", "income_sources"}
