from marshmallow import EXCLUDE, fields, validate

from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.schema_base import Length, Range, page_field, per_page_field, unit_code_field
from tenant_app.visits import services
from tenant_app.visits.models import ASSESSMENTS, MET, RISK_LEVELS
from tenant_app.visits.services import STATUSES


class OneOrMany(fields.List):
    """A list of strings; a single string is taken as a list of one."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [value]
        return super()._deserialize(value, attr, data, **kwargs)


def _text(limit: int, message, **kwargs) -> fields.String:
    # The service strips the text before measuring it.
    return fields.String(allow_none=True, validate=Length(max=limit, strip=True, too_long=message), **kwargs)


class VisitCreateSchema(Schema):
    """Types, enums and lengths; the rules that need the child or today (dates, required findings, an
    unattended child's risk) are the service's."""

    visited_on = fields.Date(required=True)
    visitor_name = _text(services.MAX_VISITOR_NAME, services.VISITOR_NAME_TOO_LONG, load_default=None)
    met = OneOrMany(fields.String(validate=validate.OneOf(list(MET))), load_default=list)
    findings = _text(services.MAX_FINDINGS, services.FINDINGS_TOO_LONG, load_default=None)
    guardianship_assessment = fields.String(load_default=None, allow_none=True,
                                            validate=validate.OneOf(list(ASSESSMENTS)))
    risk_level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(list(RISK_LEVELS)))
    follow_up = _text(services.MAX_FOLLOW_UP, services.FOLLOW_UP_TOO_LONG, load_default="")


class VisitSchema(Schema):
    id = fields.Integer()
    child_id = fields.Integer()
    village_code = fields.String(attribute="region_code")
    visited_on = fields.Date()
    visitor_user_id = fields.Integer(allow_none=True)
    visitor_name = fields.String()
    met = fields.List(fields.String())
    findings = fields.String()
    guardianship_assessment = fields.String(allow_none=True)
    risk_level = fields.String(allow_none=True)
    follow_up = fields.String()
    created_at = fields.DateTime()


class PageArgs(Schema):
    page = page_field()
    per_page = per_page_field()


class VisitPageSchema(Schema):
    items = fields.List(fields.Nested(VisitSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class DueArgs(PageArgs):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit code of the caller's subtree (default: the caller's)"})
    status = fields.String(load_default="all", validate=validate.OneOf(list(STATUSES)))


class DueItemSchema(Schema):
    child_id = fields.Integer()
    name = fields.String()
    village_code = fields.String()
    risk_level = fields.String()
    last_visit_on = fields.Date(allow_none=True)
    due_on = fields.Date()
    days_overdue = fields.Integer()
    status = fields.String()  # overdue / due_soon / ok


class DuePageSchema(Schema):
    items = fields.List(fields.Nested(DueItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class PolicySchema(Schema):
    province_code = fields.String(dump_only=True)
    high_days = fields.Integer(required=True, strict=True)
    medium_days = fields.Integer(required=True, strict=True)
    low_days = fields.Integer(required=True, strict=True)
    is_default = fields.Boolean(dump_only=True)
    updated_by_id = fields.Integer(dump_only=True, allow_none=True)
    updated_at = fields.DateTime(dump_only=True, allow_none=True)


DAYS = Range(min=1, max=services.MAX_DAYS, message=services.DAYS_INVALID)


class PolicyInputSchema(Schema):
    """The three intervals; the read-only fields of a GET body are ignored so it can be sent back."""

    class Meta:
        unknown = EXCLUDE

    high_days = fields.Integer(required=True, strict=True, validate=DAYS)
    medium_days = fields.Integer(required=True, strict=True, validate=DAYS)
    low_days = fields.Integer(required=True, strict=True, validate=DAYS)
