from marshmallow import fields, validate

from tenant_app.schema_base import BoundedSchema as Schema


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=256))


class TokenSchema(Schema):
    token = fields.String()
    expires_at = fields.DateTime()


class UnitBriefSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Function(lambda unit: unit.level_name)


class MeSchema(Schema):
    username = fields.String()
    real_name = fields.String()
    role = fields.String()
    unit = fields.Nested(UnitBriefSchema)
    must_change_password = fields.Boolean()
