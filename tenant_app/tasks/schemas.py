"""Task API bodies and responses: types and the services' rules of single fields (a return reason's length);
the rules that need the task or its campaign are the services'."""

from marshmallow import fields, validate

from tenant_app.campaigns.models import TASK_STATUSES
from tenant_app.children.schemas import query_field
from tenant_app.schema_base import REQUIRED, Length, page_field, per_page_field
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.tasks.review import MAX_REASON


class PageArgs(Schema):
    page = page_field()
    per_page = per_page_field()


class TaskListArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(list(TASK_STATUSES)))
    campaign = fields.Integer(load_default=None)
    overdue = fields.Boolean(load_default=None, allow_none=True)
    open = fields.Boolean(load_default=False)
    review = fields.Boolean(load_default=False)


class TaskItemSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    campaign_title = fields.String()
    campaign_kind = fields.String()
    campaign_status = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    reviewer_code = fields.String()
    due_on = fields.Date()
    status = fields.String()
    overdue = fields.Boolean()
    submitted_at = fields.DateTime(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    return_reason = fields.String()
    version = fields.Integer()


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CampaignBriefSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    directive = fields.String()
    kind = fields.String()
    status = fields.String()
    questions = fields.List(fields.Dict())
    starts_on = fields.Date()
    due_on = fields.Date()
    issuer_code = fields.String()
    issuer_name = fields.String()
    published_at = fields.DateTime(allow_none=True)


class NoteSchema(Schema):
    unit_code = fields.String()
    unit_name = fields.String()
    note = fields.String()
    note_at = fields.DateTime(allow_none=True)


class AttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()


class StepSchema(Schema):
    kind = fields.String(metadata={"description": "published, draft_saved, submitted, approved, returned, …"})
    at = fields.DateTime(allow_none=True)
    actor_name = fields.String()
    unit_code = fields.String(allow_none=True)
    unit_name = fields.String()
    note = fields.String()


class CensusCountsSchema(Schema):
    confirmed = fields.Integer()
    added = fields.Integer()
    exited = fields.Integer()
    total_active = fields.Integer()
    unconfirmed = fields.Integer()
    unchanged_unconfirmed = fields.Integer(metadata={"description": "unconfirmed and unchanged since publication"})
    editable = fields.Boolean()


class TaskDetailSchema(Schema):
    id = fields.Integer()
    campaign_id = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    reviewer_code = fields.String()
    due_on = fields.Date()
    status = fields.String()
    overdue = fields.Boolean()
    answers = fields.Dict()
    return_reason = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    submitted_by_id = fields.Integer(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    reviewed_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    can_edit = fields.Boolean()
    can_review = fields.Boolean()
    campaign = fields.Nested(CampaignBriefSchema)
    notes = fields.List(fields.Nested(NoteSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    timeline = fields.List(fields.Nested(StepSchema))
    census = fields.Nested(CensusCountsSchema, allow_none=True)


class TaskSavedSchema(Schema):
    """The answer to a draft save or a submission sent with `Prefer: return=minimal`."""

    id = fields.Integer()
    status = fields.String()
    version = fields.Integer()
    saved_at = fields.DateTime(allow_none=True)


class DraftSchema(Schema):
    answers = fields.Dict(required=True)
    version = fields.Integer(load_default=None, allow_none=True, strict=True)


class SubmitSchema(Schema):
    answers = fields.Dict(load_default=None, allow_none=True,
                          metadata={"description": "omitted: submit the saved draft"})
    version = fields.Integer(load_default=None, allow_none=True, strict=True)


class ApproveSchema(Schema):
    version = fields.Integer(load_default=None, allow_none=True, strict=True)


class ReturnSchema(Schema):
    reason = fields.String(required=True, validate=Length(min=1, max=MAX_REASON, strip=True, too_short=REQUIRED))
    version = fields.Integer(load_default=None, allow_none=True, strict=True)


class CensusArgs(PageArgs):
    confirmed = fields.Boolean(load_default=None, allow_none=True)
    q = query_field()


class CensusChildSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    id_number = fields.String(allow_none=True, metadata={"description": "masked"})
    category = fields.List(fields.String())
    status = fields.String()
    exited_at = fields.Date(allow_none=True)
    risk_level = fields.String()
    sex = fields.String()
    birth_date = fields.Date()
    confirmed = fields.Boolean()
    checked_at = fields.DateTime(allow_none=True)


class CensusPageSchema(Schema):
    items = fields.List(fields.Nested(CensusChildSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    counts = fields.Nested(CensusCountsSchema)


class CensusCheckResultSchema(Schema):
    child_id = fields.Integer()
    confirmed = fields.Boolean()
    counts = fields.Nested(CensusCountsSchema)


class CensusBulkResultSchema(Schema):
    confirmed_now = fields.Integer()
    counts = fields.Nested(CensusCountsSchema)
