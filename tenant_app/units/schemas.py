from marshmallow import fields

from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import page_field, per_page_field


class UnitCountsSchema(Schema):
    city = fields.Integer()
    county = fields.Integer()
    township = fields.Integer()
    village = fields.Integer()


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_code = fields.String(allow_none=True)
    retired = fields.Boolean()
    counts = fields.Nested(UnitCountsSchema)


class UnitChildSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Function(lambda unit: unit.level_name)
    retired = fields.Boolean()


class UnitPageSchema(Schema):
    items = fields.List(fields.Nested(UnitChildSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class PageArgsSchema(Schema):
    page = page_field()
    per_page = per_page_field()


class ContactSchema(Schema):
    unit_code = fields.String(attribute="region_code")
    real_name = fields.String()
    phone = fields.String()
    role = fields.String()


class ContactsSchema(Schema):
    unit = fields.List(fields.Nested(ContactSchema))
    children = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ContactSchema)))
