"""Campaign pages: the list (issued / received), the form (builder and templates), the detail (publish with
the fan-out's progress, receipt, close, extend, attachments), the tracking page, and the home-page panel."""

from __future__ import annotations

import io
import json
import re
from datetime import date

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from hierarchy.codes import CODE_LENGTHS, Level
from tenant_app.campaigns import attachments, catalog, exports, lifecycle, reminders, services
from tenant_app.campaigns import progress as tracking
from tenant_app.campaigns.forms import TYPES
from tenant_app.campaigns.models import KINDS
from tenant_app.campaigns.reminder_history import reminder_history
from tenant_app.db import db
from tenant_app.errors import DomainError, NotFound, ValidationFailed
from tenant_app.i18n import _l, _ln
from tenant_app.units.views import page_arg

bp = Blueprint("campaigns", __name__, template_folder="templates")

PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


KIND_NAMES = {"census": "摸底排查", "questionnaire": "问卷调查", "special_action": "专项行动"}
STATUS_NAMES = {"draft": "草稿", "publishing": "下发中", "open": "进行中", "closed": "已结束"}
TYPE_NAMES = {"text": "文字", "integer": "整数", "number": "数字", "yes_no": "是/否", "choice": "单选",
              "multi_choice": "多选", "date": "日期"}
TASK_STATUS_NAMES = {"pending": "未开始", "draft": "草稿", "submitted": "已提交", "approved": "已通过",
                     "returned": "已退回"}


@bp.context_processor
def _names():
    return {"kind_names": KIND_NAMES, "status_names": STATUS_NAMES, "type_names": TYPE_NAMES,
            "task_status_names": TASK_STATUS_NAMES}


@bp.app_template_global()
def campaign_home_panel():
    """The caller's unread reminders and directives awaiting 签收 (for `campaigns/_home.html`)."""
    if not current_user.is_authenticated:
        return None
    return reminders.home_panel(db.session, current_user)


def _date(form, name: str, errors: dict):
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [_l("日期格式无效")]
        return None


def _form_data(form) -> tuple[dict, dict]:
    errors: dict = {}
    data = {key: form.get(key) or None for key in ("title", "directive", "kind", "target_level", "reviewer_level",
                                                    "template")}
    data["starts_on"] = _date(form, "starts_on", errors)
    data["due_on"] = _date(form, "due_on", errors)
    try:
        data["questions"] = json.loads(form.get("questions_json") or "[]")
    except ValueError:
        errors["questions"] = [_l("问题列表格式无效")]
    return data, errors


def _form_page(campaign=None, form=None, errors=None, status=200):
    template_name = request.args.get("template")
    prefill = catalog.get_template(template_name) if template_name else None
    values = dict(form or {})
    if campaign is not None and form is None:
        values = {"title": campaign.title, "directive": campaign.directive, "kind": campaign.kind,
                  "target_level": campaign.target_level, "reviewer_level": campaign.reviewer_level,
                  "starts_on": campaign.starts_on.isoformat(), "due_on": campaign.due_on.isoformat(),
                  "questions_json": json.dumps(campaign.questions, ensure_ascii=False)}
    elif prefill and form is None:
        values = {"title": prefill["title"], "directive": prefill["directive"], "kind": prefill["kind"],
                  "template": template_name, "questions_json": json.dumps(prefill["questions"], ensure_ascii=False)}
    values.setdefault("questions_json", "[]")
    errors = errors or {}
    question_errors = sorted((k, v) for k, v in errors.items() if k.startswith("questions"))
    return render_template("campaigns/form.html", campaign=campaign, form=values, errors=errors,
                           question_errors=question_errors,
                           templates=catalog.listing(), kinds=KINDS, types=TYPES,
                           levels=services.LEVEL_NAMES, my_level=services.actor_level(current_user)), status


@bp.route("/campaigns")
@login_required
def list_page():
    box = request.args.get("box", "issued" if services.can_issue(current_user) else "received")
    box = box if box in services.BOXES else "received"
    rows, total = services.list_campaigns(db.session, current_user, box, page_arg(), PER_PAGE)
    task_counts = ({c.id: c.task_count for c in rows} if box == "issued"
                   else services.subtree_task_counts(db.session, current_user, [c.id for c in rows]))
    return render_template("campaigns/list.html", rows=rows, total=total, box=box, page=page_arg(),
                           task_counts=task_counts,
                           per_page=PER_PAGE, can_issue=services.can_issue(current_user))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def new_page():
    services.require_issue(current_user)
    if request.method == "GET":
        return _form_page()
    data, errors = _form_data(request.form)
    if errors:  # report every field at once, the service's messages too
        errors = {**services.campaign_errors(current_user, data), **errors}
    else:
        try:
            campaign = services.create_campaign(db.session, current_user, data)
            db.session.commit()
            flash(_l("已保存草稿"), "success")
            return redirect(url_for("campaigns.detail_page", campaign_id=campaign.id))
        except ValidationFailed as error:
            db.session.rollback()
            errors = error.errors or {}
    return _form_page(form=request.form, errors=errors, status=422)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit_page(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    services.require_issuer(current_user, campaign)
    if request.method == "GET":
        return _form_page(campaign)
    data, errors = _form_data(request.form)
    data["version"] = request.form.get("version", type=int)
    if not errors:
        try:
            services.update_draft(db.session, current_user, campaign.id, data)
            db.session.commit()
            flash(_l("已保存草稿"), "success")
            return redirect(url_for("campaigns.detail_page", campaign_id=campaign.id))
        except ValidationFailed as error:
            db.session.rollback()
            errors = error.errors or {}
    return _form_page(campaign, form=request.form, errors=errors, status=422)


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def detail_page(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    detail = services.campaign_detail(db.session, current_user, campaign)
    return render_template("campaigns/detail.html", c=detail, campaign=campaign,
                           is_issuer=services.is_issuer(current_user, campaign),
                           can_track=campaign.status != "draft",
                           can_remind=reminders.can_remind(current_user, campaign),
                           reminders_sent=reminder_history(db.session, current_user, campaign_id, 1, 10),
                           levels=services.LEVEL_NAMES, errors={})


@bp.route("/campaigns/<int:campaign_id>/reminders")
@login_required
def reminders_page(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    items, total = reminder_history(db.session, current_user, campaign_id, page_arg(), PER_PAGE)
    return render_template("campaigns/reminders.html", campaign=campaign, items=items, total=total,
                           page=page_arg(), per_page=PER_PAGE)


@bp.route("/campaigns/<int:campaign_id>/status.json")
@login_required
def status_json(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    return jsonify(status=campaign.status, task_count=campaign.task_count, receipt_count=campaign.receipt_count)


def _back(campaign_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("campaigns.detail_page", campaign_id=campaign_id))


def _refused(campaign_id: int, error: DomainError):
    db.session.rollback()
    if isinstance(error, NotFound):
        raise error  # nothing to go back to: the 404 page, as for any id the caller cannot see
    messages = [m for ms in (error.errors or {}).values() for m in ms] or [error.detail]
    for message in messages:
        flash(message, "error")
    return redirect(request.referrer or url_for("campaigns.detail_page", campaign_id=campaign_id))


@bp.route("/campaigns/<int:campaign_id>/publish", methods=["POST"])
@login_required
def publish_action(campaign_id: int):
    try:
        campaign, enqueue = lifecycle.publish(db.session, current_user, campaign_id)
        db.session.commit()
    except (ValidationFailed, DomainError) as error:
        return _refused(campaign_id, error)
    if enqueue:
        lifecycle.enqueue_fanout(campaign.id, campaign.issuer_code)
    return _back(campaign_id, _l("已发布，正在下发"))


@bp.route("/campaigns/<int:campaign_id>/delete", methods=["POST"])
@login_required
def delete_action(campaign_id: int):
    services.delete_draft(db.session, current_user, campaign_id)
    db.session.commit()
    flash(_l("已删除草稿"), "success")
    return redirect(url_for("campaigns.list_page"))


@bp.route("/campaigns/<int:campaign_id>/close", methods=["POST"])
@login_required
def close_action(campaign_id: int):
    try:
        lifecycle.close(db.session, current_user, campaign_id, request.form.get("version", type=int))
        db.session.commit()
    except DomainError as error:
        return _refused(campaign_id, error)
    return _back(campaign_id, _l("工作部署已结束"))


@bp.route("/campaigns/<int:campaign_id>/extend", methods=["POST"])
@login_required
def extend_action(campaign_id: int):
    errors: dict = {}
    new_due = _date(request.form, "due_on", errors)
    try:
        if errors:
            raise ValidationFailed(_l("日期格式无效"), errors=errors)
        lifecycle.extend(db.session, current_user, campaign_id, new_due)
        db.session.commit()
    except DomainError as error:
        return _refused(campaign_id, error)
    return _back(campaign_id, _l("已延期"))


@bp.route("/campaigns/<int:campaign_id>/receipt", methods=["POST"])
@login_required
def receipt_action(campaign_id: int):
    try:
        services.acknowledge(db.session, current_user, campaign_id, request.form.get("note"))
        db.session.commit()
    except DomainError as error:
        return _refused(campaign_id, error)
    return _back(campaign_id, _l("已签收"))


@bp.route("/campaigns/<int:campaign_id>/attachments", methods=["POST"])
@login_required
def attach_action(campaign_id: int):
    upload = request.files.get("file")
    try:
        attachments.add_attachment(db.session, current_user, campaign_id, upload.filename if upload else None,
                                   upload.read(attachments.MAX_BYTES + 1) if upload else None)
        db.session.commit()
    except DomainError as error:
        return _refused(campaign_id, error)
    return _back(campaign_id, _l("已上传附件"))


@bp.route("/campaigns/<int:campaign_id>/attachments/<int:attachment_id>")
@login_required
def attachment_download(campaign_id: int, attachment_id: int):
    a = attachments.get_attachment(db.session, current_user, campaign_id, attachment_id)
    return attachments.download_response(a)


@bp.route("/campaigns/<int:campaign_id>/track")
@login_required
def track_page(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    unit = services.tracked_unit(current_user, campaign, request.args.get("unit"))
    figures = tracking.progress(db.session, campaign, unit)
    overdue, overdue_total = tracking.overdue_list(db.session, campaign, unit, page_arg(), PER_PAGE)
    summary = tracking.answers_summary(db.session, campaign, unit)
    up = unit[:max((n for n in (2, 4, 6, 9) if n < len(unit)), default=0)] or None
    up = up if up and up.startswith(current_user.region_code) and up.startswith(campaign.issuer_code) else None
    task_ids = tracking.task_ids_of(db.session, campaign, [c["code"] for c in figures["children"]])
    return render_template("campaigns/track.html", campaign=campaign, unit=unit, up=up, p=figures, task_ids=task_ids,
                           overdue=overdue, overdue_total=overdue_total, summary=summary, page=page_arg(),
                           per_page=PER_PAGE, campaign_target_length=CODE_LENGTHS[Level(campaign.target_level)],
                           can_remind=reminders.can_remind(current_user, campaign) and campaign.status == "open")


@bp.route("/campaigns/<int:campaign_id>/remind", methods=["POST"])
@login_required
def remind_action(campaign_id: int):
    unit = request.form.get("unit") or None
    subtree = request.form.get("subtree") == "1"
    units = request.form.getlist("units")
    if subtree and not units and unit:
        units = [unit]
    try:
        result = reminders.remind(db.session, current_user, campaign_id, units, subtree,
                                  request.form.get("message") or None)
        db.session.commit()
    except DomainError as error:
        return _refused(campaign_id, error)
    flash(_ln("已催办 %(num)s 个单位", "已催办 %(num)s 个单位", result["notified"]), "success")
    return redirect(url_for("campaigns.track_page", campaign_id=campaign_id, unit=unit))


@bp.route("/campaigns/<int:campaign_id>/export.xlsx")
@login_required
def export_download(campaign_id: int):
    campaign = services.get_campaign(db.session, current_user, campaign_id)
    unit = services.tracked_unit(current_user, campaign, request.args.get("unit"))
    content = exports.export_workbook(db.session, campaign, unit)
    # The title names the file; Flask sends it as RFC 5987 `filename*` (UTF-8) with an ASCII fallback.
    return send_file(io.BytesIO(content), mimetype=XLSX, as_attachment=True,
                     download_name=export_filename(campaign.title, unit))


def export_filename(title: str, unit: str) -> str:
    """`<title>-<unit>.xlsx`, without characters a file system or a header refuses."""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", title).strip(" .")[:80] or "campaign"
    return f"{safe}-{unit}.xlsx"
