"""The notification centre page, and the unread count in the navigation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tenant_app.auth.views import is_safe_next
from tenant_app.db import db
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.notifications import services
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

bp = Blueprint("notifications", __name__, template_folder="templates")


@bp.before_request
def _login_first():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.app_context_processor
def _unread_helper():
    def notification_unread_count() -> int:
        if not current_user.is_authenticated:
            return 0
        return services.unread_count(db.session, current_user)

    return {"notification_unread_count": notification_unread_count}


@bp.route("/notifications")
def list_page():
    actor = current_actor()
    page = page_arg()
    rows, total = services.list_notifications(db.session, actor, page=page)
    return render_template("notifications/list.html", rows=rows, total=total, page=page,
                           per_page=services.PER_PAGE, kinds=services.KINDS, link_of=services.link_of,
                           unread=services.unread_count(db.session, actor))


def _back():
    target = request.form.get("next") or ""
    return redirect(target if is_safe_next(target) else (request.referrer or url_for("notifications.list_page")))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def read_action(notification_id: int):
    services.mark_read(db.session, current_actor(), notification_id)
    db.session.commit()
    return _back()


@bp.route("/notifications/read-all", methods=["POST"])
def read_all_action():
    marked = services.mark_all_read(db.session, current_actor())
    db.session.commit()
    flash(_l("已标记 %(n)s 条为已读", n=marked), "success")
    return redirect(url_for("notifications.list_page"))
