"""Domain rules for the child record, as pure functions returning {field: [messages]}.

Every path that writes a record (pages, API, import) goes through `validate_child`. `data` is the whole
record after the change (stored values merged with the submitted ones). `ref` is the reference date
(default: today in China Standard Time).
"""

from __future__ import annotations

from datetime import date

from tenant_app import clock
from tenant_app.children import enums as E
from tenant_app.children.idcard import birth_date_of, id_number_problems, normalize, sex_of
from tenant_app.i18n import _l

CST = clock.CST
COMPULSORY_AGES = (6, 15)  # nine years of compulsory education, from 6 until 16
NOT_IN_SCHOOL_AGES = (14, 16)
# Ages (whole years, inclusive) at which each stage is plausible: the usual ages (kindergarten 3-5, primary
# 6-11, junior secondary 12-14, senior secondary and vocational 15-17) with room for early and late starts and
# repeated years. A baby in primary school or a five-year-old in senior secondary is a typing error.
SCHOOLING_AGES = {
    "no_kindergarten": (0, 7), "kindergarten": (2, 7), "primary": (5, 16), "junior": (10, 18),
    "senior": (13, 18), "vocational": (13, 18),
}
SCHOOLING_EN = {"no_kindergarten": "the not-in-kindergarten stage", "kindergarten": "kindergarten",
                "primary": "primary school", "junior": "junior secondary school",
                "senior": "senior secondary school", "vocational": "vocational school"}
REQUIRED = _l("此项必填")

Errors = dict[str, list[str]]


def today_cst() -> date:
    return clock.today_cst()


def age_on(born: date, ref: date) -> int:
    return ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def check_enums(data: dict) -> Errors:
    errors: Errors = {}
    single = {"sex": E.SEXES, "health_status": E.HEALTH, "schooling": E.SCHOOLING,
              "father_situation": E.PARENT_SITUATIONS, "mother_situation": E.PARENT_SITUATIONS,
              "guardianship_type": E.GUARDIANSHIP_TYPES, "guardianship_assessment": E.ASSESSMENTS,
              "difficulty_subcategory": E.DIFFICULTY_SUBCATEGORIES, "risk_level": E.RISK_LEVELS,
              "status": E.STATUSES, "exit_reason": E.EXIT_REASONS}
    for field, allowed in single.items():
        value = data.get(field)
        if value is not None and value not in allowed:
            _add(errors, field, _l("取值无效，可选：%(choices)s", choices=", ".join(allowed)))
    for field, allowed in (("income_sources", E.INCOME_SOURCES), ("assistance", E.ASSISTANCE)):
        bad = [v for v in data.get(field) or [] if v not in allowed]
        if bad:
            _add(errors, field, _l("取值无效，可选：%(choices)s", choices=", ".join(allowed)))
    return errors


def check_identity(data: dict, ref: date) -> Errors:
    """Name, birth date, the child's ID number (18 characters) agreeing with birth date and sex."""
    errors: Errors = {}
    if not (data.get("name") or "").strip():
        _add(errors, "name", REQUIRED)
    born = data.get("birth_date")
    if born is None:
        _add(errors, "birth_date", REQUIRED)
    elif born > ref:
        _add(errors, "birth_date", _l("出生日期不能晚于今天"))
    number = normalize(data.get("id_number"))
    if not number:
        if data.get("hukou_registered", True):
            _add(errors, "id_number", _l("已登记户口的儿童须填写身份证号"))
        return errors
    problems = id_number_problems(number, legacy_allowed=False, today=ref)
    if problems:
        errors["id_number"] = problems
        return errors
    if born is not None and birth_date_of(number) != born:
        _add(errors, "birth_date", _l("出生日期与身份证号不一致"))
    if data.get("sex") in E.SEXES and sex_of(number) != data["sex"]:
        _add(errors, "sex", _l("性别与身份证号不一致"))
    return errors


def check_adult_ids(data: dict, ref: date) -> Errors:
    """Parents' and the entrusted guardian's ID numbers: 18 characters or legacy 15 digits."""
    errors: Errors = {}
    for who in ("father", "mother", "guardian"):
        number = normalize(data.get(f"{who}_id_number"))
        if not number:
            continue
        problems = id_number_problems(number, legacy_allowed=True, today=ref)
        if problems:
            errors[f"{who}_id_number"] = problems
            continue
        born = data.get(f"{who}_birth_date")
        if born is not None and birth_date_of(number) != born:
            _add(errors, f"{who}_birth_date",
                 _l("出生日期与身份证号不一致"))
    return errors


def parents_away(data: dict) -> bool:
    """Nobody of the parents at home and at least one away for work."""
    situations = (data.get("father_situation") or "home", data.get("mother_situation") or "home")
    return "home" not in situations and "away" in situations


def left_behind_condition(data: dict) -> bool:
    """Both parents away, or one away and the other without guardianship capacity."""
    father, mother = data.get("father_situation"), data.get("mother_situation")
    if father == "away" and mother == "away":
        return True
    return (father == "away" and mother in E.WITHOUT_CAPACITY) or (
        mother == "away" and father in E.WITHOUT_CAPACITY)


def check_categories(data: dict, ref: date) -> Errors:
    errors: Errors = {}
    born = data.get("birth_date")
    age = age_on(born, ref) if born else None
    if data.get("is_left_behind"):
        if age is not None and age >= 16:
            _add(errors, "is_left_behind", _l("留守儿童须未满16周岁"))
        if not data.get("hukou_rural", True):
            _add(errors, "is_left_behind", _l("留守儿童须为农村户籍"))
        if not left_behind_condition(data):
            _add(errors, "is_left_behind",
                 _l("须父母双方外出，或一方外出另一方无监护能力"))
    if data.get("is_in_difficulty") and not data.get("difficulty_subcategory"):
        _add(errors, "difficulty_subcategory", REQUIRED)
    if data.get("is_de_facto_unsupported") and age is not None and age >= 18:
        _add(errors, "is_de_facto_unsupported",
             _l("事实无人抚养儿童须未满18周岁"))
    return errors


def check_schooling(data: dict, ref: date) -> Errors:
    errors: Errors = {}
    born, schooling = data.get("birth_date"), data.get("schooling")
    if born is None or schooling is None:
        return errors
    age = age_on(born, ref)
    if schooling == "dropout" and not COMPULSORY_AGES[0] <= age <= COMPULSORY_AGES[1]:
        _add(errors, "schooling", "辍学仅适用于义务教育年龄（6-15周岁）/ Dropout applies to ages 6-15 only")
    if schooling == "not_in_school" and not NOT_IN_SCHOOL_AGES[0] <= age <= NOT_IN_SCHOOL_AGES[1]:
        _add(errors, "schooling", _l("不在学仅适用于14-16周岁"))
    if schooling in SCHOOLING_AGES:
        low, high = SCHOOLING_AGES[schooling]
        if not low <= age <= high:
            zh, en = E.SCHOOLING[schooling], SCHOOLING_EN[schooling]
            _add(errors, "schooling", f"{age}周岁的儿童不应为“{zh}”（适用于{low}-{high}周岁）/ "
                                      f"A child aged {age} is not in {en} (ages {low}-{high})")
    return errors


def check_health_and_status(data: dict) -> Errors:
    errors: Errors = {}
    if data.get("health_status") == "disabled" and data.get("disability_grade") is None:
        _add(errors, "disability_grade", _l("残疾儿童须填写残疾等级"))
    grade = data.get("disability_grade")
    if grade is not None and not 1 <= grade <= 4:
        _add(errors, "disability_grade", _l("残疾等级为1-4级"))
    if data.get("status") == "exited" and not data.get("exit_reason"):
        _add(errors, "exit_reason", _l("退出须填写原因"))
    if data.get("status") == "active" and data.get("exit_reason"):
        _add(errors, "exit_reason", _l("在册儿童不应有退出原因"))
    return errors


def is_unattended(data: dict) -> bool:
    """Parents away and no entrusted guardian (无人监护): accepted, but a red flag."""
    if data.get("guardianship_type") == "unattended":
        return True
    return parents_away(data) and not (data.get("guardian_name") or "").strip()


def derive(data: dict) -> dict:
    """Derived values: the unattended flag, which forces high risk and the unattended guardianship type."""
    derived = {"unattended": is_unattended(data)}
    if derived["unattended"]:
        derived["risk_level"] = "high"
        derived["guardianship_type"] = "unattended"
    return derived


def validate_child(data: dict, ref: date | None = None) -> Errors:
    ref = ref or today_cst()
    errors: Errors = {}
    for check in (check_enums(data), check_identity(data, ref), check_adult_ids(data, ref),
                  check_categories(data, ref), check_schooling(data, ref), check_health_and_status(data)):
        for field, messages in check.items():
            errors.setdefault(field, []).extend(messages)
    return errors
