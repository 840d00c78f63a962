"""The protection outcomes report over HTTP: counts for a unit of the caller's subtree and a period."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from tenant_app.cases import outcomes
from tenant_app.db import db
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.security import api_login_required, current_actor

blp = Blueprint("outcomes_api", __name__, description="Protection outcomes (保护成效) per unit and period")

OutcomeValuesSchema = Schema.from_dict(
    {key: fields.Integer(metadata={"description": f"{zh} / {en}"}) for key, zh, en in outcomes.COLUMNS},
    name="OutcomeValues")


DAY = {"pattern": r"^\d{4}-\d{2}-\d{2}$", "maxLength": 10}


class OutcomeArgs(Schema):
    start = fields.Date(load_default=None, metadata={"description": "first day (CST); default 1 January", **DAY})
    end = fields.Date(load_default=None, metadata={"description": "last day (CST), included; default today",
                                                   **DAY})
    campaign_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1),
                                 metadata={"description": "a special action: its period (starts_on to due_on)"})


class OutcomeColumnSchema(Schema):
    key = fields.String()
    label_zh = fields.String()
    label_en = fields.String()


class OutcomeRowSchema(Schema):
    code = fields.String()
    name = fields.String()
    values = fields.Nested(OutcomeValuesSchema)


class OutcomeCampaignSchema(Schema):
    id = fields.Integer()
    title = fields.String()


class OutcomesSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    start = fields.Date()
    end = fields.Date()
    campaign = fields.Nested(OutcomeCampaignSchema, allow_none=True)
    columns = fields.List(fields.Nested(OutcomeColumnSchema))
    total = fields.Nested(OutcomeValuesSchema)
    rows = fields.List(fields.Nested(OutcomeRowSchema))


@blp.route("/outcomes/<code>")
class OutcomesResource(MethodView):
    @api_login_required
    @blp.arguments(OutcomeArgs, location="query")
    @blp.response(200, OutcomesSchema)
    def get(self, args, code):
        """Reports received, accepted, closed, and the outcomes (guardianship arranged, temporary placements,
        back to school, household registrations, assistance enrolled, guardianship revoked, confirmations signed)
        in the period, per child unit and in total, counted from the cases of the unit's subtree."""
        return outcomes.outcomes(db.session, current_actor(), code, **args)
