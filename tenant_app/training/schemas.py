"""Request and response schemas of training. Single-field rules (lengths, enums, ranges) are field errors (422)
before any service runs; rules across fields and against stored data stay in the services."""

from marshmallow import fields

from tenant_app.i18n import _l
from tenant_app.schema_base import REQUIRED, Length, OneOf, Range, id_field, page_field, per_page_field, unit_code_field
from tenant_app.schema_base import BoundedSchema as Schema
from tenant_app.training import enums as E

HOURS_MESSAGE = _l("学时须在0至1000之间")


def _hours(minimum: int, **kwargs) -> fields.Integer:
    return fields.Integer(validate=Range(min=minimum, max=E.MAX_HOURS, message=HOURS_MESSAGE), **kwargs)


class CourseFieldsSchema(Schema):
    title = fields.String(validate=Length(min=1, max=200, too_short=REQUIRED, strip=True))
    topic = fields.String(validate=OneOf(E.TOPICS),
                          metadata={"description": "政策 policy, 走访 visits, 强制报告 mandatory reporting, 心理 "
                                                   "psychology, 安全 safety, 其他 other"})
    level = fields.String(validate=OneOf(E.LEVELS), metadata={"description": "the organiser's level"})
    starts_on = fields.Date()
    ends_on = fields.Date()
    hours = _hours(1, metadata={"description": "学时"})
    note = fields.String(validate=Length(max=500))


class CourseCreateSchema(CourseFieldsSchema):
    unit_code = unit_code_field(load_default=None, metadata={
        "description": "the organiser: a province, city, county or township of the caller's subtree "
                       "(default: the caller's unit)"})
    title = fields.String(required=True, validate=Length(min=1, max=200, too_short=REQUIRED, strip=True))
    topic = fields.String(required=True, validate=OneOf(E.TOPICS))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    hours = _hours(1, required=True)


class CoursePatchSchema(CourseFieldsSchema):
    version = fields.Integer(required=True, metadata={"description": "the version as read (stale: 409)"})


class CourseListArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit of the caller's subtree (default: the caller's)"})
    topic = fields.String(load_default=None, validate=OneOf(E.TOPICS))
    year = fields.Integer(load_default=None, validate=Range(min=2000, max=2100, message=_l("年份无效")))
    page = page_field()
    per_page = per_page_field()


class CourseSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String(attribute="region_code")
    title = fields.String()
    level = fields.String()
    topic = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()
    hours = fields.Integer()
    note = fields.String()
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CoursePageSchema(Schema):
    items = fields.List(fields.Nested(CourseSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AttendanceFieldsSchema(Schema):
    attended = fields.Boolean()
    hours_credited = _hours(0, metadata={"description": "default: the course's hours when attended"})
    passed = fields.Boolean()
    certificate_no = fields.String(validate=Length(max=64), metadata={"description": "证书编号 (optional)"})


class AttendanceCreateSchema(AttendanceFieldsSchema):
    person_id = id_field(required=True, metadata={"description": "a roster person of the organiser's subtree"})


class AttendancePatchSchema(AttendanceFieldsSchema):
    version = fields.Integer(required=True, metadata={"description": "the version as read (stale: 409)"})


class AttendanceSchema(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    person_id = fields.Integer()
    person_name = fields.String()
    unit_code = fields.String()
    attended = fields.Boolean()
    hours_credited = fields.Integer()
    passed = fields.Boolean()
    certificate_no = fields.String()
    course_ends_on = fields.Date()
    course_title = fields.String()
    version = fields.Integer()


class AttendancePageArgs(Schema):
    page = page_field()
    per_page = per_page_field()


class AttendancePageSchema(Schema):
    items = fields.List(fields.Nested(AttendanceSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CertificateArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit of the caller's subtree (default: the caller's)"})
    person_id = id_field(load_default=None)
    page = page_field()
    per_page = per_page_field()


class FiguresArgs(Schema):
    unit = unit_code_field(load_default=None, allow_blank=True,
                           metadata={"description": "a unit of the caller's subtree (default: the caller's)"})


class PostFiguresSchema(Schema):
    in_post = fields.Integer()
    trained = fields.Integer(metadata={"description": "attended a course ending this CST year"})
    share_trained = fields.Float(allow_none=True)
    hours = fields.Integer()
    hours_per_person = fields.Float(allow_none=True)


class FiguresSchema(Schema):
    unit_code = fields.String()
    year = fields.Integer()
    director = fields.Nested(PostFiguresSchema)
    supervisor = fields.Nested(PostFiguresSchema)
    total = fields.Nested(PostFiguresSchema)
