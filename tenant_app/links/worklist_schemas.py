"""Request and response schemas of /api/v1/worklists."""

from marshmallow import fields, validate

from tenant_app.children.enums import ASSISTANCE, SCHOOLING, SEXES
from tenant_app.links import enums as E
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import OneOf, page_field, per_page_field, unit_code_field, village_code_field

LIST_KIND = OneOf(tuple(E.LIST_KINDS))
DAY = {"pattern": r"^\d{4}-\d{2}-\d{2}$", "maxLength": 10}
CountsSchema = Schema.from_dict({k: fields.Integer() for k in E.LIST_KINDS}, name="WorklistCounts")
StatusCountsSchema = Schema.from_dict({"pending": fields.Integer(), "answered": fields.Integer()},
                                      name="WorklistStatusCounts")
VillageCountsSchema = Schema.from_dict({k: fields.Nested(StatusCountsSchema) for k in E.LIST_KINDS},
                                       name="WorklistVillageCounts")


class OverviewArgs(Schema):
    unit = unit_code_field(load_default=None, metadata={"description": "default: the caller's unit"})
    list_kind = fields.String(load_default=None, validate=LIST_KIND)
    page = page_field()
    per_page = per_page_field(50)


class ItemArgs(Schema):
    list_kind = fields.String(load_default=None, validate=LIST_KIND,
                              metadata={"description": "default: the first list with items to verify"})
    answered = fields.Boolean(load_default=False, metadata={"description": "the answered items instead"})
    page = page_field()
    per_page = per_page_field(50)


class TaskItemArgs(Schema):
    answered = fields.Boolean(load_default=None)
    page = page_field()
    per_page = per_page_field(50)


class RefreshSchema(Schema):
    unit = unit_code_field(load_default=None, metadata={"description": "a county or above; default: mine"})


class VerificationCampaignSchema(Schema):
    list_kind = fields.String(required=True, validate=LIST_KIND)
    due_on = fields.Date(required=True, metadata={"description": "the tasks' deadline (CST)", **DAY})
    title = fields.String(load_default=None, validate=validate.Length(max=200))
    villages = fields.List(village_code_field(), load_default=None, validate=validate.Length(max=5000),
                           metadata={"description": "only these villages of the list (default: every village)"})


class RecordSchema(Schema):
    """The new record's other fields (unregistered, added), checked as any record is."""

    father_name = fields.String(validate=validate.Length(max=64))
    mother_name = fields.String(validate=validate.Length(max=64))
    guardian_name = fields.String(validate=validate.Length(max=64))
    guardian_phone = fields.String(validate=validate.Length(max=32))
    guardian_relationship = fields.String(validate=validate.Length(max=32))
    current_address = fields.String(validate=validate.Length(max=200))
    schooling = fields.String(validate=OneOf(tuple(SCHOOLING)))


class AnswerSchema(Schema):
    answer = fields.String(required=True, validate=OneOf(tuple(E.ANSWERS)))
    version = fields.Integer(required=True, metadata={"description": "the item's version; stale: 409"})
    note = fields.String(load_default=None, validate=validate.Length(max=200))
    schooling = fields.String(load_default=None, validate=OneOf(E.IN_SCHOOL),
                              metadata={"description": "dropout, corrected: the school level now; "
                                                       "unregistered, added: the new record's"})
    benefit = fields.String(load_default=None, validate=OneOf(tuple(ASSISTANCE)),
                            metadata={"description": "assistance, corrected: the benefit enrolled"})
    hukou_place = fields.String(load_default=None, validate=validate.Length(max=200))
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    sex = fields.String(load_default=None, validate=OneOf(tuple(SEXES)))
    birth_date = fields.Date(load_default=None, metadata=DAY)
    record = fields.Nested(RecordSchema, load_default=None,
                           metadata={"description": "unregistered, added: more fields of the new record"})


class ItemSchema(Schema):
    id = fields.Integer()
    village_code = fields.String()
    list_kind = fields.String()
    child_id = fields.Integer(allow_none=True)
    row_id = fields.Integer(allow_none=True)
    name = fields.String()
    sex = fields.String(allow_none=True)
    birth_date = fields.Date(allow_none=True)
    id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    reason = fields.String()
    reasons = fields.List(fields.String())
    status = fields.String()
    campaign_id = fields.Integer(allow_none=True)
    task_id = fields.Integer(allow_none=True)
    answer = fields.String(allow_none=True)
    answer_note = fields.String()
    answered_at = fields.DateTime(allow_none=True)
    result_child_id = fields.Integer(allow_none=True)
    computed_at = fields.DateTime()
    version = fields.Integer()
    record_name = fields.String(allow_none=True)
    record_sex = fields.String(allow_none=True)
    record_birth_date = fields.Date(allow_none=True)


class OverviewRowSchema(Schema):
    code = fields.String()
    name = fields.String()
    counts = fields.Nested(CountsSchema)
    total = fields.Integer()


class OverviewSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    totals = fields.Nested(CountsSchema)
    rows = fields.List(fields.Nested(OverviewRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class VillageListSchema(Schema):
    code = fields.String()
    name = fields.String()
    list_kind = fields.String()
    answered = fields.Boolean()
    counts = fields.Nested(VillageCountsSchema)
    items = fields.List(fields.Nested(ItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TaskItemsSchema(Schema):
    task_id = fields.Integer()
    campaign_id = fields.Integer()
    title = fields.String()
    village_code = fields.String()
    status = fields.String()
    due_on = fields.Date()
    answered_count = fields.Integer()
    unanswered_count = fields.Integer()
    can_answer = fields.Boolean()
    items = fields.List(fields.Nested(ItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class RefreshResultSchema(Schema):
    unit = fields.String()
    queued = fields.Boolean()
    lists = fields.Nested(CountsSchema, allow_none=True)


class VerificationResultSchema(Schema):
    campaign_id = fields.Integer()
    title = fields.String()
    list_kind = fields.String()
    task_count = fields.Integer()
    items = fields.Integer()
