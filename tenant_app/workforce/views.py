"""Roster pages: the roster of my unit (counts, vacancies with their cover), people (masked list, full record
audited), a unit's roster page (holder, cover, history, open work; appoint, departure, cover) and the Excel
import and export. Services validate and write; each page commits once. A refused change writes nothing and
shows its messages next to the fields (422), or one clear message (409: stale version, post held)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app.db import db
from tenant_app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg
from tenant_app.workforce import access, appointments, covers, excel, import_api, imports, people, units, vacancies
from tenant_app.workforce import enums as E
from tenant_app.workforce.api import full

bp = Blueprint("roster", __name__, template_folder="templates")
PER_PAGE = 50
LABELS = {"posts": E.POSTS, "employments": E.EMPLOYMENTS, "sexes": E.SEXES, "cover_kinds": E.COVER_KINDS,
          "bases": E.VACANT_BASES}


def _date(form, field: str, errors: dict) -> date | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.setdefault(field, []).append(_l("日期格式应为 YYYY-MM-DD"))
        return None


def _int(form, field: str, errors: dict) -> int | None:
    raw = (form.get(field) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        errors.setdefault(field, []).append(_l("请从列表中选择"))
        return None
    return int(raw)


def _names(codes) -> dict[str, str]:
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    return dict(db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


def _unit_arg(actor) -> str:
    unit = (request.args.get("unit") or actor.region_code).strip()
    return unit if unit.isdigit() and unit.startswith(actor.region_code) else actor.region_code


@bp.route("/roster")
@login_required
def roster_page():
    """My unit's roster: per post, units, filled, vacant, covered; the vacancies, longest first, with cover."""
    actor = current_actor()
    unit = _unit_arg(actor)
    counts = units.summary(db.session, actor, unit)
    post = request.args.get("post") if request.args.get("post") in E.POSTS else None
    items, total = vacancies.list_vacancies(db.session, actor, unit=unit, post=post, page=page_arg(),
                                            per_page=PER_PAGE)
    children = db.session.execute(select(Unit.code, Unit.name).where(Unit.parent_code == unit)
                                  .order_by(Unit.code)).all() if len(unit) < 9 else []
    return render_template("workforce/roster.html", counts=counts, items=items, total=total, page=page_arg(),
                           per_page=PER_PAGE, post=post, unit=unit, children=children,
                           can_manage=access.can_manage(actor), own_post=access.post_of(unit), **LABELS)


@bp.route("/roster/people")
@login_required
def people_page():
    actor = current_actor()
    unit = _unit_arg(actor)
    q = (request.args.get("q") or "")[:64]
    rows, total = people.list_people(db.session, actor, unit=unit, q=q, page=page_arg(), per_page=PER_PAGE)
    return render_template("workforce/people.html", items=[people.list_item(p) for p in rows], total=total,
                           page=page_arg(), per_page=PER_PAGE, q=q, unit=unit,
                           names=_names(p.region_code for p in rows), can_manage=access.can_manage(actor),
                           **LABELS)


def _person_form(form) -> tuple[dict, dict]:
    errors: dict = {}
    data = {k: form.get(k, "") for k in ("unit_code", "name", "sex", "id_number", "phone", "qualifications")}
    data["sex"] = data["sex"] or None
    return data, errors


@bp.route("/roster/people/new", methods=["GET", "POST"])
@login_required
def new_person_page():
    """Register a person and, when a date is given, appoint them to the unit's post at once."""
    actor = current_actor()
    access.require_manage(actor)
    form, errors, status = request.form if request.method == "POST" else request.args, {}, 200
    if request.method == "POST":
        data, errors = _person_form(form)
        appointed_on = _date(form, "appointed_on", errors)
        if not errors:
            try:
                person = people.register(db.session, actor, data)
                if appointed_on is not None:
                    appointments.appoint(db.session, actor, {
                        "person_id": person.id, "unit_code": data["unit_code"], "appointed_on": appointed_on,
                        "employment": form.get("employment") or None, "other_post": form.get("other_post", "")})
                db.session.commit()
            except (ValidationFailed, Conflict) as error:
                db.session.rollback()
                errors = error.errors or {"unit_code": [error.detail]}
            else:
                flash(_l("已登记"), "success")
                return redirect(url_for("roster.unit_page", code=data["unit_code"].strip()))
        status = 422
    return render_template("workforce/person_form.html", form=form, errors=errors, **LABELS), status


@bp.route("/roster/people/<int:person_id>", methods=["GET", "POST"])
@login_required
def person_page(person_id: int):
    """The full record (ID number in clear; the read is audited), its appointments, and its correction."""
    actor = current_actor()
    errors, status = {}, 200
    if request.method == "POST":
        data, errors = _person_form(request.form)
        data.pop("unit_code")
        data["version"] = _int(request.form, "version", errors)
        try:
            people.update(db.session, actor, person_id, data)
            db.session.commit()
            flash(_l("已保存"), "success")
            return redirect(url_for("roster.person_page", person_id=person_id))
        except (ValidationFailed, Conflict) as error:
            db.session.rollback()
            errors, status = error.errors or {"version": [error.detail]}, error.status
    person = people.read(db.session, actor, person_id, request.args.get("purpose"))
    record = full(person)
    db.session.commit()
    names = _names([person.region_code, *(a.region_code for a in record["appointments"])])
    return render_template("workforce/person.html", person=record, errors=errors, names=names,
                           form=request.form if errors else record, can_manage=access.can_manage(actor),
                           **LABELS), status


def _unit_view(code: str, errors: dict | None = None, open_form: str = "", status: int = 200):
    actor = current_actor()
    roster = units.unit_roster(db.session, actor, code)
    keeps = access.can_manage(actor) and len(actor.region_code) < len(code)
    coverers = units.eligible_coverers(db.session, code) if keeps else []
    free = []
    if keeps and roster["holder"] is None:
        parent = code[:9] if len(code) == 12 else code[:6]
        free, _ = people.list_people(db.session, actor, unit=parent if parent.startswith(actor.region_code)
                                     else code, current=False, per_page=200)
    names = _names([code[:9], code[:6], *(c.coverer_unit_code for c in roster["covers"]),
                    *(a.region_code for a, _ in coverers)])
    return render_template("workforce/unit.html", roster=roster, errors=errors or {}, open_form=open_form,
                           coverers=coverers, free=free, names=names, can_manage=keeps,
                           form=request.form, **LABELS), status


@bp.route("/roster/units/<code>")
@login_required
def unit_page(code: str):
    return _unit_view(code)


def _act(code: str, form_name: str, action):
    errors: dict = {}
    try:
        action(errors)
        if errors:
            raise ValidationFailed(people.INVALID, errors=errors)
        db.session.commit()
    except (ValidationFailed, Conflict) as error:
        db.session.rollback()
        return _unit_view(code, error.errors or {"form": [error.detail]}, form_name, error.status)
    flash(_l("已保存"), "success")
    return redirect(url_for("roster.unit_page", code=code))


@bp.route("/roster/units/<code>/appoint", methods=["POST"])
@login_required
def appoint(code: str):
    form = request.form

    def run(errors):
        data = {"unit_code": code, "person_id": _int(form, "person_id", errors),
                "employment": form.get("employment") or None, "other_post": form.get("other_post", ""),
                "appointed_on": _date(form, "appointed_on", errors)}
        if not errors:
            appointments.appoint(db.session, current_actor(), data)

    return _act(code, "appoint", run)


@bp.route("/roster/appointments/<int:appointment_id>/end", methods=["POST"])
@login_required
def end_appointment(appointment_id: int):
    row = appointments.get_appointment(db.session, appointment_id)
    form = request.form

    def run(errors):
        data = {"version": _int(form, "version", errors), "left_on": _date(form, "left_on", errors),
                "leave_reason": form.get("leave_reason", ""),
                "cover_person_id": _int(form, "cover_person_id", errors), "cover_note": ""}
        if not errors:
            appointments.end(db.session, current_actor(), appointment_id, data)

    return _act(row.region_code, "end", run)


@bp.route("/roster/units/<code>/cover", methods=["POST"])
@login_required
def start_cover(code: str):
    form = request.form

    def run(errors):
        data = {"unit_code": code, "person_id": _int(form, "person_id", errors),
                "since": _date(form, "since", errors), "until": _date(form, "until", errors),
                "note": form.get("note", "")}
        if not errors:
            covers.start(db.session, current_actor(), data)

    return _act(code, "cover", run)


@bp.route("/roster/covers/<int:cover_id>/end", methods=["POST"])
@login_required
def end_cover(cover_id: int):
    cover = covers.get_cover(db.session, cover_id)
    form = request.form

    def run(errors):
        data = {"version": _int(form, "version", errors), "until": _date(form, "until", errors)}
        if not errors:
            covers.finish(db.session, current_actor(), cover_id, data)

    return _act(cover.region_code, "end_cover", run)


# --- Excel ----------------------------------------------------------------------------------------------

@bp.route("/roster/import", methods=["GET", "POST"])
@login_required
def import_page():
    actor = current_actor()
    error = None
    if request.method == "POST":
        try:
            imp = import_api.start_import(actor, request.files.get("file"))
            return redirect(url_for("roster.import_result", roster_import_id=imp.id))
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, Forbidden):
                raise
            error = exc.detail
    return render_template("workforce/import.html", can_import=access.can_manage(actor), error=error,
                           imp=None), 422 if error else 200


@bp.route("/roster/imports/<int:roster_import_id>")
@login_required
def import_result(roster_import_id: int):
    imp = imports.get_import(db.session, current_actor(), roster_import_id)
    return render_template("workforce/import.html", can_import=True, error=None, imp=imports.summary(imp))


@bp.route("/roster/imports/<int:roster_import_id>/errors.xlsx")
@login_required
def import_errors(roster_import_id: int):
    imp = imports.get_import(db.session, current_actor(), roster_import_id)
    return import_api.xlsx(excel.errors_workbook(imp.errors or []), f"名册导入错误_{imp.id}.xlsx")


@bp.route("/roster/imports/<int:roster_import_id>/confirm", methods=["POST"])
@login_required
def import_confirm(roster_import_id: int):
    try:
        imp = imports.confirm(db.session, current_actor(), roster_import_id)
        db.session.commit()
        if imp.status == "applied":
            flash(_l("已导入 %(n)s 人", n=imp.applied_count), "success")
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound | Forbidden):
            raise
        flash(exc.detail, "error")
    return redirect(url_for("roster.import_result", roster_import_id=roster_import_id))


@bp.route("/roster/import/template.xlsx")
@login_required
def template_download():
    return import_api.xlsx(excel.template_workbook(), "名册导入模板.xlsx")


@bp.route("/roster/export.xlsx")
@login_required
def export():
    actor = current_actor()
    return import_api.export(actor, {"unit": _unit_arg(actor),
                                     "full_ids": request.args.get("full_ids") in ("1", "true", "on")})
