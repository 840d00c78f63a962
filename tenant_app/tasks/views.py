"""Task pages: my tasks, one task (answer, draft, submit; approve or return for the reviewer), a census
task's child records, the review queue; the home-page panel and the navigation links."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from hierarchy.codes import Level, level_of
from tenant_app import clock
from tenant_app.campaigns import attachments
from tenant_app.campaigns.forms import coerce_form_value, validate_answers
from tenant_app.campaigns.models import CampaignAttachment
from tenant_app.db import db
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.tasks import access, census, review, services
from tenant_app.units.views import page_arg

bp = Blueprint("tasks", __name__, template_folder="templates")

PER_PAGE = 50
HOME_LIMIT = 10
LIST_TABS = ("open", "submitted", "approved", "all")
STATUS_LABELS = {"pending": "未开始", "draft": "草稿", "submitted": "已提交", "approved": "已通过",
                 "returned": "已退回"}
KIND_LABELS = {"census": "摸底排查", "questionnaire": "问卷调查", "special_action": "专项行动"}
STEP_LABELS = {"published": "已发布", "draft_saved": "已保存草稿", "submitted": "已提交", "approved": "已审核通过",
               "returned": "已退回", "reminded": "已催办", "extended": "已延期", "reopened": "已重新打开"}


def reviews_tasks(user) -> bool:
    """Any unit above the village level may be a campaign's reviewer."""
    return level_of(user.region_code) < Level.village


@bp.app_template_filter("task_time")
def task_time(value) -> str:
    """A timestamp as China Standard Time, to the minute."""
    return value.astimezone(clock.CST).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.app_template_global()
def task_labels() -> dict:
    return {"status": STATUS_LABELS, "kind": KIND_LABELS, "step": STEP_LABELS}


@bp.app_template_global()
def tasks_home_panel() -> dict:
    """The caller's unit's open tasks (overdue first) and, for units that review, how many await review."""
    if not current_user.is_authenticated:
        return {"tasks": [], "total": 0, "review_count": None}
    session = db.session
    items, total = services.list_tasks(session, current_user, open_only=True, per_page=HOME_LIMIT)
    count = services.review_count(session, current_user) if reviews_tasks(current_user) else None
    return {"tasks": items, "total": total, "review_count": count}


@bp.app_template_global()
def tasks_nav() -> dict:
    return {"review": current_user.is_authenticated and reviews_tasks(current_user)}


@bp.route("/tasks")
@login_required
def list_page():
    tab = request.args.get("tab", "open")
    tab = tab if tab in LIST_TABS else "open"
    overdue = request.args.get("overdue") == "1"
    filters = {"open_only": tab == "open", "status": tab if tab in ("submitted", "approved") else None,
               "overdue": True if overdue else None}
    items, total = services.list_tasks(db.session, current_user, page=page_arg(), per_page=PER_PAGE, **filters)
    return render_template("tasks/list.html", items=items, total=total, tab=tab, tabs=LIST_TABS,
                           overdue=overdue, page=page_arg(), per_page=PER_PAGE)


@bp.route("/tasks/review")
@login_required
def review_page():
    status = request.args.get("status", "submitted")
    status = status if status in ("submitted", "approved", "returned") else "submitted"
    items, total = services.list_tasks(db.session, current_user, review=True, status=status, page=page_arg(),
                                       per_page=PER_PAGE)
    return render_template("tasks/review.html", items=items, total=total, status=status, page=page_arg(),
                           per_page=PER_PAGE)


def _form_answers(questions: list[dict], form) -> tuple[dict, dict, dict]:
    """Answers from a posted page form: (answers, field errors from coercion, raw values to show again)."""
    answers: dict = {}
    errors: dict = {}
    raw: dict = {}
    for q in questions:
        name = f"q_{q['key']}"
        value = form.getlist(name) if q["type"] == "multi_choice" else form.get(name)
        raw[q["key"]] = value
        coerced, message = coerce_form_value(q, value)
        if message:
            errors[q["key"]] = [message]
        elif coerced not in (None, []):
            answers[q["key"]] = coerced
    return answers, errors, raw


def _version_arg(form) -> int | None:
    try:
        return int(form.get("version", ""))
    except ValueError:
        return None


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id: int):
    session = db.session
    detail = services.task_detail(session, current_user, task_id)
    errors: dict = {}
    values = dict(detail["answers"])
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "draft")
        access.require_answer(current_user, access.get_task(session, task_id)[0])
        answers, errors, raw = _form_answers(detail["campaign"]["questions"], request.form)
        values = raw
        if not errors:
            try:
                if action == "submit":
                    services.submit(session, current_user, task_id, answers, version=_version_arg(request.form))
                    message = _l("已提交，等待审核")
                else:
                    services.save_draft(session, current_user, task_id, answers,
                                        version=_version_arg(request.form))
                    message = _l("草稿已保存")
                session.commit()
                flash(message, "success")
                return redirect(url_for("tasks.task_page", task_id=task_id))
            except ValidationFailed as error:
                session.rollback()
                errors = error.errors or {}
            except Conflict as error:
                session.rollback()
                flash(error.detail, "error")
                return redirect(url_for("tasks.task_page", task_id=task_id))
        else:
            # A value the form could not read (e.g. words in a number field) is shown with whatever else is
            # wrong with the rest, so one round trip shows every problem.
            task, campaign = access.get_task(session, task_id)
            if action == "submit":
                others = services.check_submission(session, task, campaign, answers)[1]
            else:
                others = validate_answers(campaign.questions or [], answers, partial=True)
            errors = {**others, **errors}
        status = 422
        detail = services.task_detail(session, current_user, task_id)
    return render_template("tasks/task.html", task=detail, errors=errors, values=values,
                           posted=request.method == "POST"), status


@bp.route("/tasks/<int:task_id>/approve", methods=["POST"])
@login_required
def approve(task_id: int):
    try:
        review.approve(db.session, current_user, task_id, version=_version_arg(request.form))
        db.session.commit()
        flash(_l("已审核通过"), "success")
    except Conflict as error:
        db.session.rollback()
        flash(error.detail, "error")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/return", methods=["POST"])
@login_required
def return_task(task_id: int):
    try:
        review.return_task(db.session, current_user, task_id, request.form.get("reason", ""),
                           version=_version_arg(request.form))
        db.session.commit()
        flash(_l("已退回"), "success")
    except ValidationFailed as error:
        db.session.rollback()
        detail = services.task_detail(db.session, current_user, task_id)
        return render_template("tasks/task.html", task=detail, errors={}, values=dict(detail["answers"]),
                               review_errors=error.errors or {}, reason=request.form.get("reason", ""),
                               posted=False), 422
    except Conflict as error:
        db.session.rollback()
        flash(error.detail, "error")
    return redirect(url_for("tasks.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/census")
@login_required
def census_page(task_id: int):
    confirmed = {"yes": True, "no": False}.get(request.args.get("confirmed", ""))
    q = request.args.get("q") or None
    items, total, counts = census.list_children(db.session, current_user, task_id, confirmed=confirmed, q=q,
                                                page=page_arg(), per_page=PER_PAGE)
    task, campaign = access.get_task(db.session, task_id)
    return render_template("tasks/census.html", task=task, campaign=campaign, items=items, total=total,
                           counts=counts, confirmed=request.args.get("confirmed", ""), q=q or "",
                           page=page_arg(), per_page=PER_PAGE)


@bp.route("/tasks/<int:task_id>/census/confirm-unchanged", methods=["POST"])
@login_required
def census_confirm_unchanged(task_id: int):
    try:
        result = census.confirm_unchanged(db.session, current_user, task_id)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        flash(error.detail, "error")
    else:
        n = result["confirmed_now"]
        flash(_l("已一次确认 %(n)s 名未变更的儿童", n=n), "success")
    return redirect(url_for("tasks.census_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/census/<int:child_id>", methods=["POST"])
@login_required
def census_check(task_id: int, child_id: int):
    try:
        if request.form.get("action") == "unconfirm":
            census.unconfirm(db.session, current_user, task_id, child_id)
        else:
            census.confirm(db.session, current_user, task_id, child_id)
        db.session.commit()
    except Conflict as error:
        db.session.rollback()
        flash(error.detail, "error")
    back = request.form.get("next") or ""
    if not back.startswith(f"/tasks/{task_id}/census"):
        back = url_for("tasks.census_page", task_id=task_id)
    return redirect(back)


@bp.route("/tasks/<int:task_id>/attachments/<int:attachment_id>")
@login_required
def attachment(task_id: int, attachment_id: int):
    """Download one of the campaign's attachments (readable wherever the task is)."""
    task, campaign = access.get_task(db.session, task_id)
    row = db.session.execute(select(CampaignAttachment).where(
        CampaignAttachment.id == attachment_id, CampaignAttachment.campaign_id == campaign.id)).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("附件不存在"))
    return attachments.download_response(row)
