"""The compiled dump (tenant_app.fast_dump) gives exactly what marshmallow's own dump gives, for every schema of
the application, on generated values: present and missing keys, None, dicts and objects, nested lists."""

from __future__ import annotations

import contextlib
import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, fields

import tenant_app.fast_dump as fast_dump
from tenant_app import create_app
from tenant_app.schema_base import BoundedSchema

CST = dt.timezone(dt.timedelta(hours=8))


def _all_schemas() -> list[type[Schema]]:
    create_app({"SHOUHU_DATABASE_URL": "sqlite://", "TESTING": True, "SHOUHU_REDIS_URL": None})  # imports all
    found, todo = set(), [BoundedSchema]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _value(field: fields.Field, depth: int) -> st.SearchStrategy:
    none = st.none()
    if isinstance(field, fields.Nested):
        schema = field.schema
        item = _object(schema, depth + 1) if depth < 2 else st.just({})
        return none | (st.lists(item, max_size=3) if (schema.many or field.many) else item)
    if isinstance(field, fields.List):
        return none | st.lists(_value(field.inner, depth + 1), max_size=3)
    if isinstance(field, fields.Integer):
        return none | st.integers(-(2**31), 2**31 - 1) | st.booleans()
    if isinstance(field, fields.Float):
        return none | st.floats(allow_nan=False) | st.integers(-1000, 1000)
    if isinstance(field, fields.Boolean):
        return none | st.booleans() | st.sampled_from([0, 1, "true", "no", "x"])
    if isinstance(field, fields.DateTime):
        return none | st.datetimes(timezones=st.sampled_from([None, dt.UTC, CST]))
    if isinstance(field, fields.Date):
        return none | st.dates()
    if isinstance(field, fields.String):
        return none | st.text(max_size=8) | st.integers() | st.binary(max_size=4).filter(_utf8)
    if isinstance(field, fields.Dict):
        return none | st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=3)
    return none | st.integers() | st.text(max_size=4)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _object(schema: Schema, depth: int = 0) -> st.SearchStrategy:
    keys = {(field.attribute or name): _value(field, depth) for name, field in schema.dump_fields.items()}
    as_dict = st.fixed_dictionaries({}, optional=keys)
    return as_dict | as_dict.map(lambda d: SimpleNamespace(**d))


def _outcome(call):
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001 - both paths must fail the same way
        return "error", type(exc).__name__


@contextlib.contextmanager
def _marshmallow_only():
    fast_dump.ENABLED = False
    try:
        yield
    finally:
        fast_dump.ENABLED = True


SCHEMAS = _all_schemas()


def test_most_response_schemas_are_compiled():
    compiled = [c for c in SCHEMAS if fast_dump.compile_dump(c()) is not None]
    assert len(SCHEMAS) > 80 and len(compiled) >= 0.9 * len(SCHEMAS), (len(compiled), len(SCHEMAS))


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda c: c.__qualname__)
def test_fast_dump_equals_marshmallow(schema_class):
    schema = schema_class()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(_object(schema), min_size=1, max_size=3))
    def check(objects):
        fast = _outcome(lambda: schema.dump(objects, many=True))
        with _marshmallow_only():
            reference = _outcome(lambda: Schema.dump(schema, objects, many=True))
        assert fast == reference

    check()
