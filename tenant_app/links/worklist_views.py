"""Pages of the worklists: a unit's overview (per village or per child unit, with recomputing and, for a county,
turning a list into verification tasks), a village's lists (50 items a page), and a verification task's items
with the village's answers. Registered on the links blueprint (tenant_app.links.views)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, request, url_for

from tenant_app import clock
from tenant_app.db import db
from tenant_app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.links import enums as E
from tenant_app.links import verification, worklists
from tenant_app.links.views import _render, bp
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

LABELS = {"list_kinds": E.LIST_KINDS, "item_statuses": E.ITEM_STATUSES, "answer_labels": E.ANSWERS,
          "reason_labels": E.REASONS, "list_answers": E.LIST_ANSWERS, "in_school": E.IN_SCHOOL}


@bp.route("/links/worklists")
def worklists_home():
    return redirect(url_for("links.worklists_page", unit_code=current_actor().region_code))


@bp.route("/links/worklists/<unit_code>")
def worklists_page(unit_code: str):
    actor = current_actor()
    worklists.require_reader(actor)
    page = page_arg()
    list_kind = request.args.get("list") or None
    if list_kind not in (None, *E.LIST_KINDS):
        abort(404)
    if len(unit_code) == 12:
        lists = worklists.village_lists(db.session, actor, unit_code, list_kind=list_kind,
                                        answered=request.args.get("answered") == "1", page=page)
        return _render("links/worklist_village.html", lists=lists, page=page, per_page=worklists.PER_PAGE,
                       **LABELS)
    view = worklists.overview(db.session, actor, unit_code, list_kind=list_kind, page=page)
    return _render("links/worklists.html", view=view, list_kind=list_kind, page=page, per_page=worklists.PER_PAGE,
                   can_refresh=worklists.can_refresh(actor) and view["level"] <= 3,
                   can_issue=verification.can_issue(actor) and view["code"] == actor.region_code,
                   default_due=(clock.today_cst() + timedelta(days=14)).isoformat(), **LABELS)


@bp.route("/links/worklists/<unit_code>/refresh", methods=["POST"])
def worklists_refresh(unit_code: str):
    actor = current_actor()
    worklists.request_refresh(db.session, actor, unit_code)
    db.session.commit()
    worklists.enqueue_refresh(unit_code)
    flash(_l("已重新生成核查清单"), "success")
    return redirect(url_for("links.worklists_page", unit_code=unit_code))


@bp.route("/links/worklists/<unit_code>/campaign", methods=["POST"])
def worklists_campaign(unit_code: str):
    actor = current_actor()
    if not verification.can_issue(actor) or unit_code != actor.region_code:
        raise Forbidden(_l("只有县级工作人员可以将核查清单下发为核查任务"))
    try:
        due_on = date.fromisoformat(request.form.get("due_on") or "")
    except ValueError:
        flash(_l("截止日期格式无效"), "error")
        return redirect(url_for("links.worklists_page", unit_code=unit_code))
    try:
        campaign, moved = verification.create_campaign(db.session, actor, list_kind=request.form.get("list_kind", ""),
                                                       due_on=due_on, title=request.form.get("title"))
        campaign_id = campaign.id
        db.session.commit()
        flash(_l("已下发核查任务：%(n)s个核查对象", n=moved), "success")
        return redirect(url_for("campaigns.detail_page", campaign_id=campaign_id))
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("links.worklists_page", unit_code=unit_code))


@bp.route("/links/verification/<int:task_id>")
def verification_page(task_id: int):
    actor = current_actor()
    answered = {"1": True, "0": False}.get(request.args.get("answered", ""))
    data = verification.task_items(db.session, actor, task_id, answered=answered, page=page_arg())
    return _render("links/verification.html", data=data, answered=answered, page=data["page"],
                   per_page=worklists.PER_PAGE, **LABELS)


@bp.route("/links/verification/<int:task_id>/items/<int:worklist_item_id>", methods=["POST"])
def verification_answer(task_id: int, worklist_item_id: int):
    actor = current_actor()
    form = request.form
    body = {"answer": form.get("answer"), "note": form.get("note"), "schooling": form.get("schooling") or None,
            "benefit": form.get("benefit") or None, "hukou_place": form.get("hukou_place") or None}
    try:
        body["version"] = int(form.get("version") or -1)
        item = verification.answer(db.session, actor, worklist_item_id, body)
        if item.task_id != task_id:
            raise NotFound(_l("核查对象不存在"))
        db.session.commit()
        flash(_l("已保存核查结果"), "success")
    except (Conflict, ValidationFailed, ValueError) as exc:
        db.session.rollback()
        message = getattr(exc, "detail", str(exc))
        errors = getattr(exc, "errors", None) or {}
        flash(" ".join([str(message), *(str(m) for ms in errors.values() for m in ms)]), "error")
    except DomainError:
        db.session.rollback()
        raise
    return redirect(url_for("links.verification_page", task_id=task_id, page=request.args.get("page")))
