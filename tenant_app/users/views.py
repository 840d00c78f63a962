"""User management pages, for administrators of a unit (who manage the users of its subtree)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app.auth.models import PARTNER_KINDS, ROLES
from tenant_app.auth.views import is_safe_next
from tenant_app.cases.enums import REPORTER_KINDS
from tenant_app.db import db
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.links.enums import DEPT_KINDS
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg
from tenant_app.users.services import (
    ROLE_RANK,
    create_user,
    disable_user,
    enable_user,
    get_managed_user,
    list_users,
    require_admin,
    reset_password,
)

bp = Blueprint("users", __name__, template_folder="templates")

PER_PAGE = 50
FORM_FIELDS = ("username", "real_name", "phone", "role", "unit_code", "org_kind", "org_name")


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    require_admin(current_user)  # Forbidden -> the 403 page
    return None


def _back_to_list():
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("users.list_page"))


def _grantable_roles() -> list[str]:
    # Partners belong to a township or county: a village's admin has none to attach them to.
    # Partner departments belong to a county, city or province.
    village = len(current_user.region_code) == 12
    below_county = len(current_user.region_code) > 6
    return [r for r in ROLES if ROLE_RANK[r] <= ROLE_RANK[current_user.role] and not (village and r == "reporter")
            and not (below_county and r == "department")]


@bp.route("/users")
def list_page():
    session = db.session
    unit_code = (request.args.get("unit") or "").strip()
    page = page_arg()
    filter_error = None
    try:
        users, total = list_users(session, current_actor(), unit_code or None, page=page, per_page=PER_PAGE)
    except NotFound:
        filter_error = _l("单位不在管辖范围内")
        users, total = [], 0
    codes = {u.region_code for u in users}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))} if codes else {}
    return render_template(
        "users/list.html", users=users, total=total, page=page, per_page=PER_PAGE, unit_code=unit_code,
        units=units, filter_error=filter_error,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_page():
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        data = {field: request.form.get(field, "") for field in FORM_FIELDS}
        data["password"] = request.form.get("password", "")
        try:
            user = create_user(db.session, current_actor(), data)
        except ValidationFailed as exc:
            errors = exc.errors or {"_form": [exc.detail]}
            status = 422
        else:
            db.session.commit()
            flash(_l("已创建用户"), "success")
            return redirect(url_for("users.list_page", unit=user.region_code))
        values = data
    else:
        values = {"role": "staff", "unit_code": request.args.get("unit") or current_user.region_code}
    body = render_template("users/new.html", values=values, errors=errors, roles=_grantable_roles(),
                           org_kinds={**{kind: REPORTER_KINDS[kind] for kind in PARTNER_KINDS}, **DEPT_KINDS})
    return body, status


def _user_action(action, user_id: int, message: str):
    try:
        action(db.session, current_actor(), user_id)
    except (Conflict, Forbidden) as exc:
        db.session.rollback()
        flash(exc.detail, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return _back_to_list()


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
def disable(user_id: int):
    return _user_action(disable_user, user_id, _l("已停用用户"))


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
def enable(user_id: int):
    return _user_action(enable_user, user_id, _l("已启用用户"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def password_page(user_id: int):
    session = db.session
    user = get_managed_user(session, current_actor(), user_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            reset_password(session, current_actor(), user_id, request.form.get("password", ""))
        except ValidationFailed as exc:
            errors = exc.errors or {"password": [exc.detail]}
            status = 422
        else:
            session.commit()
            flash(_l("密码已重置"), "success")
            if user_id == current_user.id:  # one's own sessions end with a new password
                return redirect(url_for("auth.login"))
            return redirect(url_for("users.list_page", unit=user.region_code))
    return render_template("users/password.html", user=user, errors=errors), status
