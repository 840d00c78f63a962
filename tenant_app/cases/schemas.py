"""Request and response schemas of reports and cases. Request fields state the services' single-field rules
(lengths, enums, codes, ranges) so the OpenAPI document shows them and a value that breaks one is a field error
(422) before any service runs; rules across fields and against stored data stay in the services."""

from marshmallow import fields

from tenant_app.cases import actions, deadlines, reports
from tenant_app.cases import enums as E
from tenant_app.clock import CST
from tenant_app.i18n import _l
from tenant_app.schema_base import (
    REQUIRED,
    Length,
    OneOf,
    Range,
    id_field,
    page_field,
    per_page_field,
    unit_code_field,
    village_code_field,
)
from tenant_app.schema_base import BoundedSchema as Schema


def _text(max_length: int, *, required: bool = False, **kwargs) -> fields.String:
    validate = Length(min=1, max=max_length, too_short=REQUIRED, strip=True) if required else Length(max=max_length)
    return fields.String(required=required, validate=validate, **kwargs)


def _choice(values, **kwargs) -> fields.String:
    return fields.String(validate=OneOf(values), **kwargs)


def _moment(**kwargs) -> fields.AwareDateTime:
    """A moment; without a zone it is China Standard Time (what people type)."""
    return fields.AwareDateTime(default_timezone=CST, **kwargs)


def _version(required: bool = True) -> fields.Integer:
    extra = {} if required else {"load_default": None}
    return fields.Integer(required=required, **extra,
                          metadata={"description": "the case's version as read (stale: 409)"})


# --- reports -------------------------------------------------------------------------------------------

class ReportCreateSchema(Schema):
    category = _choice(E.CATEGORIES, required=True)
    urgency = _choice(E.URGENCIES, required=True)
    occurred_at = _moment(required=True, metadata={"description": "when it happened (CST when no zone)"})
    village_code = village_code_field(required=True, metadata={"description": "where it happened"})
    narrative = _text(4000, required=True)
    child_ids = fields.List(id_field(), load_default=list,
                            validate=Length(max=reports.MAX_CHILDREN, too_long=reports.TOO_MANY_CHILDREN),
                            metadata={"description": "child records within the reporter's reach, of one village"})
    unknown_child_description = _text(4000, load_default="",
                                      metadata={"description": "required when no child record is given"})
    reporter_kind = _choice(E.REPORTER_KINDS, load_default="staff",
                            metadata={"description": "hotline: county staff only"})
    reporter_name = _text(64, load_default="", metadata={"description": "required for institutions"})
    reporter_contact = _text(64, load_default="")


class ReportListItemSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    category = fields.String()
    urgency = fields.String()
    stage = fields.String()
    village_code = fields.String()
    occurred_at = fields.DateTime()
    filed_at = fields.DateTime()


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportListItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CasePageArgs(Schema):
    page = page_field()
    per_page = per_page_field()


# --- transitions ---------------------------------------------------------------------------------------

class CaseAcceptSchema(Schema):
    version = _version()
    note = _text(500, load_default="")


class CaseScreenOutSchema(Schema):
    version = _version()
    reason = _text(500, required=True)


class CaseAdvanceSchema(Schema):
    version = _version()
    to = _choice(E.ADVANCE_TARGETS, required=True, metadata={"description": "the next stage"})
    note = _text(500, load_default="")


class CaseCloseSchema(Schema):
    version = _version()
    outcome = _choice(E.OUTCOMES, required=True)
    summary = _text(2000, required=True)


class CaseReopenSchema(Schema):
    version = _version()
    reason = _text(500, required=True)


# --- actions -------------------------------------------------------------------------------------------

def _field(kind: str, rule: tuple) -> fields.Field:
    ftype, required, limit = rule
    if ftype == "text":
        return _text(limit, required=required)
    if ftype == "choice":
        return _choice(limit, required=required)
    if ftype == "datetime":
        return _moment(required=required)
    if ftype == "date":
        return fields.Date(required=required)
    if ftype == "unit":
        return unit_code_field(required=required)
    return id_field(required=required)


def _payload_schema(kind: str) -> type[Schema]:
    name = "CaseAction" + "".join(part.title() for part in kind.split("_")) + "Schema"
    attrs = {field: _field(kind, rule) for field, rule in actions.FIELDS[kind].items()}
    return type(name, (Schema,), attrs)


ActionCreateSchema = type("ActionCreateSchema", (Schema,), {
    "__doc__": "An action: `kind`, and the object named like the kind with the action's fields.",
    "kind": _choice(E.ACTION_KINDS, required=True,
                    metadata={"description": "the object of the same name carries the action's fields"}),
    "version": _version(required=False),
    "note": _text(4000, load_default="", metadata={"description": "required for kind=note"}),
    **{kind: fields.Nested(_payload_schema(kind), load_default=None)
       for kind, rules in actions.FIELDS.items() if rules},
})


# --- the case ------------------------------------------------------------------------------------------

class CaseListArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit code of the caller's subtree (default: the caller's)"})
    stage = _choice(E.STAGES, load_default=None)
    open = fields.Boolean(load_default=False, metadata={"description": "open cases only"})
    overdue = fields.Boolean(load_default=None, allow_none=True)
    page = page_field()
    per_page = per_page_field()


class CaseReadArgs(Schema):
    purpose = _text(200, load_default=None, allow_none=True)


class CaseTimelineEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    stage = fields.String()
    data = fields.Dict()
    note = fields.String()
    by_user_id = fields.Integer(allow_none=True)
    by_unit_code = fields.String(allow_none=True, metadata={
        "description": "null on the filing entry for readers other than the handling county (it is the reporter)"})
    at = fields.DateTime()
    at_cst = fields.String()


class CaseChildSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    village_code = fields.String()
    risk_level = fields.String()


class CaseReporterSchema(Schema):
    kind = fields.String()
    name = fields.String()
    contact = fields.String()
    user_id = fields.Integer(allow_none=True)
    unit_code = fields.String()


class CaseSchema(Schema):
    """`detail` is "summary" (category, stage, clock, outcome: what units above the county see) or "full"
    (the county, township and village of the case; reading it is audited). `reporter`: the handling county."""

    id = fields.Integer()
    detail = fields.String()
    village_code = fields.String()
    township_code = fields.String()
    county_code = fields.String()
    category = fields.String()
    urgency = fields.String()
    stage = fields.String()
    is_open = fields.Boolean()
    outcome = fields.String(allow_none=True)
    step = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    due_at_cst = fields.String()
    due_on_cst = fields.Date(allow_none=True)
    overdue = fields.Boolean()
    escalation_level = fields.Integer(metadata={
        "description": "0: not escalated; 1: the county and the city notified of the overdue step; 2: the province "
                       "too (a further limit passed)"})
    reported_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    risk_level = fields.String(allow_none=True)
    guardianship_intervention = fields.Boolean()
    screen_out_reason = fields.String()
    outcome_summary = fields.String()
    occurred_at = fields.DateTime()
    occurred_village_code = fields.String()
    narrative = fields.String()
    unknown_child_description = fields.String()
    children = fields.List(fields.Nested(CaseChildSchema))
    timeline = fields.List(fields.Nested(CaseTimelineEntrySchema))
    allowed_actions = fields.List(fields.String())
    reporter = fields.Nested(CaseReporterSchema)


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


# --- the province's limits -----------------------------------------------------------------------------

def _limit(field: str, **kwargs) -> fields.Integer:
    bound = deadlines.LIMIT_BOUNDS[field]
    return fields.Integer(validate=Range(min=1, max=bound, message=_l("须为1至%(n)s的整数", n=bound)), **kwargs)


class CaseLimitsSchema(Schema):
    accept_emergency_hours = _limit("accept_emergency_hours")
    accept_hours = _limit("accept_hours")
    first_measure_hours = _limit("first_measure_hours")
    assessment_days = _limit("assessment_days")
    help_plan_days = _limit("help_plan_days")
    follow_up_high_days = _limit("follow_up_high_days")
    follow_up_medium_days = _limit("follow_up_medium_days")
    follow_up_low_days = _limit("follow_up_low_days")


class CasePolicyInputSchema(Schema):
    accept_emergency_hours = _limit("accept_emergency_hours", required=True)
    accept_hours = _limit("accept_hours", required=True)
    first_measure_hours = _limit("first_measure_hours", required=True)
    assessment_days = _limit("assessment_days", required=True)
    help_plan_days = _limit("help_plan_days", required=True)
    follow_up_high_days = _limit("follow_up_high_days", metadata={
        "description": "days between follow-up visits at high risk (left out: unchanged)"})
    follow_up_medium_days = _limit("follow_up_medium_days", metadata={"description": "… at medium risk"})
    follow_up_low_days = _limit("follow_up_low_days", metadata={"description": "… at low risk"})
    overrides = fields.Dict(keys=_choice(E.CATEGORIES), values=fields.Nested(CaseLimitsSchema), load_default=dict,
                            metadata={"description": "per category: any of the limits above"})


class CasePolicySchema(CasePolicyInputSchema):
    province_code = fields.String()
    is_default = fields.Boolean()
    updated_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
