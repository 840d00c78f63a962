"""Visit pages: record a home visit (走访) for a child, the child's visits, and the due/overdue list."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tenant_app.children import services as children
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.units.views import page_arg
from tenant_app.visits import services
from tenant_app.visits.models import ASSESSMENTS, MET, RISK_LEVELS

bp = Blueprint("visits", __name__, template_folder="templates")

PER_PAGE = 50
DUE_STATUSES = ("overdue", "due_soon", "all")


def _form_data(form) -> tuple[dict, dict]:
    """Visit fields from a posted form; a malformed date is a field error here, the rest is the service's."""
    errors: dict = {}
    data = {
        "findings": form.get("findings", ""),
        "follow_up": form.get("follow_up", ""),
        "visitor_name": form.get("visitor_name", ""),
        "met": form.getlist("met"),
        "guardianship_assessment": form.get("guardianship_assessment") or None,
        "risk_level": form.get("risk_level") or None,
    }
    raw = form.get("visited_on", "").strip()
    try:
        data["visited_on"] = date.fromisoformat(raw) if raw else None
    except ValueError:
        errors["visited_on"] = [_l("日期格式无效")]
    return data, errors


@bp.route("/children/<int:child_id>/visits", methods=["GET", "POST"])
@login_required
def child_visits(child_id: int):
    child = children.get_child(db.session, child_id)  # 404 outside the subtree
    errors: dict = {}
    form = request.form if request.method == "POST" else {}
    status = 200
    if request.method == "POST":
        services.require_record(current_user)
        data, errors = _form_data(request.form)
        if not errors:
            try:
                services.record_visit(db.session, current_user, child.id, data)
                db.session.commit()
                flash(_l("已登记走访"), "success")
                return redirect(url_for("visits.child_visits", child_id=child.id))
            except ValidationFailed as error:
                db.session.rollback()
                errors = error.errors or {}
        status = 422
    visits, total = services.list_visits(db.session, current_user, child.id, page=page_arg(), per_page=PER_PAGE)
    return render_template("visits/child.html", child=child, visits=visits, total=total, page=page_arg(),
                           per_page=PER_PAGE, errors=errors, form=form, met_choices=MET,
                           assessments=ASSESSMENTS, risk_levels=RISK_LEVELS,
                           can_record=services.can_record(current_user),
                           today=services.today_cst().isoformat()), status


@bp.route("/visits/due")
@login_required
def due_page():
    status = request.args.get("status", "overdue")
    if status not in DUE_STATUSES:
        status = "overdue"
    unit = request.args.get("unit") or None
    items, total = services.due_visits(db.session, current_user, unit=unit, status=status, page=page_arg(),
                                       per_page=PER_PAGE)
    return render_template("visits/due.html", items=items, total=total, status=status, statuses=DUE_STATUSES,
                           page=page_arg(), per_page=PER_PAGE, unit=unit or current_user.region_code)
