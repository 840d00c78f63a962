"""Citizen ID numbers (GB 11643): check character, birth date, sex, and masking for lists."""

from __future__ import annotations

import re
from datetime import date

from tenant_app.i18n import _l

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # S mod 11 = 0..10
_RE18 = re.compile(r"^[0-9]{17}[0-9X]$")
_RE15 = re.compile(r"^[0-9]{15}$")


def normalize(value: str | None) -> str:
    return (value or "").strip().upper()


def is_full_id_number(value: str) -> bool:
    """An 18-character ID number's shape (17 digits and a digit or X), as typed into a search box."""
    return bool(_RE18.match(value))


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _parse_date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def birth_date_of(number: str) -> date | None:
    number = normalize(number)
    if _RE18.match(number):
        return _parse_date(number[6:14])
    if _RE15.match(number):
        return _parse_date("19" + number[6:12])
    return None


def sex_of(number: str) -> str | None:
    """'male' or 'female' from the sequence digit (odd = male)."""
    number = normalize(number)
    if _RE18.match(number):
        digit = number[16]
    elif _RE15.match(number):
        digit = number[14]
    else:
        return None
    return "male" if int(digit) % 2 else "female"


def id_number_problems(value: str | None, *, legacy_allowed: bool, today: date | None = None) -> list[str]:
    """Messages for an invalid number; [] when valid. 15-digit legacy numbers only when `legacy_allowed`."""
    number = normalize(value)
    if _RE15.match(number):
        if not legacy_allowed:
            return [_l("儿童须使用18位身份证号")]
    elif not _RE18.match(number):
        return ["身份证号应为18位（末位可为X）/ The ID number must be 17 digits and a check digit or X"]
    elif check_char(number[:17]) != number[17]:
        return [_l("身份证号校验位错误")]
    born = birth_date_of(number)
    if born is None or born.year < 1900 or (today is not None and born > today):
        return [_l("身份证号中的出生日期无效")]
    return []


def mask_id(value: str | None) -> str | None:
    """First 6 and last 4 characters, '*' between: 440203********1234."""
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]
