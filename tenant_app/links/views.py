"""Pages of the horizontal links: rolls (upload, versions), a version (dry run, confirmation, progress,
results) and the grey band's review."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tenant_app import clock
from tenant_app.db import db
from tenant_app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l
from tenant_app.links import api, review, rolls
from tenant_app.links import enums as E
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

bp = Blueprint("links", __name__, template_folder="templates")
PER_PAGE = 20
LABELS = {"dept_kinds": E.DEPT_KINDS, "roll_kinds": E.ROLL_KINDS, "upload_statuses": E.UPLOAD_STATUSES,
          "run_statuses": E.RUN_STATUSES, "match_statuses": {**E.MATCH_STATUSES, "unmatched": _l("未匹配")},
          "methods": E.METHODS}


@bp.before_request
def _require_login():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()


def _render(template: str, http_status: int = 200, **context):
    return render_template(template, cst=clock.cst_text, **LABELS, **context), http_status


@bp.route("/rolls", methods=["GET", "POST"])
def rolls_page():
    actor = current_actor()
    rolls.require_reader(actor)
    error = None
    if request.method == "POST":
        try:
            up = api.start_upload(actor, request.form.get("roll_kind", ""), request.files.get("file"))
            return redirect(url_for("links.upload_page", upload_id=up.id))
        except DomainError as exc:
            db.session.rollback()
            error = exc.detail
    page = page_arg()
    items, total = rolls.list_uploads(db.session, actor, page=page, per_page=PER_PAGE)
    kinds = E.DEPT_ROLLS.get(actor.org_kind, ()) if actor.is_department else ()
    return _render("links/rolls.html", 422 if error else 200, items=items, total=total, page=page,
                   per_page=PER_PAGE, kinds=kinds, error=error, can_review=_can_review(actor))


def _can_review(actor) -> bool:
    try:
        review.require_reviewer(actor)
    except DomainError:
        return False
    return True


@bp.route("/rolls/<int:upload_id>")
def upload_page(upload_id: int):
    actor = current_actor()
    up = rolls.get_upload(db.session, actor, upload_id)
    status = request.args.get("status") or None
    if status not in (None, *rolls.RESULT_STATUSES):
        abort(404)
    page = page_arg()
    items, total = rolls.results(db.session, actor, up.id, status=status, page=page, per_page=PER_PAGE)
    return _render("links/upload.html", up=up, run=rolls.latest_run(db.session, up.id), items=items, total=total,
                   page=page, per_page=PER_PAGE, status=status, result_statuses=rolls.RESULT_STATUSES)


@bp.route("/rolls/<int:upload_id>/errors.xlsx")
def upload_errors(upload_id: int):
    return api.errors_sheet(rolls.get_upload(db.session, current_actor(), upload_id))


@bp.route("/rolls/<int:upload_id>/confirm", methods=["POST"])
def upload_confirm(upload_id: int):
    actor = current_actor()
    rolls.require_department(actor)
    rolls.get_upload(db.session, actor, upload_id)  # not found, or not the caller's: the error page
    try:
        api.confirm_upload(actor, upload_id, int(request.form.get("version") or -1))
        flash(_l("已确认，正在匹配"), "success")
    except (Conflict, ValidationFailed, ValueError) as exc:
        db.session.rollback()
        flash(getattr(exc, "detail", str(exc)), "error")
    return redirect(url_for("links.upload_page", upload_id=upload_id))


@bp.route("/rolls/review", methods=["GET", "POST"])
def review_page():
    actor = current_actor()
    if request.method == "POST":
        if not review.can_decide(actor):
            raise Forbidden(_l("只有县级工作人员可以确认或否决匹配"))
        try:
            match = review.decide(db.session, actor, int(request.form.get("match_id") or 0),
                                  request.form.get("decision", ""), int(request.form.get("version") or -1))
            db.session.commit()
            review.after_commit(match)
            flash(_l("已处理"), "success")
        except (Conflict, ValidationFailed, NotFound, ValueError) as exc:
            db.session.rollback()
            flash(getattr(exc, "detail", str(exc)), "error")
        return redirect(url_for("links.review_page", status=request.args.get("status"), page=request.args.get("page")))
    status = request.args.get("status") or "grey"
    if status not in E.MATCH_STATUSES:
        abort(404)
    page = page_arg()
    items, total = review.grey_queue(db.session, actor, status=status, page=page, per_page=PER_PAGE)
    return _render("links/review.html", items=items, total=total, page=page, per_page=PER_PAGE, status=status,
                   can_decide=review.can_decide(actor))
from tenant_app.links import worklist_views  # noqa: E402,F401  (routes on this blueprint)
