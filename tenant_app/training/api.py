"""Training over HTTP: courses, their attendance, and the training figures of a unit. Services flush; this
layer commits once per request."""

from flask.views import MethodView
from flask_smorest import Blueprint

from tenant_app.db import db
from tenant_app.security import api_login_required, current_actor
from tenant_app.training import courses, figures
from tenant_app.training.schemas import (
    AttendanceCreateSchema,
    AttendancePageArgs,
    AttendancePageSchema,
    AttendancePatchSchema,
    AttendanceSchema,
    CertificateArgs,
    CourseCreateSchema,
    CourseListArgs,
    CoursePageSchema,
    CoursePatchSchema,
    CourseSchema,
    FiguresArgs,
    FiguresSchema,
)

blp = Blueprint("training_api", __name__,
                description="Training of children's directors and supervisors: courses, attendance, certificates "
                            "and the share of people in post trained this year")


def _page(items, total, args) -> dict:
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def _person_name(row) -> str:
    from sqlalchemy import select

    from tenant_app.workforce.models import RosterPerson

    return db.session.scalar(select(RosterPerson.name).where(RosterPerson.id == row.person_id)) or ""


@blp.route("/trainings")
class CoursesResource(MethodView):
    @api_login_required
    @blp.arguments(CourseListArgs, location="query")
    @blp.response(200, CoursePageSchema)
    def get(self, args):
        """Courses organised within the caller's subtree (or a unit's), latest first."""
        rows, total = courses.list_courses(db.session, current_actor(), unit=args["unit"], topic=args["topic"],
                                           year=args["year"], page=args["page"], per_page=args["per_page"])
        return _page(rows, total, args)

    @api_login_required
    @blp.arguments(CourseCreateSchema)
    @blp.response(201, CourseSchema)
    def post(self, data):
        """Organise a course (staff and administrators of a province, city, county or township)."""
        course = courses.create(db.session, current_actor(), data)
        db.session.commit()
        return course


@blp.route("/trainings/figures")
class FiguresResource(MethodView):
    @api_login_required
    @blp.arguments(FiguresArgs, location="query")
    @blp.response(200, FiguresSchema)
    def get(self, args):
        """Of the directors and supervisors in post today in a subtree: how many attended a course ending this
        CST year, the share, and the hours credited per person in post."""
        return figures.for_unit(db.session, current_actor(), args["unit"])


@blp.route("/trainings/certificates")
class CertificatesResource(MethodView):
    @api_login_required
    @blp.arguments(CertificateArgs, location="query")
    @blp.response(200, AttendancePageSchema)
    def get(self, args):
        """Training certificates of the people of a subtree (or of one person), latest course first, whoever
        organised the course."""
        items, total = courses.list_certificates(db.session, current_actor(), unit=args["unit"],
                                                 person_id=args["person_id"], page=args["page"],
                                                 per_page=args["per_page"])
        return _page(items, total, args)


@blp.route("/trainings/<int:course_id>")
class CourseResource(MethodView):
    @api_login_required
    @blp.response(200, CourseSchema)
    def get(self, course_id):
        return courses.get_course(db.session, course_id)

    @api_login_required
    @blp.arguments(CoursePatchSchema)
    @blp.response(200, CourseSchema)
    def patch(self, data, course_id):
        """Correct a course; `version` must be the version read, else 409 and nothing changes."""
        course = courses.update_course(db.session, current_actor(), course_id, data)
        db.session.commit()
        return course


@blp.route("/trainings/<int:course_id>/attendance")
class AttendanceListResource(MethodView):
    @api_login_required
    @blp.arguments(AttendancePageArgs, location="query")
    @blp.response(200, AttendancePageSchema)
    def get(self, args, course_id):
        """The course's attendance rows the caller sees (people of its subtree)."""
        items, total = courses.list_attendance(db.session, course_id, page=args["page"], per_page=args["per_page"])
        return _page(items, total, args)

    @api_login_required
    @blp.arguments(AttendanceCreateSchema)
    @blp.response(201, AttendanceSchema)
    def post(self, data, course_id):
        """Add a roster person of the organiser's subtree, with attendance, hours, pass and certificate."""
        row = courses.add_attendance(db.session, current_actor(), course_id, data)
        result = courses.attendance_item(row, _person_name(row))
        db.session.commit()
        return result


@blp.route("/trainings/<int:course_id>/attendance/<int:attendance_id>")
class AttendanceResource(MethodView):
    @api_login_required
    @blp.response(200, AttendanceSchema)
    def get(self, course_id, attendance_id):
        row = courses.get_attendance(db.session, course_id, attendance_id)
        return courses.attendance_item(row, _person_name(row))

    @api_login_required
    @blp.arguments(AttendancePatchSchema)
    @blp.response(200, AttendanceSchema)
    def patch(self, data, course_id, attendance_id):
        """Correct attendance, hours, pass or certificate; stale `version`: 409."""
        row = courses.update_attendance(db.session, current_actor(), course_id, attendance_id, data)
        result = courses.attendance_item(row, _person_name(row))
        db.session.commit()
        return result
