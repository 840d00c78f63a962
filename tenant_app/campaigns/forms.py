"""A campaign's form: the question definitions and the checking of answers against them.

A question is `{key, label, type, required, options?, min?, max?}`. Both functions return
`{field: [messages]}`; empty means valid. Answer errors are keyed by the question's key.
"""

from __future__ import annotations

import re
from datetime import date

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
        _add(errors, "questions", "须为问题列表 / Must be a list of questions")
        return errors
    if len(questions) > MAX_QUESTIONS:
        _add(errors, "questions", f"最多 {MAX_QUESTIONS} 个问题 / At most {MAX_QUESTIONS} questions")
    seen: set[str] = set()
    for i, q in enumerate(questions):
        at = f"questions.{i}"
        if not isinstance(q, dict):
            _add(errors, at, "须为对象 / Must be an object")
            continue
        unknown = set(q) - {"key", "label", "type", "required", "options", "min", "max", "help"}
        if unknown:
            _add(errors, at, f"未知字段 / Unknown fields: {', '.join(sorted(unknown))}")
        key = q.get("key")
        if not isinstance(key, str) or not KEY_RE.match(key):
            _add(errors, f"{at}.key", "须为小写字母开头的字母、数字或下划线 / Lowercase letters, digits, _; starts "
                                      "with a letter")
        elif key in seen:
            _add(errors, f"{at}.key", f"重复的键 / Duplicate key: {key}")
        else:
            seen.add(key)
        label = q.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            _add(errors, f"{at}.label", "须填写题目（200字以内）/ A label of up to 200 characters is required")
        qtype = q.get("type")
        if qtype not in TYPES:
            _add(errors, f"{at}.type", f"类型须为 / Type must be one of: {', '.join(TYPES)}")
        if "required" in q and not isinstance(q["required"], bool):
            _add(errors, f"{at}.required", "须为 true 或 false / Must be true or false")
        options = q.get("options")
        if qtype in ("choice", "multi_choice"):
            if (not isinstance(options, list) or len(options) < 2
                    or not all(isinstance(o, str) and o.strip() for o in options)):
                _add(errors, f"{at}.options", "选择题至少需要两个选项 / A choice needs at least two options")
            elif len(set(options)) != len(options):
                _add(errors, f"{at}.options", "选项不能重复 / Options must be distinct")
        elif options is not None:
            _add(errors, f"{at}.options", "只有选择题可以有选项 / Only choice questions have options")
        for bound in ("min", "max"):
            if bound in q and q[bound] is not None:
                if qtype not in ("integer", "number"):
                    _add(errors, f"{at}.{bound}", "只有数值题可以设上下限 / Only numeric questions have bounds")
                elif not _is_number(q[bound]) or (qtype == "integer" and not isinstance(q[bound], int)):
                    _add(errors, f"{at}.{bound}", "须为数字 / Must be a number")
        if (_is_number(q.get("min")) and _is_number(q.get("max")) and q["min"] > q["max"]):
            _add(errors, f"{at}.max", "上限不能小于下限 / max must not be below min")
    return errors


def _check_value(q: dict, value) -> str | None:
    """One answer; returns a message or None. `value` is not None here."""
    qtype = q["type"]
    if qtype == "text":
        if not isinstance(value, str):
            return "须为文字 / Must be text"
        if len(value) > MAX_TEXT:
            return f"最多 {MAX_TEXT} 字 / At most {MAX_TEXT} characters"
        return None
    if qtype in ("integer", "number"):
        if qtype == "integer" and not (isinstance(value, int) and not isinstance(value, bool)):
            return "须为整数 / Must be a whole number"
        if not _is_number(value):
            return "须为数字 / Must be a number"
        if q.get("min") is not None and value < q["min"]:
            return f"不能小于 {q['min']} / Must be at least {q['min']}"
        if q.get("max") is not None and value > q["max"]:
            return f"不能大于 {q['max']} / Must be at most {q['max']}"
        return None
    if qtype == "yes_no":
        return None if isinstance(value, bool) else "须为是或否 / Must be yes or no"
    if qtype == "choice":
        return None if value in q["options"] else "不是可选项 / Not one of the options"
    if qtype == "multi_choice":
        if not isinstance(value, list) or not all(v in q["options"] for v in value):
            return "须为可选项的列表 / Must be a list of the options"
        if len(set(value)) != len(value):
            return "选项重复 / Repeated option"
        return None
    if qtype == "date":
        if not isinstance(value, str):
            return "须为日期 YYYY-MM-DD / Must be a date YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return "须为日期 YYYY-MM-DD / Must be a date YYYY-MM-DD"
        return None
    return "未知类型 / Unknown type"


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def validate_answers(questions: list[dict], answers, *, partial: bool) -> Errors:
    """Check answers against the form. `partial` (a draft): required questions may be blank, but whatever is
    given must still have the right type. Unknown keys are refused either way."""
    errors: Errors = {}
    if not isinstance(answers, dict):
        _add(errors, "answers", "须为对象 / Must be an object")
        return errors
    by_key = {q["key"]: q for q in questions}
    for key in answers:
        if key not in by_key:
            _add(errors, key, "表单中没有此问题 / Not a question of this form")
    for key, q in by_key.items():
        value = answers.get(key)
        if _blank(value):
            if q.get("required") and not partial:
                _add(errors, key, "此项必填 / Required")
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
            return raw, "须为整数 / Must be a whole number"
    if qtype == "number":
        try:
            return float(raw), None
        except ValueError:
            return raw, "须为数字 / Must be a number"
    if qtype == "yes_no":
        if raw in ("yes", "true", "1", "是"):
            return True, None
        if raw in ("no", "false", "0", "否"):
            return False, None
        return raw, "须为是或否 / Must be yes or no"
    return raw, None
