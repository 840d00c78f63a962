"""Review by the unit named in `task.reviewer_code` (usually the township's supervisor): approve, or return
to the village with a reason. Services flush; the caller commits."""

from __future__ import annotations

from tenant_app import clock
from tenant_app.campaigns.models import Campaign, Task
from tenant_app.errors import Conflict, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.notifications.services import notify
from tenant_app.tasks import access

MAX_REASON = 500


def _reviewable(session, actor, task_id: int, version: int | None) -> Task:
    task, campaign = access.get_task(session, task_id)
    access.require_review(actor, task)
    access.check_version(task, version)
    access.require_open_campaign(campaign)
    if task.status != "submitted":
        raise Conflict(_l("只有已提交的任务可以审核"))
    return task


def _tell_unit(session, actor, task: Task, kind: str, what: str, message: str = "") -> None:
    """The task's unit hears of the decision in its notification centre."""
    campaign = session.get(Campaign, task.campaign_id)
    notify(session, task.region_code, kind, f"{what}：{campaign.title}", link=f"/tasks/{task.id}", message=message,
           campaign_id=campaign.id, task_id=task.id, sender=actor)


def approve(session, actor, task_id: int, *, version: int | None = None) -> Task:
    task = _reviewable(session, actor, task_id, version)
    now = clock.now()
    task.status = "approved"
    task.reviewed_at = now
    task.reviewed_by_id = actor.id
    task.updated_at = now
    access.record_event(session, task, actor, "approved")
    _tell_unit(session, actor, task, "task_approved", "任务已通过")
    access.flush(session)
    return task


def return_task(session, actor, task_id: int, reason, *, version: int | None = None) -> Task:
    """Send the task back to its unit; the reason stays on the task until it is resubmitted, and in the
    timeline for good."""
    task = _reviewable(session, actor, task_id, version)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed(_l("须填写退回原因"),
                               errors={"reason": [_l("此项必填")]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_l("退回原因过长"),
                               errors={"reason": [_l("最多 %(n)s 字", n=MAX_REASON)]})
    now = clock.now()
    task.status = "returned"
    task.return_reason = reason
    task.reviewed_at = now
    task.reviewed_by_id = actor.id
    task.updated_at = now
    access.record_event(session, task, actor, "returned", reason)
    _tell_unit(session, actor, task, "task_returned", "任务被退回", reason)
    access.flush(session)
    return task
