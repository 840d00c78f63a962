"""Transfers between villages as pages (the rules are tenant_app.children.transfers')."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hierarchy.codes import Level, level_of
from tenant_app.children import services as children
from tenant_app.children import transfers
from tenant_app.db import db
from tenant_app.errors import Conflict, DomainError, NotFound, ValidationFailed
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.security import current_actor

bp = Blueprint("transfers", __name__, template_folder="templates")

STATUS_NAMES = {"requested": "待处理", "accepted": "已接收", "rejected": "已拒绝", "cancelled": "已撤回"}


@bp.before_request
def _login_first():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


@bp.route("/transfers")
def list_page():
    actor = current_actor()
    session = db.session
    return render_template("transfers/list.html",
                           incoming=transfers.list_transfers(session, actor, "incoming"),
                           outgoing=transfers.list_transfers(session, actor, "outgoing"),
                           statuses=STATUS_NAMES,
                           can_decide=actor.role == "staff" and level_of(actor.region_code) == Level.village)


@bp.route("/children/<int:child_id>/transfer", methods=["GET", "POST"])
def request_page(child_id: int):
    actor = current_actor()
    session = db.session
    child = children.get_child(session, child_id)
    transfers._require_village_staff(actor)  # noqa: SLF001 - the service's own rule, checked before the form
    errors: dict = {}
    values = {"to_village": "", "reason": ""}
    if request.method == "POST":
        values = {"to_village": (request.form.get("to_village") or "").strip(),
                  "reason": (request.form.get("reason") or "").strip()}
        try:
            transfers.request_transfer(session, actor, child_id, values["to_village"], values["reason"])
        except ValidationFailed as exc:
            session.rollback()
            errors = exc.errors or {"_form": [exc.detail]}
        except Conflict as exc:
            session.rollback()
            errors = {"_form": [exc.detail]}
        else:
            session.commit()
            flash(_l("已提交迁移申请"), "success")
            return redirect(url_for("transfers.list_page"))
    return render_template("transfers/request.html", child=child, values=values, errors=errors), (
        422 if errors else 200)


@bp.route("/transfers/<int:transfer_id>/<any(accept, reject, cancel):action>", methods=["POST"])
def decide_action(transfer_id: int, action: str):
    do = {"accept": transfers.accept_transfer, "reject": transfers.reject_transfer,
          "cancel": transfers.cancel_transfer}[action]
    try:
        do(db.session, current_actor(), transfer_id)
        db.session.commit()
    except NotFound:
        db.session.rollback()
        raise
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
    else:
        flash({"accept": _l("已接收"), "reject": _l("已拒绝"), "cancel": _l("已撤回")}[action],
              "success")
    return redirect(url_for("transfers.list_page"))
