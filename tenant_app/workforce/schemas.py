"""Request and response schemas of the roster. Request fields state the services' single-field rules (lengths,
enums, codes) so the OpenAPI document shows them and a value that breaks one is a field error (422) before any
service runs; rules across fields and against stored data stay in the services."""

from marshmallow import fields

from tenant_app.schema_base import (
    REQUIRED,
    Length,
    OneOf,
    Pattern,
    id_field,
    page_field,
    per_page_field,
    unit_code_field,
)
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.workforce import enums as E
from tenant_app.workforce import validation as V


def _text(max_length: int, *, required: bool = False, **kwargs) -> fields.String:
    validate = Length(min=1, max=max_length, too_short=REQUIRED, strip=True) if required else Length(max=max_length)
    return fields.String(required=required, validate=validate, **kwargs)


def _choice(values, **kwargs) -> fields.String:
    return fields.String(validate=OneOf(values), **kwargs)


def _version() -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": "the version as read (stale: 409)"})


class RosterPageArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit of the caller's subtree (default: the caller's)"})
    page = page_field()
    per_page = per_page_field()


# --- people ------------------------------------------------------------------------------------------

def _phone(**kwargs) -> fields.String:
    return fields.String(validate=Pattern(V.PHONE_RE.pattern, message=V.PHONE_INVALID, strip=True), **kwargs)


class PersonFieldsSchema(Schema):
    name = fields.String(validate=Length(min=1, max=64, too_short=REQUIRED, strip=True))
    sex = _choice(E.SEXES)
    id_number = _text(18, metadata={"description": "18 characters (GB 11643); shown masked in lists"})
    phone = _phone()
    qualifications = _text(500, metadata={"description": "e.g. 社会工作者职业资格, training certificates"})
    user_id = id_field(allow_none=True, metadata={"description": "the person's login account, if any"})


class PersonCreateSchema(PersonFieldsSchema):
    unit_code = unit_code_field(required=True, metadata={"description": "the village or township registering"})
    name = _text(64, required=True)
    sex = _choice(E.SEXES, required=True)
    id_number = _text(18, required=True)
    phone = _phone(required=True)


class PersonPatchSchema(PersonFieldsSchema):
    version = _version()


class PersonListArgs(RosterPageArgs):
    q = fields.String(load_default=None, validate=Length(max=64, strip=True),
                      metadata={"description": "part of a name, or a whole ID number"})
    current = fields.Boolean(load_default=None, allow_none=True,
                             metadata={"description": "holding a post today (true) or not (false)"})


class PersonReadArgs(Schema):
    purpose = fields.String(load_default=None, validate=Length(max=200))


class AppointmentSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    person_id = fields.Integer()
    post = fields.String()
    employment = fields.String()
    other_post = fields.String()
    appointed_on = fields.Date()
    left_on = fields.Date(allow_none=True)
    leave_reason = fields.String()
    version = fields.Integer()
    updated_at = fields.DateTime()


class PersonSchema(Schema):
    """The full record, ID number in clear (reading it is audited)."""

    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    name = fields.String()
    sex = fields.String()
    id_number = fields.String()
    phone = fields.String()
    qualifications = fields.String()
    user_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    appointments = fields.List(fields.Nested(AppointmentSchema))


class PersonListItemSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String()
    name = fields.String()
    sex = fields.String()
    id_number = fields.String(metadata={"description": "masked"})
    phone = fields.String()
    user_id = fields.Integer(allow_none=True)
    version = fields.Integer()


class PersonPageSchema(Schema):
    items = fields.List(fields.Nested(PersonListItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


# --- appointments -------------------------------------------------------------------------------------

class AppointmentCreateSchema(Schema):
    person_id = id_field(required=True)
    unit_code = unit_code_field(required=True, metadata={"description": "a village (director) or township "
                                                                        "(supervisor)"})
    employment = _choice(E.EMPLOYMENTS, required=True, metadata={"description": "专职 / 兼职"})
    other_post = _text(V.LIMITS["other_post"], load_default="", metadata={"description": "e.g. 村委委员"})
    appointed_on = fields.Date(required=True)


class AppointmentEndSchema(Schema):
    version = _version()
    left_on = fields.Date(required=True, metadata={"description": "the first day without the person"})
    leave_reason = _text(V.LIMITS["leave_reason"], load_default="")
    cover_person_id = id_field(load_default=None, allow_none=True,
                               metadata={"description": "who covers the unit from left_on (optional)"})
    cover_note = _text(V.LIMITS["note"], load_default="")


class AppointmentListArgs(RosterPageArgs):
    current = fields.Boolean(load_default=None, allow_none=True)


class AppointmentItemSchema(AppointmentSchema):
    person_name = fields.String()


class AppointmentPageSchema(Schema):
    items = fields.List(fields.Nested(AppointmentItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


# --- covers and vacancies -------------------------------------------------------------------------------

class CoverSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    post = fields.String()
    person_id = fields.Integer()
    coverer_unit_code = fields.String()
    coverer_name = fields.String()
    coverer_phone = fields.String()
    kind = fields.String()
    since = fields.Date()
    until = fields.Date(allow_none=True)
    note = fields.String()
    version = fields.Integer()


class CoverCreateSchema(Schema):
    unit_code = unit_code_field(required=True, metadata={"description": "the vacant village or township"})
    person_id = id_field(required=True, metadata={"description": "the coverer (holding a post nearby)"})
    since = fields.Date(load_default=None, metadata={"description": "default: today (CST)"})
    until = fields.Date(load_default=None, allow_none=True)
    note = _text(V.LIMITS["note"], load_default="")


class CoverEndSchema(Schema):
    version = _version()
    until = fields.Date(load_default=None, metadata={"description": "the last day covered (default: today)"})


class CoverListArgs(RosterPageArgs):
    current = fields.Boolean(load_default=True)


class CoverPageSchema(Schema):
    items = fields.List(fields.Nested(CoverSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class VacancyArgs(RosterPageArgs):
    post = _choice(E.POSTS, load_default=None)
    covered = fields.Boolean(load_default=None, allow_none=True)


class VacancySchema(Schema):
    unit_code = fields.String()
    unit_name = fields.String()
    parent_name = fields.String()
    post = fields.String()
    vacant_since = fields.Date()
    vacant_days = fields.Integer()
    basis = fields.String(metadata={"description": "left: since the last holder left; never_filled: since the "
                                                   "unit was loaded (no holder ever registered)"})
    cover = fields.Nested(CoverSchema, allow_none=True)


class VacancyPageSchema(Schema):
    items = fields.List(fields.Nested(VacancySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class PostCountsSchema(Schema):
    units = fields.Integer()
    filled = fields.Integer()
    vacant = fields.Integer()
    covered = fields.Integer()


class RosterArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True)


class RosterSummarySchema(Schema):
    unit_code = fields.String()
    unit_name = fields.String()
    director = fields.Nested(PostCountsSchema)
    supervisor = fields.Nested(PostCountsSchema)


class OpenWorkSchema(Schema):
    open_tasks = fields.Integer()
    overdue_visits = fields.Integer()
    due_soon_visits = fields.Integer()
    open_cases = fields.Integer()


class RosterUnitSchema(Schema):
    unit_code = fields.String()
    unit_name = fields.String()
    post = fields.String()
    holder = fields.Nested(AppointmentItemSchema, allow_none=True)
    cover = fields.Nested(CoverSchema, allow_none=True)
    history = fields.List(fields.Nested(AppointmentItemSchema))
    covers = fields.List(fields.Nested(CoverSchema))
    open_work = fields.Nested(OpenWorkSchema)


class ReadEventSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    person_id = fields.Integer()
    user_id = fields.Integer()
    user_unit_code = fields.String(attribute="user_region_code")
    action = fields.String()
    purpose = fields.String()
    at = fields.DateTime()


class RosterReadPageArgs(Schema):
    person_id = id_field(load_default=None)
    page = page_field()
    per_page = per_page_field()


class ReadPageSchema(Schema):
    items = fields.List(fields.Nested(ReadEventSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
