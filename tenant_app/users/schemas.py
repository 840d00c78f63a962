from marshmallow import fields, validate

from tenant_app.auth import passwords
from tenant_app.auth.models import PARTNER_KINDS, ROLES
from tenant_app.links.enums import DEPT_KINDS
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import Length, Pattern, page_field, per_page_field, unit_code_field
from tenant_app.users import services


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    real_name = fields.String()
    phone = fields.String()
    role = fields.String()
    unit_code = fields.String(attribute="region_code")
    org_kind = fields.String(allow_none=True)
    org_name = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserPageSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def password_field() -> fields.String:
    return fields.String(required=True, load_only=True, validate=Length(
        min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH, too_short=passwords.TOO_SHORT,
        too_long=passwords.TOO_LONG))


class UserListArgsSchema(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True)
    page = page_field()
    per_page = per_page_field()


class UserCreateSchema(Schema):
    """The rules of users.services.validate_new_user (which strips the text fields first); the password's
    mix of letters and digits, the unit's scope and a taken username are the service's to check."""

    username = fields.String(required=True, validate=Pattern(services.USERNAME_RE.pattern,
                                                             message=services.USERNAME_INVALID, strip=True))
    real_name = fields.String(required=True, validate=Length(min=1, max=services.MAX_REAL_NAME, strip=True,
                                                             too_short=services.REQUIRED,
                                                             too_long=services.REAL_NAME_TOO_LONG))
    phone = fields.String(required=True, validate=Pattern(services.PHONE_RE.pattern,
                                                          message=services.PHONE_INVALID, strip=True))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    unit_code = unit_code_field(required=True)
    password = password_field()
    org_kind = fields.String(load_default=None, validate=validate.OneOf(PARTNER_KINDS + tuple(DEPT_KINDS)), metadata={
        "description": "a partner reporter's organisation kind (role `reporter`) or a partner department's kind "
                       "(role `department`: education, public_security, civil_assistance, disabled_fed, "
                       "women_fed); required for those roles only"})
    org_name = fields.String(load_default="", validate=Length(max=services.MAX_ORG_NAME), metadata={
        "description": "a partner reporter's organisation name (role `reporter` only, which requires it)"})


class PasswordResetSchema(Schema):
    password = password_field()
