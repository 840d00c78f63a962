"""Matching keys: student numbers decoded to ID numbers, and the pinyin key of a Chinese name."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from tenant_app.children import idcard


def decode_student_no(student_no: str | None) -> str | None:
    """The ID number a national student number carries: "G" + an 18-character ID number gives that number (when
    its check character holds); "J" + an ID-like number, and anything else, gives none (match by name)."""
    value = (student_no or "").strip().upper()
    if len(value) == 19 and value[0] == "G":
        number = value[1:]
        if idcard.is_full_id_number(number) and idcard.check_char(number[:17]) == number[17]:
            return number
    return None


@lru_cache(maxsize=1 << 18)
def name_key(name: str) -> str:
    """Toneless pinyin syllables of a name, space-separated: homophones (张伟 / 章伟) share it. Characters that
    are not Chinese are kept, lower-cased. Names repeat heavily: each distinct one is computed once."""
    cleaned = "".join((name or "").split())
    return " ".join(lazy_pinyin(cleaned, style=Style.NORMAL, errors="default")).lower()[:200]
