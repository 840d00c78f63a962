from marshmallow import fields, validate

from tenant_app.children import enums as E
from tenant_app.children.models import Child
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import Length, page_field, per_page_field, unit_code_field, village_code_field

# A search term is part of a name or a whole ID number: longer than a name can be, it finds nothing.
MAX_QUERY = Child.__table__.c.name.type.length


def _one_of(values, allow_none: bool = True, **kw):
    return fields.String(validate=validate.OneOf(list(values)), allow_none=allow_none, **kw)


class ChildFieldsSchema(Schema):
    """The national form's fields, typed; domain rules live in the service layer (validation.py)."""

    name = fields.String(validate=validate.Length(min=1, max=64))
    sex = _one_of(E.SEXES, allow_none=False)
    ethnicity = fields.String(validate=validate.Length(max=32))
    birth_date = fields.Date()
    id_number = fields.String(allow_none=True, validate=validate.Length(max=18))
    hukou_registered = fields.Boolean()
    hukou_rural = fields.Boolean()
    hukou_place = fields.String(validate=validate.Length(max=200))
    current_address = fields.String(validate=validate.Length(max=200))
    boards_at_school = fields.Boolean()
    health_status = _one_of(E.HEALTH, allow_none=False)
    disability_type = fields.String(allow_none=True, validate=validate.Length(max=32))
    disability_grade = fields.Integer(allow_none=True)
    schooling = _one_of(E.SCHOOLING)
    school_name = fields.String(validate=validate.Length(max=100))
    father_name = fields.String(validate=validate.Length(max=64))
    father_birth_date = fields.Date(allow_none=True)
    father_id_number = fields.String(allow_none=True, validate=validate.Length(max=18))
    father_situation = _one_of(E.PARENT_SITUATIONS, allow_none=False)
    father_work_province = fields.String(validate=validate.Length(max=32))
    father_work_city = fields.String(validate=validate.Length(max=32))
    father_phone = fields.String(validate=validate.Length(max=32))
    mother_name = fields.String(validate=validate.Length(max=64))
    mother_birth_date = fields.Date(allow_none=True)
    mother_id_number = fields.String(allow_none=True, validate=validate.Length(max=18))
    mother_situation = _one_of(E.PARENT_SITUATIONS, allow_none=False)
    mother_work_province = fields.String(validate=validate.Length(max=32))
    mother_work_city = fields.String(validate=validate.Length(max=32))
    mother_phone = fields.String(validate=validate.Length(max=32))
    guardian_name = fields.String(validate=validate.Length(max=64))
    guardian_phone = fields.String(validate=validate.Length(max=32))
    guardian_id_number = fields.String(allow_none=True, validate=validate.Length(max=18))
    guardian_relationship = fields.String(validate=validate.Length(max=32))
    guardian_address = fields.String(validate=validate.Length(max=200))
    guardianship_type = _one_of(E.GUARDIANSHIP_TYPES)
    guardianship_assessment = _one_of(E.ASSESSMENTS)
    income_sources = fields.List(fields.String(validate=validate.OneOf(list(E.INCOME_SOURCES))))
    assistance = fields.List(fields.String(validate=validate.OneOf(list(E.ASSISTANCE))))
    is_left_behind = fields.Boolean()
    is_in_difficulty = fields.Boolean()
    difficulty_subcategory = _one_of(E.DIFFICULTY_SUBCATEGORIES)
    is_de_facto_unsupported = fields.Boolean()
    risk_level = _one_of(E.RISK_LEVELS, allow_none=False)
    status = _one_of(E.STATUSES, allow_none=False)
    exit_reason = _one_of(E.EXIT_REASONS)
    exited_at = fields.Date(allow_none=True)
    reviewer = fields.String(validate=validate.Length(max=64))
    form_filler = fields.String(validate=validate.Length(max=64))
    report_date = fields.Date(allow_none=True)
    guardianship_confirmed_on = fields.Date(allow_none=True)


class ChildCreateSchema(ChildFieldsSchema):
    village_code = village_code_field(metadata={"description": "the caller's village (default)"},
                                      allow_blank=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=64))
    sex = _one_of(E.SEXES, allow_none=False, required=True)
    birth_date = fields.Date(required=True)


class ChildPatchSchema(ChildFieldsSchema):
    version = fields.Integer(required=True)


class ChildSchema(ChildFieldsSchema):
    """The full record, ID numbers in clear (reading it is audited)."""

    id = fields.Integer()
    village_code = fields.String(attribute="region_code")
    province_code = fields.String()
    categories = fields.List(fields.String())
    unattended = fields.Boolean()
    version = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class ChildListItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    village_code = fields.String()
    id_number = fields.String(allow_none=True)  # masked
    category = fields.List(fields.String())
    risk_level = fields.String()
    status = fields.String()
    unattended = fields.Boolean()
    sex = fields.String()
    birth_date = fields.Date()


class ChildPageSchema(Schema):
    items = fields.List(fields.Nested(ChildListItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def query_field() -> fields.String:
    return fields.String(load_default=None, validate=Length(max=MAX_QUERY, strip=True))


class PageArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit code of the caller's subtree (default: the caller's)"})
    page = page_field()
    per_page = per_page_field()


class ChildListArgs(PageArgs):
    category = fields.String(load_default=None, validate=validate.OneOf(list(E.CATEGORIES)))
    risk_level = fields.String(load_default=None, validate=validate.OneOf(list(E.RISK_LEVELS)))
    status = fields.String(load_default=None, validate=validate.OneOf(list(E.STATUSES)))
    unattended = fields.Boolean(load_default=None, allow_none=True)
    q = query_field()


class ReadArgs(Schema):
    purpose = fields.String(load_default=None, validate=validate.Length(max=200))


class HistoryEntrySchema(Schema):
    version = fields.Integer()
    action = fields.String()
    changed_by_id = fields.Integer(allow_none=True)
    changed_at = fields.DateTime()
    changes = fields.Dict()


class VersionSchema(Schema):
    version = fields.Integer()
    changed_by_id = fields.Integer(allow_none=True)
    changed_at = fields.DateTime()
    record = fields.Dict()


class TransferRequestSchema(Schema):
    to_village = village_code_field(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=200))


class TransferSchema(Schema):
    id = fields.Integer()
    child_id = fields.Integer()
    from_village = fields.String(attribute="region_code")
    to_village = fields.String()
    child_name = fields.String()
    id_number = fields.Function(lambda t: t.id_number_masked)
    status = fields.String()
    reason = fields.String()
    requested_by_id = fields.Integer(allow_none=True)
    requested_at = fields.DateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class TransferListArgs(Schema):
    direction = fields.String(load_default=None, validate=validate.OneOf(["incoming", "outgoing"]))
    status = fields.String(load_default=None, validate=validate.OneOf(list(E.TRANSFER_STATUSES)))


class TransferListSchema(Schema):
    items = fields.List(fields.Nested(TransferSchema))


class AuditArgs(PageArgs):
    child_id = fields.Integer(load_default=None)


class AuditEventSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    user_id = fields.Integer()
    user_unit_code = fields.String(attribute="user_region_code")
    child_id = fields.Integer()
    action = fields.String()
    purpose = fields.String()
    at = fields.DateTime()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditEventSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()




class SecurityAlertSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    kind = fields.String()
    user_id = fields.Integer()
    user_unit_code = fields.String(attribute="user_region_code")
    count = fields.Integer()
    message = fields.String()
    at = fields.DateTime()


class SecurityAlertPageSchema(Schema):
    items = fields.List(fields.Nested(SecurityAlertSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
