"""Serialising a response with a schema, without marshmallow's per-field machinery on every value.

`Schema.dump` walks four generic layers for each field of each item (serialize → get_value → get_attribute →
_get_value_for_key) before the field's own `_serialize`; for a dashboard of 36 units × 45 figures that was half
of the request's time. `compile_dump(schema)` builds, once per schema instance, a function that does what
`dump` does for the schemas of this application: the same fields, keys, defaults and missing values, each value
through the field's own `_serialize` (or the one-line equivalent for integers, floats and strings), nested
schemas compiled the same way. Anything it does not know (hooks, dotted attributes, field types not listed) is
left to marshmallow. tests/test_fast_dump.py holds it equal to marshmallow's own dump on generated data for
every schema of the application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value

Dumper = Callable[[Any], Any]

# Off: every schema dumps through marshmallow alone (the reference tests/test_fast_dump.py compares with).
ENABLED = True


def _value_getter(key: str) -> Callable[[Any], Any]:
    """marshmallow's `utils.get_value` for a plain key: `obj[key]`, else the attribute."""
    if "." in key:
        return lambda obj: get_value(obj, key, missing)

    def get(obj):
        if type(obj) is dict:
            value = obj.get(key, missing)
            return getattr(obj, key, missing) if value is missing else value
        return get_value(obj, key, missing)

    return get


def _leaf(field: fields.Field) -> Callable[[Any, str, Any], Any] | None:
    """How one value of `field` is serialised, or None when only the generic path is known to be right."""
    if type(field).get_value is not fields.Field.get_value:
        return None
    kind = type(field)
    if kind is fields.Integer and not field.as_string:
        return lambda value, attr, obj: None if value is None else int(value)
    if kind is fields.Float and not field.as_string:
        return lambda value, attr, obj: None if value is None else float(value)
    if kind is fields.String:
        return lambda value, attr, obj: None if value is None else (
            value if type(value) is str else field._serialize(value, attr, obj))
    if kind in (fields.Boolean, fields.Date, fields.DateTime, fields.AwareDateTime, fields.Raw, fields.Dict,
                fields.Field):
        return field._serialize
    if kind is fields.Nested:
        nested = compile_dump(field.schema)
        if nested is None:
            return field._serialize
        many = field.schema.many or field.many
        if many:
            return lambda value, attr, obj: None if value is None else [nested(item) for item in value]
        return lambda value, attr, obj: None if value is None else nested(value)
    if kind is fields.List:
        inner = _leaf(field.inner)
        if inner is None:
            return field._serialize
        return lambda value, attr, obj: None if value is None else [inner(item, attr, obj) for item in value]
    return None


def _field_dumper(name: str, field: fields.Field):
    """(key, function(obj) → value or missing) for one field of a schema, or None."""
    key = field.data_key if field.data_key is not None else name
    if not field._CHECK_ATTRIBUTE:
        return key, lambda obj: field.serialize(name, obj)
    serialize = _leaf(field)
    if serialize is None:
        return None
    getter = _value_getter(field.attribute if field.attribute is not None else name)
    default = field.dump_default

    def dump_field(obj):
        value = getter(obj)
        if value is missing:
            value = default() if callable(default) else default
            if value is missing:
                return missing
        return serialize(value, name, obj)

    return key, dump_field


# How a field's value is serialised in `_fields_dumper`'s loop: inline for the commonest kinds, else by a call.
_INT, _FLOAT, _STR, _CALL, _FIELD = range(5)


def _fields_dumper(schema: Schema) -> Dumper | None:
    """One loop over the schema's fields doing what `_field_dumper`'s functions do, with the value of a dict's
    key read and an integer, float or string serialised inline rather than through two or three calls per field
    (a list of fifty items of ten fields was some fifteen hundred calls)."""
    plan = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        if not field._CHECK_ATTRIBUTE:
            plan.append((key, name, _FIELD, field.serialize, missing, name))
            continue
        attribute = field.attribute if field.attribute is not None else name
        if "." in attribute:
            part = _field_dumper(name, field)
            if part is None:
                return None
            plan.append((key, name, _FIELD, lambda n, obj, dump_field=part[1]: dump_field(obj), missing, name))
            continue
        serialize = _leaf(field)
        if serialize is None:
            return None
        kind = type(field)
        if kind is fields.Integer and not field.as_string and type(field).get_value is fields.Field.get_value:
            how = _INT
        elif kind is fields.Float and not field.as_string and type(field).get_value is fields.Field.get_value:
            how = _FLOAT
        elif kind is fields.String and type(field).get_value is fields.Field.get_value:
            how = _STR
        else:
            how = _CALL
        plan.append((key, attribute, how, serialize, field.dump_default, name))
    # (key, attribute, how, serialize, default, field name); a _FIELD entry's function takes (name, obj).
    plan = tuple(plan)

    def dumper(obj):
        result = {}
        is_dict = type(obj) is dict
        for key, attribute, how, serialize, default, name in plan:
            if how == _FIELD:
                value = serialize(name, obj)
                if value is not missing:
                    result[key] = value
                continue
            if is_dict:
                value = obj.get(attribute, missing)
                if value is missing:
                    value = getattr(obj, attribute, missing)
            else:
                value = get_value(obj, attribute, missing)
            if value is missing:
                if default is missing:
                    continue
                value = default() if callable(default) else default
                if value is missing:
                    continue
            if how == _INT:
                result[key] = None if value is None else int(value)
            elif how == _STR:
                result[key] = value if value is None or type(value) is str else serialize(value, name, obj)
            elif how == _FLOAT:
                result[key] = None if value is None else float(value)
            else:
                result[key] = serialize(value, name, obj)
        return result

    return dumper


def _all_plain_integers(schema: Schema) -> bool:
    """Every field an Integer read from its own key, without a default: a table of figures."""
    return bool(schema.dump_fields) and all(
        type(field) is fields.Integer and not field.as_string and field.attribute is None
        and field.data_key is None and field.dump_default is missing and field._CHECK_ATTRIBUTE
        for field in schema.dump_fields.values())


def _integers_dumper(keys: tuple[str, ...]) -> Dumper:
    """A schema of integers only (a unit's figures: some two hundred of them) in one loop, not a call per field."""
    getters = {key: _value_getter(key) for key in keys}

    def dumper(obj):
        if type(obj) is dict:
            # The usual case, a dict of exactly these int figures: copied in one comprehension.
            try:
                result = {key: obj[key] for key in keys}
            except KeyError:
                pass
            else:
                if set(map(type, result.values())) <= {int}:
                    return result
        result = {}
        if type(obj) is dict:
            get = obj.get
            for key in keys:
                value = get(key, missing)
                if value is missing:
                    value = getters[key](obj)
                    if value is missing:
                        continue
                result[key] = None if value is None else int(value)
            return result
        for key in keys:
            value = getters[key](obj)
            if value is not missing:
                result[key] = None if value is None else int(value)
        return result

    return dumper


def compile_dump(schema: Schema) -> Dumper | None:
    """A function obj → dict equal to `schema.dump(obj, many=False)`, or None when this schema needs marshmallow.
    Cached on the schema instance (its fields do not change once bound)."""
    if not ENABLED:
        return None
    cached = schema.__dict__.get("_shouhu_fast_dump", False)
    if cached is not False:
        return cached
    schema.__dict__["_shouhu_fast_dump"] = None  # a schema nested in itself is left to marshmallow
    dumper = None
    plain = (not (schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]) and schema.dict_class is dict
             and type(schema).get_attribute is Schema.get_attribute)
    if plain and _all_plain_integers(schema):
        dumper = _integers_dumper(tuple(schema.dump_fields))
    elif plain:
        dumper = _fields_dumper(schema)

    schema.__dict__["_shouhu_fast_dump"] = dumper
    return dumper
