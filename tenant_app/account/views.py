"""The page where I change my own password (also where a forced change lands)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user

from tenant_app.account.gate import hold_until_changed
from tenant_app.account.services import change_own_password
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.security import current_actor

bp = Blueprint("account", __name__, template_folder="templates")
bp.before_app_request(hold_until_changed)


@bp.route("/account/password", methods=["GET", "POST"])
def password_page():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    user = current_actor()
    forced = bool(user.must_change_password)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            change_own_password(db.session, user, form.get("current_password") or "",
                                form.get("new_password") or "", form.get("confirm_password") or "")
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = exc.errors or {}, 422
        else:
            db.session.commit()
            # The epoch moved on, ending every other session; this one continues under the new epoch.
            session.clear()
            login_user(user)
            flash(_l("密码已修改"), "success")
            return redirect(url_for("units.home"))
    return render_template("account/password.html", errors=errors, forced=forced), status
