"""Marshmallow schemas of the campaign API: types and the services' rules of single fields (lengths, kinds,
templates, unit codes); the rules that need the issuer, the date or the tree are the services'."""

from marshmallow import fields, validate

from tenant_app.campaigns import catalog, reminders, services
from tenant_app.campaigns.models import KINDS
from tenant_app.campaigns.services import BOXES
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import Length, OneOf, page_field, per_page_field, unit_code_field


class PageArgs(Schema):
    page = page_field()
    per_page = per_page_field()


class CampaignInputSchema(Schema):
    # The service measures the title stripped, the directive as given.
    title = fields.String(load_default=None, allow_none=True,
                          validate=Length(max=services.MAX_TITLE, strip=True, too_long=services.TITLE_TOO_LONG))
    directive = fields.String(load_default=None, allow_none=True,
                              validate=Length(max=services.MAX_DIRECTIVE, too_long=services.DIRECTIVE_TOO_LONG))
    kind = fields.String(load_default=None, allow_none=True, validate=OneOf(KINDS, message=services.KIND_INVALID))
    # A level's number (1 province .. 5 village) or name ("village").
    target_level = fields.Raw(load_default=None, allow_none=True)
    reviewer_level = fields.Raw(load_default=None, allow_none=True)
    starts_on = fields.Date(load_default=None, allow_none=True)
    due_on = fields.Date(load_default=None, allow_none=True)
    questions = fields.List(fields.Raw(), load_default=None, allow_none=True)


class CampaignCreateSchema(CampaignInputSchema):
    # Empty, like omitted, takes the template's (without a template the service asks for a kind).
    kind = fields.String(load_default=None, allow_none=True, validate=OneOf(
        [*KINDS, ""], message=services.KIND_INVALID), metadata={"description": "empty: the template's"})
    template = fields.String(load_default=None, allow_none=True,
                             validate=OneOf([*catalog.template_names(), ""], message=services.TEMPLATE_INVALID),
                             metadata={"description": "a shipped template's name: prefills what is not given "
                                                      "(empty: none)"})


class CampaignUpdateSchema(CampaignInputSchema):
    version = fields.Integer(load_default=None, allow_none=True)


class CampaignAttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    uploaded_at = fields.DateTime()


class ReceiptSchema(Schema):
    campaign_id = fields.Integer()
    region_code = fields.String()
    acknowledged = fields.Boolean()
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by_id = fields.Integer(allow_none=True)
    note = fields.String()
    note_at = fields.DateTime(allow_none=True)
    due_on = fields.Date(allow_none=True)


class ReceiptNoteSchema(Schema):
    code = fields.String()
    name = fields.String()
    note = fields.String()
    note_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    due_on = fields.Date(allow_none=True)


class CampaignSchema(Schema):
    id = fields.Integer()
    issuer_code = fields.String()
    title = fields.String()
    directive = fields.String()
    kind = fields.String()
    template = fields.String(allow_none=True)
    target_level = fields.String()
    reviewer_level = fields.String()
    starts_on = fields.Date()
    due_on = fields.Date()
    questions = fields.List(fields.Dict())
    status = fields.String()
    task_count = fields.Integer()
    receipt_count = fields.Integer()
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Integer()


class CampaignDetailSchema(CampaignSchema):
    issuer_name = fields.String()
    attachments = fields.List(fields.Nested(CampaignAttachmentSchema))
    receipt_notes = fields.List(fields.Nested(ReceiptNoteSchema))
    my_receipt = fields.Nested(ReceiptSchema, allow_none=True)
    my_task_id = fields.Integer(allow_none=True)
    my_due_on = fields.Date()


class CampaignListArgs(PageArgs):
    box = fields.String(load_default="issued", validate=validate.OneOf(list(BOXES)))


class CampaignPageSchema(Schema):
    items = fields.List(fields.Nested(CampaignSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CampaignVersionSchema(Schema):
    version = fields.Integer(load_default=None, allow_none=True)


class ExtendSchema(CampaignVersionSchema):
    due_on = fields.Date(required=True)


class ExtendResultSchema(Schema):
    campaign_id = fields.Integer()
    unit = fields.String()
    due_on = fields.Date()
    tasks_moved = fields.Integer()


class ReceiptInputSchema(Schema):
    note = fields.String(load_default=None, allow_none=True,
                         validate=Length(max=services.MAX_NOTE, too_long=services.NOTE_TOO_LONG))


class UnitArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit code (default: yours)"})


class FiguresSchema(Schema):
    total = fields.Integer()
    not_started = fields.Integer()
    draft = fields.Integer()
    submitted = fields.Integer()
    approved = fields.Integer()
    returned = fields.Integer()
    completed = fields.Integer()
    overdue = fields.Integer()
    on_time = fields.Integer()
    completion_rate = fields.Float()
    on_time_rate = fields.Float(allow_none=True)
    receipts_total = fields.Integer()
    receipts_acknowledged = fields.Integer()


class ChildProgressSchema(FiguresSchema):
    code = fields.String()
    name = fields.String()


class ProgressSchema(FiguresSchema):
    campaign_id = fields.Integer()
    unit = fields.String()
    name = fields.String()
    today = fields.Date()
    source = fields.String(metadata={"description": "stored: the roll-up's figures, served while exact (no roll-up "
                                                    "pending, computed today); live: counted from the tasks"})
    children = fields.List(fields.Nested(ChildProgressSchema))


class OverdueArgs(UnitArgs, PageArgs):
    pass


class DirectorSchema(Schema):
    name = fields.String()
    phone = fields.String()


class OverdueItemSchema(Schema):
    task_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    status = fields.String()
    due_on = fields.Date()
    days_overdue = fields.Integer()
    directors = fields.List(fields.Nested(DirectorSchema))


class OverduePageSchema(CampaignPageSchema):
    items = fields.List(fields.Nested(OverdueItemSchema))


class SummarySchema(Schema):
    campaign_id = fields.Integer()
    unit = fields.String()
    completed = fields.Integer()
    questions = fields.List(fields.Dict(), metadata={
        "description": "per question: key, label, type, answered; sum (numbers), yes/no, counts per option"})


class RemindSchema(Schema):
    units = fields.List(unit_code_field(), required=True, validate=Length(
        min=1, max=reminders.MAX_UNITS, too_short=reminders.NO_UNITS, too_long=reminders.TOO_MANY_UNITS))
    subtree = fields.Boolean(load_default=False)
    message = fields.String(load_default=None, allow_none=True, validate=Length(
        max=reminders.MAX_MESSAGE, too_long=reminders.MESSAGE_TOO_LONG))


class RemindResultSchema(Schema):
    campaign_id = fields.Integer()
    notified = fields.Integer()
    tasks_reminded = fields.Integer()


class ReminderUnitSchema(Schema):
    code = fields.String()
    name = fields.String()


class ReminderHistorySchema(Schema):
    sent_at = fields.DateTime()
    sender_name = fields.String()
    sender_code = fields.String(allow_none=True)
    sender_unit = fields.String()
    message = fields.String()
    units_count = fields.Integer()
    units = fields.List(fields.Nested(ReminderUnitSchema), metadata={"description": "the first 20 units"})


class ReminderHistoryPageSchema(Schema):
    items = fields.List(fields.Nested(ReminderHistorySchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TemplateSchema(Schema):
    name = fields.String()
    kind = fields.String()
    title = fields.String()
    directive = fields.String()
    questions = fields.List(fields.Dict())
