from marshmallow import fields, validate

from tenant_app.auth.models import ROLES
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import page_field, per_page_field


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    real_name = fields.String()
    phone = fields.String()
    role = fields.String()
    unit_code = fields.String(attribute="region_code")
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class UserListArgsSchema(Schema):
    unit = fields.String(load_default=None)
    page = page_field()
    per_page = per_page_field()


class UserCreateSchema(Schema):
    username = fields.String(required=True)
    real_name = fields.String(required=True)
    phone = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    unit_code = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class PasswordResetSchema(Schema):
    password = fields.String(required=True, load_only=True)
