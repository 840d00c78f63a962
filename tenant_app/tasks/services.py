"""Tasks for the unit that answers them: the list (one indexed query), one task with its campaign, ancestors'
notes, attachments and timeline, saving a draft and submitting.

Services flush, never commit; the API, the page or the job commits once. `today` defaults to the clock's date
in China Standard Time: a task is overdue once its due date has ended there.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import Date, Integer, and_, bindparam, case, func, select

from hierarchy.codes import ancestors_of, subtree_bounds
from hierarchy.models import Unit
from hierarchy.scope import reusable
from tenant_app import clock
from tenant_app.campaigns.forms import validate_answers
from tenant_app.campaigns.models import (
    OPEN_STATUSES,
    TASK_STATUSES,
    Campaign,
    CampaignAttachment,
    CampaignReceipt,
    Task,
    TaskEvent,
)
from tenant_app.db import fixed_in
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.tasks import access, census

INVALID = _l("任务填报有误")


# --- the list -------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _task_list_statements(review: bool, with_status: bool, open_only: bool, with_campaign: bool,
                          overdue: bool | None) -> tuple:
    """The list's statement and its count's for one combination of filters, built once (building them took
    longer than running them); the values are bound parameters (`tl_*`, see list_tasks)."""
    is_open = fixed_in(Task.status, OPEN_STATUSES)
    late = and_(is_open, Task.due_on < bindparam("tl_today", type_=Date))
    # The page is cut from the tasks alone (every sort key is the task's); only its rows are then joined to
    # their campaign and unit, whose row-level policies cost a function call per joined row.
    query = (select(Task.id, Task.campaign_id, Task.region_code, Task.reviewer_code, Task.due_on, Task.status,
                    Task.submitted_at, Task.reviewed_at, Task.updated_at, Task.return_reason, Task.version,
                    case((is_open, 0), else_=1).label("open_rank"), case((late, 0), else_=1).label("late_rank"),
                    func.count().over().label("total")))
    if review:
        # The reviewer is an ancestor of the task's unit: the range keeps the scan on the region index.
        query = query.where(Task.region_code >= bindparam("tl_lo"), Task.region_code < bindparam("tl_hi"),
                            Task.reviewer_code == bindparam("tl_reviewer"))
    else:
        query = query.where(Task.region_code == bindparam("tl_unit"))
    if with_status:
        query = query.where(Task.status == bindparam("tl_status"))
    if open_only:
        query = query.where(is_open)
    if with_campaign:
        query = query.where(Task.campaign_id == bindparam("tl_campaign"))
    if overdue is not None:
        query = query.where(late if overdue else ~late)
    ranked = (query.order_by(case((is_open, 0), else_=1), case((late, 0), else_=1), Task.due_on, Task.id)
              .limit(bindparam("tl_limit", type_=Integer)).offset(bindparam("tl_offset", type_=Integer))
              .subquery())
    statement = (
        select(ranked, Campaign.title, Campaign.kind, Campaign.status.label("campaign_status"),
               Unit.name.label("unit_name"))
        .join(Campaign, Campaign.id == ranked.c.campaign_id)
        .join(Unit, Unit.code == ranked.c.region_code)
        .where(Campaign.status != "draft")  # never true for a task (tasks exist once published): belt and braces
        .order_by(ranked.c.open_rank, ranked.c.late_rank, ranked.c.due_on, ranked.c.id))
    return reusable(statement), reusable(select(func.count()).select_from(query.subquery()))


def list_tasks(session, actor, *, status: str | None = None, campaign_id: int | None = None,
               overdue: bool | None = None, open_only: bool = False, review: bool = False, page: int = 1,
               per_page: int = 50, today: date | None = None) -> tuple[list[dict], int]:
    """The caller's unit's tasks, or with `review` its review queue (tasks it reviews; submitted ones unless
    `status` says otherwise). Open tasks first, overdue first, then by due date. One query on
    ix_tasks_region_code_status: the total rides along as a window count."""
    if status is not None and status not in TASK_STATUSES:
        raise ValidationFailed(INVALID, errors={"status": [
            _l("取值无效，可选：%(choices)s", choices=", ".join(TASK_STATUSES))]})
    today = today or clock.today_cst()
    code = actor.region_code
    params = {"tl_today": today, "tl_limit": per_page, "tl_offset": (page - 1) * per_page}
    if review:
        params["tl_lo"], params["tl_hi"] = subtree_bounds(code)
        params["tl_reviewer"] = code
        status = status or "submitted"
    else:
        params["tl_unit"] = code
    if status:
        params["tl_status"] = status
    if campaign_id is not None:
        params["tl_campaign"] = campaign_id
    statement, count = _task_list_statements(review, bool(status), open_only, campaign_id is not None, overdue)
    rows = session.execute(statement, params).all()
    if rows:
        total = rows[0].total
    elif page > 1:
        total = session.scalar(count, params)
    else:
        total = 0
    items = [{"id": r.id, "campaign_id": r.campaign_id, "campaign_title": r.title, "campaign_kind": r.kind,
              "campaign_status": r.campaign_status, "unit_code": r.region_code, "unit_name": r.unit_name,
              "reviewer_code": r.reviewer_code, "due_on": r.due_on, "status": r.status, "overdue": r.late_rank == 0,
              "submitted_at": r.submitted_at, "reviewed_at": r.reviewed_at, "updated_at": r.updated_at,
              "return_reason": r.return_reason, "version": r.version} for r in rows]
    return items, total


def review_count(session, actor) -> int:
    """Submitted tasks awaiting the caller's unit's review."""
    lo, hi = subtree_bounds(actor.region_code)
    return session.scalar(
        select(func.count()).select_from(Task).join(Campaign, Campaign.id == Task.campaign_id)
        .where(Task.region_code >= lo, Task.region_code < hi, Task.reviewer_code == actor.region_code,
               Task.status == "submitted", Campaign.status != "draft")) or 0


# --- one task ---------------------------------------------------------------------------------------

def _unit_names(session, codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


def timeline(session, task: Task, campaign: Campaign, also_name: tuple[str, ...] = ()) -> tuple[list[dict], dict]:
    """The campaign's publication (by the issuing unit), then every step of the task, oldest first; with the
    names of the units it mentions and of `also_name`, looked up together."""
    events = session.scalars(select(TaskEvent).where(TaskEvent.task_id == task.id)
                             .order_by(TaskEvent.at, TaskEvent.id)).all()
    names = _unit_names(session, [campaign.issuer_code, *also_name, *(e.actor_unit_code for e in events)])
    issuer = names.get(campaign.issuer_code, campaign.issuer_code)
    steps = [{"kind": "published", "at": census.published_at(campaign), "actor_name": issuer,
              "unit_code": campaign.issuer_code, "unit_name": issuer, "note": ""}]
    steps += [{"kind": e.kind, "at": e.at, "actor_name": e.actor_name, "unit_code": e.actor_unit_code,
               "unit_name": names.get(e.actor_unit_code, e.actor_unit_code or ""), "note": e.note} for e in events]
    return steps, names


def ancestor_notes(session, task: Task) -> list[dict]:
    """Notes the units above the task's unit attached to their receipt of the campaign, top down."""
    rows = session.execute(
        select(CampaignReceipt.region_code, CampaignReceipt.note, CampaignReceipt.note_at, Unit.name)
        .join(Unit, Unit.code == CampaignReceipt.region_code)
        .where(CampaignReceipt.campaign_id == task.campaign_id,
               CampaignReceipt.region_code.in_(ancestors_of(task.region_code)), CampaignReceipt.note != "")
    ).all()
    rows = sorted(rows, key=lambda r: len(r.region_code))
    return [{"unit_code": r.region_code, "unit_name": r.name, "note": r.note, "note_at": r.note_at}
            for r in rows if r.note.strip()]


def attachments(session, campaign_id: int) -> list[dict]:
    rows = session.execute(
        select(CampaignAttachment.id, CampaignAttachment.filename, CampaignAttachment.content_type,
               CampaignAttachment.size).where(CampaignAttachment.campaign_id == campaign_id)
        .order_by(CampaignAttachment.id)).all()
    return [dict(r._mapping) for r in rows]


def task_detail(session, actor, task_id: int, today: date | None = None, *, loaded: Task | None = None) -> dict:
    """The task as its page and the API show it. `loaded`: the task a write in this transaction just changed
    (read before the commit, so the answer costs no second transaction and no second read of the task)."""
    if loaded is not None and loaded.id == task_id:
        task, campaign = loaded, access.loaded_campaign(session, loaded.campaign_id)
    else:
        task, campaign = access.get_task(session, task_id)
    steps, issuer = timeline(session, task, campaign, also_name=(task.region_code,))
    editable = access.is_editable(task, campaign)
    return {
        "id": task.id, "campaign_id": task.campaign_id, "unit_code": task.region_code,
        "unit_name": issuer.get(task.region_code, ""), "reviewer_code": task.reviewer_code,
        "due_on": task.due_on, "status": task.status, "overdue": access.is_overdue(task, today),
        "answers": task.answers or {}, "return_reason": task.return_reason, "submitted_at": task.submitted_at,
        "submitted_by_id": task.submitted_by_id, "reviewed_at": task.reviewed_at,
        "reviewed_by_id": task.reviewed_by_id, "updated_at": task.updated_at, "version": task.version,
        "can_edit": editable and access.can_answer(actor, task),
        "can_review": (campaign.status == "open" and task.status == "submitted"
                       and access.can_review(actor, task)),
        "campaign": {"id": campaign.id, "title": campaign.title, "directive": campaign.directive,
                     "kind": campaign.kind, "template": campaign.template, "status": campaign.status,
                     "questions": campaign.questions or [],
                     "starts_on": campaign.starts_on, "due_on": campaign.due_on,
                     "issuer_code": campaign.issuer_code,
                     "issuer_name": issuer.get(campaign.issuer_code, campaign.issuer_code),
                     "published_at": census.published_at(campaign)},
        "notes": ancestor_notes(session, task),
        "attachments": attachments(session, campaign.id),
        "timeline": steps,
        "census": census.counts(session, task, campaign) if campaign.kind == "census" else None,
    }


# --- answering --------------------------------------------------------------------------------------

def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean(answers: dict) -> dict:
    """Blank answers are not stored: a draft keeps what was actually given."""
    return {k: v for k, v in answers.items() if not _blank(v)}


def save_draft(session, actor, task_id: int, answers, *, version: int | None = None) -> Task:
    """Replace the saved answers (types checked, required ones may be missing). Pending and returned tasks
    become drafts; a returned task keeps its return reason until it is resubmitted."""
    task, campaign = access.get_task(session, task_id)
    access.require_answer(actor, task)
    access.check_version(task, version)
    access.require_editable(task, campaign)
    errors = validate_answers(campaign.questions or [], answers, partial=True)
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    task.answers = _clean(answers)
    task.status = "draft"
    task.updated_at = clock.now()
    access.record_event(session, task, actor, "draft_saved")
    access.flush(session)
    return task


def check_submission(session, task: Task, campaign: Campaign, answers) -> tuple[dict, dict]:
    """The answers as they would be submitted (census counts filled in) and every error against the form;
    writes nothing."""
    if not isinstance(answers, dict):
        return {}, {"answers": [_l("须为对象")]}
    answers = dict(answers)
    questions = campaign.questions or []
    errors: dict = {}
    if campaign.kind == "census":
        figures = census.counts(session, task, campaign)
        keys = {q.get("key") for q in questions}
        for key, figure in census.ANSWER_COUNTS.items():
            if key in keys and _blank(answers.get(key)):
                answers[key] = figures[figure]
        if figures["unconfirmed"]:
            n = figures["unconfirmed"]
            errors["census"] = [_l("还有 %(n)s 名儿童未确认", n=n)]
    if campaign.template == "verification":  # a worklist's items, each answered (tenant_app.links.verification)
        from tenant_app.links.verification import submission_errors

        errors.update(submission_errors(session, task, campaign))
    errors.update(validate_answers(questions, answers, partial=False))
    return answers, errors


def submit(session, actor, task_id: int, answers=None, *, version: int | None = None) -> Task:
    """Submit for review, validated against the whole form; `answers` None submits the saved draft. On any
    error nothing changes. A census task needs every active record confirmed, and its count questions are
    filled from the confirmation when left blank."""
    task, campaign = access.get_task(session, task_id)
    access.require_answer(actor, task)
    access.check_version(task, version)
    access.require_editable(task, campaign)
    if answers is None:
        answers = task.answers or {}
    answers, errors = check_submission(session, task, campaign, answers)
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    now = clock.now()
    task.answers = _clean(answers)
    task.status = "submitted"
    task.submitted_at = now
    task.submitted_by_id = actor.id
    task.return_reason = ""
    task.updated_at = now
    access.record_event(session, task, actor, "submitted")
    access.flush(session)
    return task
