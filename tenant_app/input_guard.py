"""Hostile input stopped at the door, before any view, schema or database sees it.

- Ids in URLs go through `IdConverter`: at most 10 digits and within the database's integer range, so an id
  the database could never hold is simply a URL that matches nothing (404) and never reaches a query.
- JSON bodies are parsed once here with limits: nesting depth, integer size (Python refuses 4,300+ digit
  integers with a ValueError that would otherwise escape as a 500), non-finite numbers.
- Every string of the request (JSON values and keys, query and form fields, path values) is refused if it holds
  a NUL byte (PostgreSQL text cannot store one) or a lone surrogate (not encodable as UTF-8).

Refusals are field errors (422) on the API and an error page naming the field on pages.
"""

from __future__ import annotations

import json
import math

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from tenant_app.errors import DomainError, ValidationFailed
from tenant_app.i18n import _l

# The ids are PostgreSQL `integer` columns.
MAX_ID = 2**31 - 1
# JSON values beyond this are refused wherever they appear; schemas bound their own fields more tightly.
MAX_JSON_INT = 2**63 - 1
MAX_JSON_DEPTH = 32

NUL_MESSAGE = _l("不能包含空字符")
SURROGATE_MESSAGE = _l("包含无效的字符")
INT_MESSAGE = _l("数值过大")
FLOAT_MESSAGE = _l("不是有效的数值")


class IdConverter(IntegerConverter):
    """`<int:…>` of every route: 1..MAX_ID, anything else does not match the route (404)."""

    regex = r"\d{1,10}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class MalformedJSON(DomainError):
    status = 400
    title = "Malformed JSON"


class _HugeInt(str):
    """An integer literal too long to convert; reported with its field path after parsing."""


def _parse_int(literal: str):
    digits = literal.lstrip("-")
    if len(digits) > 19:
        return _HugeInt(literal)
    return int(literal)


def _parse_constant(name: str):
    return float("nan")  # NaN, Infinity, -Infinity: refused as non-finite below


def string_problem(value: str) -> str | None:
    if "\x00" in value:
        return NUL_MESSAGE
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def json_problems(document) -> dict[str, list[str]]:
    """Field errors of a parsed JSON document, keyed by dotted path; raises when it nests too deeply."""
    errors: dict[str, list[str]] = {}
    stack = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValidationFailed(_l("JSON嵌套过深"),
                                   errors={"_schema": [f"JSON nesting deeper than {MAX_JSON_DEPTH} levels"]})
        field = path or "_schema"
        if isinstance(value, dict):
            for key, item in value.items():
                problem = string_problem(key)
                if problem:
                    errors.setdefault(field, []).append(problem)
                    continue
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), depth + 1))
        elif isinstance(value, _HugeInt):
            errors.setdefault(field, []).append(INT_MESSAGE)
        elif isinstance(value, str):
            problem = string_problem(value)
            if problem:
                errors.setdefault(field, []).append(problem)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_JSON_INT:
                errors.setdefault(field, []).append(INT_MESSAGE)
        elif isinstance(value, float) and not math.isfinite(value):
            errors.setdefault(field, []).append(FLOAT_MESSAGE)
    return errors


def parse_json_body(data: bytes):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJSON(_l("请求体不是有效的UTF-8")) from None
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except RecursionError:
        raise ValidationFailed(_l("JSON嵌套过深"),
                               errors={"_schema": [f"JSON nesting deeper than {MAX_JSON_DEPTH} levels"]}) from None
    except ValueError as exc:
        raise MalformedJSON(_l("JSON格式有误：%(error)s", error=str(exc))) from None


def _multidict_problems(values) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key, value in values.items(multi=True):
        # A bad name is reported without echoing it (a lone surrogate cannot even be written out).
        problem = string_problem(key)
        if problem:
            errors.setdefault("_schema", []).append(problem)
            continue
        problem = string_problem(value) if isinstance(value, str) else None
        if problem:
            errors.setdefault(key, []).append(problem)
    return errors


# Endpoints that take a bigger body than the application's MAX_CONTENT_LENGTH: a province's school roll as CSV
# (3,000,000 rows: some 250 MB; werkzeug spools the file to disk).
LARGE_BODIES = {"rolls_api.UploadsResource": 512 * 1024 * 1024, "links.rolls_page": 512 * 1024 * 1024}


def check_request() -> None:
    limit = LARGE_BODIES.get(request.endpoint)
    if limit and request.method == "POST":
        request.max_content_length = limit
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and string_problem(value):
            from werkzeug.exceptions import NotFound

            raise NotFound()
    errors = _multidict_problems(request.args)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            data = request.get_data(cache=True)
            if data:
                for field, messages in json_problems(parse_json_body(data)).items():
                    errors.setdefault(field, []).extend(messages)
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for field, messages in _multidict_problems(request.form).items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationFailed(_l("请求数据有误"), errors=errors)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: rules bind their converters when added.
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter

    @app.before_request
    def _guard_input():
        if request.endpoint == "static":
            return None
        check_request()
        return None
