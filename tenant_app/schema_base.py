"""The base of every marshmallow schema: no integer field is unbounded.

An integer field without its own `Range` gets the range of the database's integer columns, so an oversized
number is a field error (422) rather than a database error (500), and the OpenAPI document states the bound.
Pagination arguments share one definition.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1
# per_page ≤ 500 and page ≤ 10,000 keep every OFFSET small; nobody pages that far by hand.
MAX_PAGE = 10_000
MAX_PER_PAGE = 500


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


def id_field(**kwargs) -> fields.Integer:
    """An id given in a body or query string (ids start at 1)."""
    return fields.Integer(validate=validate.Range(min=1, max=DB_INT_MAX), **kwargs)


def page_field() -> fields.Integer:
    return fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))


def per_page_field(default: int = 50) -> fields.Integer:
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=MAX_PER_PAGE))
