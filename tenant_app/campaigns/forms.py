"""A campaign's form: the question definitions and the checking of answers against them.

A question is `{key, label, type, required, options?, min?, max?}`. Both functions return
`{field: [messages]}`; empty means valid. Answer errors are keyed by the question's key.
"""

from __future__ import annotations

import re
from datetime import date

from tenant_app.i18n import _l

TYPES = ("text", "integer", "number", "yes_no", "choice", "multi_choice", "date")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_QUESTIONS = 100
MAX_TEXT = 2000

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_questions(questions) -> Errors:
    """Check a form definition. Errors are keyed `questions`, or `questions.N.field` for question N."""
    errors: Errors = {}
    if not isinstance(questions, list):
        _add(errors, "questions", _l("须为问题列表"))
        return errors
    if len(questions) > MAX_QUESTIONS:
        _add(errors, "questions", _l("最多 %(n)s 个问题", n=MAX_QUESTIONS))
    seen: set[str] = set()
    for i, q in enumerate(questions):
        at = f"questions.{i}"
        if not isinstance(q, dict):
            _add(errors, at, _l("须为对象"))
            continue
        unknown = set(q) - {"key", "label", "type", "required", "options", "min", "max", "help"}
        if unknown:
            _add(errors, at, _l("未知字段：%(fields)s", fields=", ".join(sorted(unknown))))
        key = q.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            _add(errors, f"{at}.key", _l("须为小写字母开头的字母、数字或下划线"))
        elif key in seen:
            _add(errors, f"{at}.key", _l("重复的键：%(key)s", key=key))
        else:
            seen.add(key)
        label = q.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            _add(errors, f"{at}.label", "须填写题目（200字以内）/ A label of up to 200 characters is required")
        qtype = q.get("type")
        if qtype not in TYPES:
            _add(errors, f"{at}.type", _l("题型须为：%(choices)s", choices=", ".join(TYPES)))
        if "required" in q and not isinstance(q["required"], bool):
            _add(errors, f"{at}.required", _l("须为 true 或 false"))
        options = q.get("options")
        if qtype in ("choice", "multi_choice"):
            if (not isinstance(options, list) or len(options) < 2
                    or not all(isinstance(o, str) and o.strip() for o in options)):
                _add(errors, f"{at}.options", _l("选择题至少需要两个选项"))
            elif len(set(options)) != len(options):
                _add(errors, f"{at}.options", _l("选项不能重复"))
        elif options is not None:
            _add(errors, f"{at}.options", _l("只有选择题可以有选项"))
        for bound in ("min", "max"):
            if bound in q and q[bound] is not None:
                if qtype not in ("integer", "number"):
                    _add(errors, f"{at}.{bound}", _l("只有数值题可以设上下限"))
                elif not _is_number(q[bound]) or (qtype == "integer" and not isinstance(q[bound], int)):
                    _add(errors, f"{at}.{bound}", _l("须为数字"))
        if (_is_number(q.get("min")) and _is_number(q.get("max")) and q["min"] > q["max"]):
            _add(errors, f"{at}.max", _l("上限不能小于下限"))
    return errors


def _check_value(q: dict, value) -> str | None:
    """One answer; returns a message or None. `value` is not None here."""
    qtype = q["type"]
    if qtype == "text":
        if not isinstance(value, str):
            return _l("须为文字")
        if len(value) > MAX_TEXT:
            return _l("最多 %(n)s 字", n=MAX_TEXT)
        return None
    if qtype in ("integer", "number"):
        if qtype == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
            return _l("须为整数")
        if not _is_number(value):
            return _l("须为数字")
        if q.get("min") is not None and value < q["min"]:
            return _l("不能小于 %(min)s", min=q["min"])
        if q.get("max") is not None and value > q["max"]:
            return _l("不能大于 %(max)s", max=q["max"])
        return None
    if qtype == "yes_no":
        return None if isinstance(value, bool) else _l("须为是或否")
    if qtype == "choice":
        return None if value in q["options"] else _l("不是可选项")
    if qtype == "multi_choice":
        if not isinstance(value, list) or not all(v in q["options"] for v in value):
            return _l("须为可选项的列表")
        if len(set(value)) != len(value):
            return _l("选项重复")
        return None
    if qtype == "date":
        if not isinstance(value, str):
            return _l("须为日期 YYYY-MM-DD")
        try:
            date.fromisoformat(value)
        except ValueError:
            return _l("须为日期 YYYY-MM-DD")
        return None
    return _l("未知类型")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate_answers(questions: list[dict], answers, *, partial: bool) -> Errors:
    """Check answers against the form. `partial` (a draft): required questions may be blank, but whatever is
    given must still have the right type. Unknown keys are refused either way."""
    errors: Errors = {}
    if not isinstance(answers, dict):
        _add(errors, "answers", _l("须为对象"))
        return errors
    by_key = {q["key"]: q for q in questions}
    for key in answers:
        if key not in by_key:
            _add(errors, key, _l("表单中没有此问题"))
    for key, q in by_key.items():
        value = answers.get(key)
        if _blank(value):
            if q.get("required") and not partial:
                _add(errors, key, _l("此项必填"))
            continue
        message = _check_value(q, value)
        if message:
            _add(errors, key, message)
    return errors


def coerce_form_value(q: dict, raw: str | list[str] | None):
    """Turn a page form's string value(s) into the JSON answer type; returns (value, error message)."""
    qtype = q["type"]
    if qtype == "multi_choice":
        values = [v for v in (raw or []) if v]
        return values, None
    raw = (raw or "").strip() if isinstance(raw, str) else raw
    if raw in (None, ""):
        return None, None
    if qtype == "integer":
        try:
            return int(raw), None
        except ValueError:
            return raw, _l("须为整数")
    if qtype == "number":
        try:
            return float(raw), None
        except ValueError:
            return raw, _l("须为数字")
    if qtype == "yes_no":
        if raw in ("yes", "true", "1", "是"):
            return True, None
        if raw in ("no", "false", "0", "否"):
            return False, None
        return raw, _l("须为是或否")
    return raw, None
