"""The rules of a person's fields, shared by the API, the pages and the import (which checks rows the same way)."""

from __future__ import annotations

import re
from datetime import date

from tenant_app.children import idcard
from tenant_app.i18n import _l
from tenant_app.workforce import enums as E

PHONE_RE = re.compile(r"^[0-9+\- ]{5,32}$")
REQUIRED = _l("此项必填")
PHONE_INVALID = _l("电话号码格式不正确")
SEX_MISMATCH = _l("性别与身份证号不符")
TOO_YOUNG = _l("须年满18周岁")
LEGACY = _l("须使用18位身份证号")
LIMITS = {"name": 64, "phone": 32, "qualifications": 500, "other_post": 64, "leave_reason": 200, "note": 200}

Errors = dict[str, list]


def add(errors: Errors, field: str, message) -> None:
    errors.setdefault(field, []).append(message)


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def clean_person(data: dict) -> dict:
    """The person's fields as stored: text stripped, the ID number upper-cased."""
    out = {}
    for field in ("name", "sex", "phone", "qualifications"):
        if field in data:
            out[field] = text(data[field]) if field != "sex" else data[field]
    if "id_number" in data:
        out["id_number"] = idcard.normalize(data["id_number"])
    return out


def person_errors(values: dict, today: date) -> Errors:
    """Field errors of a whole person (every required field present in `values`)."""
    errors: Errors = {}
    if not values.get("name"):
        add(errors, "name", REQUIRED)
    if values.get("sex") not in E.SEXES:
        add(errors, "sex", REQUIRED if not values.get("sex") else _l("性别无效"))
    number = values.get("id_number") or ""
    if not number:
        add(errors, "id_number", REQUIRED)
    elif len(number) == 15 and number.isdigit():
        add(errors, "id_number", LEGACY)
    else:
        problems = idcard.id_number_problems(number, legacy_allowed=False, today=today)
        for message in problems:
            add(errors, "id_number", message)
        if not problems:
            born = idcard.birth_date_of(number)
            if (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) < 18:
                add(errors, "id_number", TOO_YOUNG)
            if values.get("sex") in E.SEXES and idcard.sex_of(number) != values["sex"]:
                add(errors, "sex", SEX_MISMATCH)
    phone = values.get("phone") or ""
    if not phone:
        add(errors, "phone", REQUIRED)
    elif not PHONE_RE.match(phone):
        add(errors, "phone", PHONE_INVALID)
    for field, limit in LIMITS.items():
        value = values.get(field)
        if isinstance(value, str) and len(value) > limit:
            add(errors, field, _l("最多 %(n)s 字", n=limit))
    return errors


def appointment_errors(values: dict, today: date) -> Errors:
    """Field errors of an appointment's own fields (the unit and the person are checked by the service)."""
    errors: Errors = {}
    if values.get("employment") not in E.EMPLOYMENTS:
        add(errors, "employment", REQUIRED if not values.get("employment") else _l("岗位性质无效"))
    appointed = values.get("appointed_on")
    if appointed is None:
        add(errors, "appointed_on", REQUIRED)
    elif appointed > today:
        add(errors, "appointed_on", _l("任职日期不能晚于今天"))
    if len(values.get("other_post") or "") > LIMITS["other_post"]:
        add(errors, "other_post", _l("最多 %(n)s 字", n=LIMITS["other_post"]))
    return errors
