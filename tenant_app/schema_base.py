"""The base of every marshmallow schema: no integer field is unbounded, and the rules of the services are
stated on the fields.

An integer field without its own `Range` gets the range of the database's integer columns, so an oversized
number is a field error (422) rather than a database error (500), and the OpenAPI document states the bound.
Pagination arguments share one definition.

A request field states the rule the service enforces (or, where the service has none, its column's length) with
the validators below, so the OpenAPI document shows it (maxLength, enum, pattern) and a body that breaks it is
refused with a field error before the service runs. They subclass marshmallow's validators (apispec reads them
the same way) and refuse with one lazy message, the service's own wording where it has one, so a problem body
gives it in both languages. `strip=True` judges the value without its surrounding whitespace, as a service that
strips a value before checking it does; the field still returns the value as given (the service strips it).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from hierarchy.codes import CODE_LENGTHS
from tenant_app.fast_dump import compile_dump
from tenant_app.i18n import _l

DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1
# per_page ≤ 500 and page ≤ 10,000 keep every OFFSET small; nobody pages that far by hand.
MAX_PAGE = 10_000
MAX_PER_PAGE = 500

# A division code: digits, as many as one of the five levels has (hierarchy.codes.is_valid_code).
UNIT_CODE = "(" + "|".join(f"[0-9]{{{n}}}" for n in sorted(CODE_LENGTHS.values())) + ")"
UNIT_CODE_MESSAGE = _l("单位代码须为 2、4、6、9 或 12 位数字")
VILLAGE_CODE = f"[0-9]{{{max(CODE_LENGTHS.values())}}}"
VILLAGE_CODE_MESSAGE = _l("请填写12位村（居）代码")
REQUIRED = _l("此项必填")


def _stripped(value, strip: bool):
    return value.strip() if strip and isinstance(value, str) else value


class Length(validate.Length):
    """At least `min` and at most `max` characters (items of a list); `too_short` and `too_long` are the
    messages (too long by default: "最多 n 字")."""

    def __init__(self, min: int | None = None, max: int | None = None, *, too_short=None, too_long=None,
                 strip: bool = False):
        if min is not None and too_short is None:
            raise ValueError("a minimum needs its message")
        super().__init__(min=min, max=max)
        self.too_short = too_short
        self.too_long = too_long if too_long is not None or max is None else _l("最多 %(n)s 字", n=max)
        self.strip = strip

    def __call__(self, value):
        length = len(_stripped(value, self.strip))
        if self.min is not None and length < self.min:
            raise ValidationError([self.too_short])
        if self.max is not None and length > self.max:
            raise ValidationError([self.too_long])
        return value


class Pattern(validate.Regexp):
    """The whole value matches `regex` (written with ^…$ for the document; checked with fullmatch, so a
    trailing newline does not slip through `$`)."""

    def __init__(self, regex: str, *, message, strip: bool = False):
        super().__init__(regex)
        self.message = message
        self.strip = strip

    def __call__(self, value):
        if self.regex.fullmatch(_stripped(value, self.strip)) is None:
            raise ValidationError([self.message])
        return value


class OneOf(validate.OneOf):
    """One of `choices`; the message lists them."""

    def __init__(self, choices, *, message=None):
        super().__init__(list(choices))
        self.message = message if message is not None else _l(
            "取值无效，可选：%(choices)s", choices=", ".join(str(c) for c in self.choices))

    def __call__(self, value):
        if value not in self.choices:
            raise ValidationError([self.message])
        return value


class Range(validate.Range):
    """A number from `min` to `max` (both included)."""

    def __init__(self, min=None, max=None, *, message):
        super().__init__(min=min, max=max)
        self.message = message

    def __call__(self, value):
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ValidationError([self.message])
        return value


def unit_code_field(*, allow_blank: bool = False, **kwargs) -> fields.String:
    """A unit's code (surrounding whitespace ignored, as the services strip it). `allow_blank`: an empty value
    means the default unit, as in the query strings of the lists (`?unit=`)."""
    regex = f"^{UNIT_CODE}{'?' if allow_blank else ''}$"
    return fields.String(validate=Pattern(regex, message=UNIT_CODE_MESSAGE, strip=True), **kwargs)


def village_code_field(*, allow_blank: bool = False, **kwargs) -> fields.String:
    """A village's 12-digit code (surrounding whitespace ignored)."""
    regex = f"^({VILLAGE_CODE}){'?' if allow_blank else ''}$"
    return fields.String(validate=Pattern(regex, message=VILLAGE_CODE_MESSAGE, strip=True), **kwargs)


def _has_range(field: fields.Field) -> bool:
    return any(isinstance(v, validate.Range) for v in field.validators)


def _bound(field: fields.Field) -> None:
    if isinstance(field, fields.Integer) and not _has_range(field):
        field.validators.append(validate.Range(min=DB_INT_MIN, max=DB_INT_MAX))
    elif isinstance(field, fields.List):
        _bound(field.inner)


class BoundedSchema(Schema):
    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _bound(field_obj)
        super().on_bind_field(field_name, field_obj)

    def dump(self, obj, *, many: bool | None = None):
        """marshmallow's dump, through the compiled path of tenant_app.fast_dump where it applies."""
        dumper = compile_dump(self)
        if dumper is None:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [dumper(item) for item in obj]
        return dumper(obj)


def id_field(**kwargs) -> fields.Integer:
    """An id given in a body or query string (ids start at 1)."""
    return fields.Integer(validate=validate.Range(min=1, max=DB_INT_MAX), **kwargs)


def page_field() -> fields.Integer:
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


def per_page_field(default: int = 50) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_PER_PAGE))
