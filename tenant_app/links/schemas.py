"""Request and response schemas of /api/v1/rolls."""

from marshmallow import fields

from tenant_app.links import enums as E
from tenant_app.links.rolls import RESULT_STATUSES
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import OneOf, page_field, per_page_field

ROLL_KIND_MESSAGE = "名册类别无效 / Unknown roll kind"


class UploadForm(Schema):
    roll_kind = fields.String(required=True, validate=OneOf(tuple(E.ROLL_KINDS), message=ROLL_KIND_MESSAGE),
                              metadata={"description": "school, household, assistance or disability"})
    # Read from the request's files by the view (a missing file is a field error there); described here.
    file = fields.Raw(load_default=None, metadata={"type": "string", "format": "binary",
                                                   "description": "the roll, .xlsx or CSV (UTF-8 or GB18030)"})


class ConfirmSchema(Schema):
    version = fields.Integer(required=True, metadata={
        "description": "the department's current version the dry run saw (`base_version`); changed since: 409"})


class DecisionSchema(Schema):
    decision = fields.String(required=True, validate=OneOf(("confirm", "reject")))
    version = fields.Integer(required=True, metadata={"description": "the match's version; stale: 409"})


class PageArgs(Schema):
    page = page_field()
    per_page = per_page_field(20)


class UploadListArgs(PageArgs):
    roll_kind = fields.String(load_default=None, validate=OneOf(tuple(E.ROLL_KINDS), message=ROLL_KIND_MESSAGE))


class ResultArgs(PageArgs):
    status = fields.String(load_default=None, validate=OneOf(RESULT_STATUSES))


class ReviewArgs(PageArgs):
    status = fields.String(load_default="grey", validate=OneOf(tuple(E.MATCH_STATUSES)))


class RowErrorSchema(Schema):
    row = fields.Integer()
    column = fields.String()
    field = fields.String()
    message = fields.String()


class RunSchema(Schema):
    id = fields.Integer()
    upload_id = fields.Integer()
    status = fields.String()
    rows_total = fields.Integer()
    rows_done = fields.Integer()
    linked = fields.Integer()
    grey = fields.Integer()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class UploadSchema(Schema):
    id = fields.Integer()
    dept_unit = fields.String()
    dept_kind = fields.String()
    roll_kind = fields.String()
    status = fields.String()
    version = fields.Integer(allow_none=True)
    base_version = fields.Integer()
    is_current = fields.Boolean()
    filename = fields.String()
    total_rows = fields.Integer()
    error_count = fields.Integer()
    errors = fields.List(fields.Nested(RowErrorSchema))
    created_at = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    run = fields.Nested(RunSchema, allow_none=True)


class UploadPageSchema(Schema):
    items = fields.List(fields.Nested(UploadSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ResultSchema(Schema):
    id = fields.Integer(metadata={"description": "the roll row"})
    line = fields.Integer()
    name = fields.String()
    student_no = fields.String()
    id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    match_id = fields.Integer(allow_none=True)
    status = fields.String()
    score = fields.Integer(allow_none=True)
    method = fields.String(allow_none=True)
    village_code = fields.String(allow_none=True, metadata={"description": "the matched record's village"})


class ResultPageSchema(UploadPageSchema):
    items = fields.List(fields.Nested(ResultSchema))


class MatchSchema(Schema):
    id = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    score = fields.Integer()
    method = fields.String()
    dept_unit = fields.String()
    dept_kind = fields.String()
    upload_id = fields.Integer()
    roll_name = fields.String()
    roll_sex = fields.String(allow_none=True)
    roll_birth_date = fields.Date(allow_none=True)
    child_id = fields.Integer()
    child_name = fields.String()
    child_sex = fields.String()
    child_birth_date = fields.Date()
    village_code = fields.String()
    decided_at = fields.DateTime(allow_none=True)


class MatchPageSchema(UploadPageSchema):
    items = fields.List(fields.Nested(MatchSchema))
