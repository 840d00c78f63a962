"""Request and response schemas of the assessment. Request fields state their bounds (dates, levels, codes,
weights 0-100) so the OpenAPI document shows them and a value that breaks one is a field error (422) before
any service runs; the sum of the weights is the service's rule."""

from marshmallow import fields

from tenant_app.assessment import indicators as I
from tenant_app.i18n import _l
from tenant_app.schema_base import REQUIRED, Range, page_field, per_page_field, unit_code_field
from tenant_app.schema_base import BoundedSchema as Schema

DAY = {"pattern": r"^\d{4}-\d{2}-\d{2}$", "maxLength": 10}
YEAR = Range(min=2000, max=2100, message=_l("年度须为2000至2100"))
WEIGHT = _l("权重须为0至100的整数")
BELOW = _l("须为考核单位以下的层级")


def _unit() -> fields.String:
    return unit_code_field(load_default=None, allow_blank=True, metadata={
        "description": "the assessing unit, of the caller's subtree (default: the caller's)"})


class PeriodArgs(Schema):
    period_start = fields.Date(load_default=None, metadata={"description": "first day (CST); default 1 January",
                                                            **DAY})
    period_end = fields.Date(load_default=None, metadata={"description": "last day (CST), included; default today",
                                                          **DAY})
    unit = _unit()


class LeagueArgs(PeriodArgs):
    level = fields.Integer(load_default=None, validate=Range(min=2, max=5, message=BELOW), metadata={
        "description": "the level assessed (2 city … 5 village), below the assessing unit; default its children"})
    page = page_field()
    per_page = per_page_field(500)


class TrendArgs(Schema):
    year = fields.Integer(load_default=None, validate=YEAR, metadata={"description": "default this year"})
    unit = _unit()


class SchemeArgs(Schema):
    year = fields.Integer(load_default=None, validate=YEAR, metadata={"description": "default this year"})


WeightsInput = Schema.from_dict(
    {key: fields.Integer(required=True, validate=Range(min=0, max=100, message=WEIGHT), error_messages={
        "required": REQUIRED, "invalid": WEIGHT}, metadata={"description": f"{ind.label_zh} / {ind.label_en}"})
     for key, ind in I.BY_KEY.items()}, name="AssessmentWeightsInput")
Weights = Schema.from_dict({key: fields.Integer() for key in I.KEYS}, name="AssessmentWeights")
Scores = Schema.from_dict({key: fields.Float(allow_none=True) for key in I.KEYS}, name="AssessmentScores")


class SchemeInputSchema(Schema):
    year = fields.Integer(load_default=None, validate=YEAR, metadata={"description": "default this year"})
    weights = fields.Nested(WeightsInput, required=True, metadata={
        "description": "an integer 0-100 per indicator; the weights sum to 100"})


class IndicatorSchema(Schema):
    key = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    kind = fields.String(metadata={"description": "rate: a share ×100; relative: against the set's best and worst"})
    available = fields.Boolean()


class SchemeSchema(Schema):
    province_code = fields.String()
    year = fields.Integer()
    weights = fields.Nested(Weights)
    is_default = fields.Boolean()
    updated_by_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    indicators = fields.List(fields.Nested(IndicatorSchema))


class UnitRefSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()


class HeadSchema(Schema):
    unit = fields.Nested(UnitRefSchema, metadata={"description": "the assessing unit"})
    level = fields.Integer(metadata={"description": "the level assessed"})
    period_start = fields.Date()
    period_end = fields.Date()
    as_of = fields.Date(metadata={"description": "the day the roster's posts are counted on"})
    weights = fields.Nested(Weights)
    left_out = fields.List(fields.String(), metadata={"description": "indicators without a source, not scored"})
    notes = fields.List(fields.String())


class LeagueRowSchema(Schema):
    code = fields.String()
    name = fields.String()
    rank = fields.Integer()
    total = fields.Float(allow_none=True, metadata={"description": "0-100"})
    scores = fields.Nested(Scores)
    detail = fields.String(metadata={"description": "the unit's figures, sub-scores and contributions"})


class LeagueSchema(HeadSchema):
    rows = fields.List(fields.Nested(LeagueRowSchema))
    total = fields.Integer(metadata={"description": "units assessed"})
    page = fields.Integer()
    per_page = fields.Integer()


class LineSchema(Schema):
    key = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    kind = fields.String()
    available = fields.Boolean()
    value = fields.Float(allow_none=True, metadata={"description": "the figure (a share 0-1 for rates)"})
    score = fields.Float(allow_none=True, metadata={"description": "the sub-score 0-100; null: nothing to score"})
    weight = fields.Integer(metadata={"description": "the scheme's weight"})
    effective_weight = fields.Float(allow_none=True, metadata={"description": "the weight after sharing out the "
                                                                              "weights of absent sub-scores"})
    contribution = fields.Float(allow_none=True, metadata={"description": "points of the total"})


class DetailSchema(HeadSchema):
    code = fields.String()
    name = fields.String()
    rank = fields.Integer()
    of = fields.Integer(metadata={"description": "units in the set"})
    total_score = fields.Float(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                         metadata={"description": "the raw counts behind the figures"})
    lines = fields.List(fields.Nested(LineSchema))


class TrendPointSchema(Schema):
    month = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    total = fields.Float(allow_none=True)
    scores = fields.Nested(Scores)


class TrendSchema(Schema):
    unit = fields.Nested(UnitRefSchema)
    code = fields.String()
    name = fields.String()
    year = fields.Integer()
    of = fields.Integer()
    weights = fields.Nested(Weights)
    left_out = fields.List(fields.String())
    points = fields.List(fields.Nested(TrendPointSchema))
