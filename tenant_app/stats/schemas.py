"""Marshmallow schemas of the stats API (one integer field per indicator, described by its labels)."""

from marshmallow import fields, validate

from sync.indicators import INDICATORS
from tenant_app.schema_base import BoundedSchema as Schema

IndicatorsSchema = Schema.from_dict(
    {i.key: fields.Integer(required=True, metadata={"description": f"{i.label_zh} / {i.label_en}"})
     for i in INDICATORS},
    name="Indicators",
)


class ChildUnitStatsSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    as_of = fields.DateTime(allow_none=True)
    indicators = fields.Nested(IndicatorsSchema)


class CampaignProgressSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    due_on = fields.Date()
    total = fields.Integer()
    not_started = fields.Integer()
    draft = fields.Integer()
    submitted = fields.Integer()
    approved = fields.Integer()
    returned = fields.Integer()
    overdue = fields.Integer()
    completed_on_time = fields.Integer()
    completion_rate = fields.Float(allow_none=True, metadata={"description": "(submitted + approved) / total"})
    on_time_rate = fields.Float(allow_none=True,
                                metadata={"description": "completed on time / (submitted + approved)"})


class UnitStatsSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    as_of = fields.DateTime(allow_none=True, metadata={"description": "when the roll-up wrote these figures"})
    indicators = fields.Nested(IndicatorsSchema)
    children = fields.List(fields.Nested(ChildUnitStatsSchema))
    campaigns = fields.List(fields.Nested(CampaignProgressSchema))


class HistoryArgs(Schema):
    months = fields.Integer(load_default=24, validate=validate.Range(min=1, max=120))


class HistoryPointSchema(Schema):
    month = fields.String(metadata={"description": "YYYY-MM"})
    indicators = fields.Nested(IndicatorsSchema)


class HistorySchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    points = fields.List(fields.Nested(HistoryPointSchema))
