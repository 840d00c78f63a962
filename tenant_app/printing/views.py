"""Printable child file and task answer. Printing a child file is a full read: it leaves an audit row."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.children import services as children
from tenant_app.children.views import ACTIONS, LABELS, SECTIONS, local_time, shown
from tenant_app.db import db
from tenant_app.extensions import login_manager
from tenant_app.security import current_actor
from tenant_app.tasks import services as tasks
from tenant_app.visits.models import Visit

bp = Blueprint("printing", __name__, template_folder="templates")

PRINT_PURPOSE = "打印档案 / print record"
MAX_VISITS = 200  # a file's visits on paper; a child has a few a year


@bp.before_request
def _login_first():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _names(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.real_name or u.username for u in session.scalars(select(User).where(User.id.in_(ids)))}


@bp.route("/children/<int:child_id>/print")
def child_file(child_id: int):
    session = db.session
    actor = current_actor()
    child = children.get_child_for_read(session, actor, child_id, PRINT_PURPOSE)
    changes = children.history(session, actor, child_id)
    session.commit()
    visits = session.scalars(select(Visit).where(Visit.child_id == child.id)
                             .order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(MAX_VISITS)).all()
    names = _names(session, [c["changed_by_id"] for c in changes])
    return render_template("printing/child.html", child=child, unit=session.get(Unit, child.region_code),
                           sections=SECTIONS, history=changes, names=names, labels=LABELS, actions=ACTIONS,
                           shown=shown, local_time=local_time, visits=visits, printed_at=clock.now())


@bp.route("/tasks/<int:task_id>/print")
def task_answer(task_id: int):
    detail = tasks.task_detail(db.session, current_actor(), task_id)
    return render_template("printing/task.html", task=detail, printed_at=clock.now())
