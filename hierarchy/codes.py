"""Official 12-digit division codes (统计用区划代码) used as a materialised path.

A unit's code is stored without trailing zero padding, so its length gives its level and
its ancestors are its prefixes: 44 > 4402 > 440203 > 440203001 > 440203001002.
"""

from __future__ import annotations

import re
from enum import IntEnum


class Level(IntEnum):
    province = 1
    city = 2
    county = 3
    township = 4
    village = 5

    @property
    def code_length(self) -> int:
        return CODE_LENGTHS[self]

    @classmethod
    def from_name(cls, name: str) -> Level:
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unknown level {name!r}") from None


CODE_LENGTHS = {
    Level.province: 2,
    Level.city: 4,
    Level.county: 6,
    Level.township: 9,
    Level.village: 12,
}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
PREFIX_LENGTHS = (2, 4, 6, 9)

_DIGITS = re.compile(r"^[0-9]+$")


def is_valid_code(code: str) -> bool:
    return bool(code) and bool(_DIGITS.match(code)) and len(code) in LEVEL_BY_LENGTH


def level_of(code: str) -> Level:
    if not is_valid_code(code):
        raise ValueError(f"not a division code: {code!r}")
    return LEVEL_BY_LENGTH[len(code)]


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level is Level.province:
        return None
    return code[: CODE_LENGTHS[Level(level - 1)]]


def ancestors_of(code: str) -> list[str]:
    """Strict ancestors, province first."""
    return [code[:n] for n in PREFIX_LENGTHS if n < len(code)]


def is_within(code: str, scope_code: str) -> bool:
    """True when `code` is `scope_code` itself or one of its descendants."""
    return code.startswith(scope_code)


def subtree_bounds(scope_code: str) -> tuple[str, str]:
    """Half-open string range [lo, hi) that holds exactly the subtree of `scope_code`.

    Codes are digits only and ':' sorts right after '9' in byte order, so a B-tree range scan
    (with a byte-wise collation) finds the subtree without LIKE and without recursion.
    """
    return scope_code, scope_code + ":"


def normalise(raw: str) -> str:
    """Accept a code padded to 12 digits with zeros (440203000000) and return its short form."""
    raw = raw.strip()
    if len(raw) == 12 and _DIGITS.match(raw):
        for n in (2, 4, 6, 9):
            if raw[n:] == "0" * (12 - n):
                return raw[:n]
    return raw


def code_in(session, column, codes):
    """`column IN codes` for a list of unit codes that varies from call to call. On PostgreSQL as
    `column = ANY(array)`, one parameter: the statement's text stays the same whatever the number of codes,
    so neither SQLAlchemy (which renders an expanding IN again on each execution) nor the driver (which converts
    and prepares each distinct text anew) repeats its work. Elsewhere an ordinary IN."""
    from sqlalchemy import String, any_, literal
    from sqlalchemy.dialects.postgresql import ARRAY

    codes = list(codes)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(codes, type_=ARRAY(String)))
    return column.in_(codes)
