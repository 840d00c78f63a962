"""Training pages: the courses of my subtree (paginated, with my unit's training figures), a new course, and a
course's page with its attendance list and the form to add a person or correct a row. Services validate and
write; each page commits once. A refused change writes nothing and shows its messages next to the fields (422),
or one clear message (409: stale version)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app.db import db
from tenant_app.errors import Conflict, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.security import current_actor
from tenant_app.training import courses, figures
from tenant_app.training import enums as E
from tenant_app.units.views import page_arg
from tenant_app.workforce import access, people

bp = Blueprint("training", __name__, template_folder="templates")
PER_PAGE = 20
LABELS = {"topics": E.TOPICS, "levels": E.LEVELS}


def _date(form, field: str, errors: dict) -> date | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.setdefault(field, []).append(_l("日期格式应为 YYYY-MM-DD"))
        return None


def _int(form, field: str, errors: dict, message=None) -> int | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors.setdefault(field, []).append(message or _l("请输入整数"))
        return None
    return int(raw)


def _names(codes) -> dict[str, str]:
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    return dict(db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


@bp.route("/trainings")
@login_required
def courses_page():
    """Courses organised within my subtree, latest first, and my unit's training figures this year."""
    actor = current_actor()
    topic = request.args.get("topic") if request.args.get("topic") in E.TOPICS else None
    rows, total = courses.list_courses(db.session, actor, topic=topic, page=page_arg(), per_page=PER_PAGE)
    return render_template("training/courses.html", items=rows, total=total, page=page_arg(), per_page=PER_PAGE,
                           topic=topic, counts=courses.counts(db.session, [c.id for c in rows]),
                           names=_names(c.region_code for c in rows),
                           figures=figures.for_unit(db.session, actor, None),
                           can_manage=access.can_manage(actor), **LABELS)


@bp.route("/trainings/new", methods=["GET", "POST"])
@login_required
def new_course_page():
    actor = current_actor()
    access.require_manage(actor)
    form, errors, status = request.form if request.method == "POST" else request.args, {}, 200
    if request.method == "POST":
        data = {"unit_code": form.get("unit_code") or actor.region_code, "title": form.get("title", ""),
                "topic": form.get("topic") or None, "note": form.get("note", ""),
                "starts_on": _date(form, "starts_on", errors), "ends_on": _date(form, "ends_on", errors),
                "hours": _int(form, "hours", errors, _l("学时须在1至1000之间"))}
        try:
            # The service too, so every field's messages show at once (the form's own win).
            course = courses.create(db.session, actor, data)
            if errors:
                raise ValidationFailed(courses.INVALID, errors=errors)
            db.session.commit()
        except ValidationFailed as error:
            db.session.rollback()
            errors.update({k: v for k, v in (error.errors or {}).items() if k not in errors})
            status = 422
        else:
            flash(_l("已保存"), "success")
            return redirect(url_for("training.course_page", course_id=course.id))
    return render_template("training/course_form.html", form=form, errors=errors, unit=actor.region_code,
                           **LABELS), status


def _course_view(course_id: int, errors: dict | None = None, status: int = 200, edit_id: int | None = None):
    actor = current_actor()
    course = courses.get_course(db.session, course_id)
    items, total = courses.list_attendance(db.session, course_id, page=page_arg(), per_page=PER_PAGE)
    manage = access.can_manage(actor)
    candidates = []
    if manage:
        rows, _ = people.list_people(db.session, actor, unit=course.region_code, current=True, per_page=200)
        enrolled = {i["person_id"] for i in items}
        candidates = [p for p in rows if p.id not in enrolled]
    return render_template("training/course.html", course=course, items=items, total=total, page=page_arg(),
                           per_page=PER_PAGE, candidates=candidates, can_manage=manage, errors=errors or {},
                           form=request.form, edit_id=edit_id, names=_names([course.region_code,
                                                                              *(i["unit_code"] for i in items)]),
                           **LABELS), status


@bp.route("/trainings/<int:course_id>")
@login_required
def course_page(course_id: int):
    return _course_view(course_id)


def _attendance_data(form, errors: dict) -> dict:
    attended = form.get("attended") == "1"
    data = {"attended": attended, "passed": form.get("passed") == "1" and attended,
            "certificate_no": form.get("certificate_no", "")}
    hours = _int(form, "hours_credited", errors, _l("学时须在0至1000之间"))
    if hours is not None:
        data["hours_credited"] = hours
    elif not attended:
        data["hours_credited"] = 0
    return data


def _save(course_id: int, action, edit_id: int | None = None):
    errors: dict = {}
    try:
        action(errors)
        if errors:
            raise ValidationFailed(courses.INVALID, errors=errors)
        db.session.commit()
    except (ValidationFailed, Conflict) as error:
        db.session.rollback()
        return _course_view(course_id, error.errors or {"form": [error.detail]}, error.status, edit_id)
    flash(_l("已保存"), "success")
    return redirect(url_for("training.course_page", course_id=course_id))


@bp.route("/trainings/<int:course_id>/attendance", methods=["POST"])
@login_required
def add_attendance(course_id: int):
    form = request.form

    def run(errors):
        data = _attendance_data(form, errors)
        data["person_id"] = _int(form, "person_id", errors, _l("请从列表中选择"))
        if data["person_id"] is None and "person_id" not in errors:
            errors["person_id"] = [_l("请从列表中选择")]
        if not errors:
            courses.add_attendance(db.session, current_actor(), course_id, data)

    return _save(course_id, run)


@bp.route("/trainings/<int:course_id>/attendance/<int:attendance_id>", methods=["POST"])
@login_required
def update_attendance(course_id: int, attendance_id: int):
    form = request.form

    def run(errors):
        data = _attendance_data(form, errors)
        data["version"] = _int(form, "version", errors)
        if not errors:
            courses.update_attendance(db.session, current_actor(), course_id, attendance_id, data)

    return _save(course_id, run, attendance_id)
