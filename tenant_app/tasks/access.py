"""Loading one task, who may do what with it, and the bookkeeping every step shares (events, versions).

Reading follows the tenant scope: a task is visible to its target unit and every unit above it (anything
else is 404). Writing is narrower: only the target unit's `staff` answers, only the staff of the unit named
by `task.reviewer_code` reviews (403 for any other caller who can see the task). A closed campaign or an
approved task is read-only: both are state conflicts, reported as 409.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm.exc import StaleDataError

from hierarchy.scope import reusable
from tenant_app import clock
from tenant_app.campaigns.models import OPEN_STATUSES, Campaign, Task, TaskEvent
from tenant_app.errors import Conflict, Forbidden, NotFound
from tenant_app.i18n import _l

# A task may be written (draft, submit, census confirmation) only in these states.
EDITABLE = OPEN_STATUSES
STALE = _l("任务已被他人修改，请刷新后重试")
CLOSED = _l("该工作部署已结束，任务只读")


LOADED_CAMPAIGNS = "shouhu_loaded_campaigns"


_GET_TASK = reusable(select(Task, Campaign).join(Campaign, Campaign.id == Task.campaign_id)
                     .where(Task.id == bindparam("task_id"), Campaign.status != "draft"))


def get_task(session, task_id: int) -> tuple[Task, Campaign]:
    """The task and its campaign, under the caller's scope; 404 when not visible."""
    row = session.execute(_GET_TASK, {"task_id": task_id}).first()
    if row is None:
        raise NotFound(_l("任务不存在"))
    # The identity map holds objects weakly: keep the campaign for the rest of the unit of work, so that the
    # answer after a write finds it without reading it again (tenant_app.tasks.services.task_detail).
    session.info.setdefault(LOADED_CAMPAIGNS, {})[row[1].id] = row[1]
    return row[0], row[1]


def loaded_campaign(session, campaign_id: int) -> Campaign:
    """The campaign get_task read in this session, else from the identity map or the database."""
    return session.info.get(LOADED_CAMPAIGNS, {}).get(campaign_id) or session.get(Campaign, campaign_id)


def is_overdue(task: Task, today=None) -> bool:
    """Open and its due date has ended in China Standard Time."""
    return task.status in OPEN_STATUSES and (today or clock.today_cst()) > task.due_on


def can_answer(actor, task: Task) -> bool:
    return getattr(actor, "role", None) == "staff" and actor.region_code == task.region_code


def can_review(actor, task: Task) -> bool:
    return getattr(actor, "role", None) == "staff" and actor.region_code == task.reviewer_code


def is_editable(task: Task, campaign: Campaign) -> bool:
    return campaign.status == "open" and task.status in EDITABLE


def require_answer(actor, task: Task) -> None:
    if not can_answer(actor, task):
        raise Forbidden(_l("只有本单位工作人员可以填报此任务"))


def require_review(actor, task: Task) -> None:
    if not can_review(actor, task):
        raise Forbidden(_l("只有审核单位的工作人员可以审核此任务"))


def require_open_campaign(campaign: Campaign) -> None:
    if campaign.status != "open":
        raise Conflict(CLOSED)


def require_editable(task: Task, campaign: Campaign) -> None:
    require_open_campaign(campaign)
    if task.status == "approved":
        raise Conflict(_l("任务已审核通过，不能再修改"))
    if task.status not in EDITABLE:
        raise Conflict(_l("任务已提交，等待审核"))


def check_version(task: Task, version: int | None) -> None:
    """An optional `version` from the caller: 409 when the task changed since it was read."""
    if version is not None and version != task.version:
        raise Conflict(STALE, current_version=task.version)


def record_event(session, task: Task, actor, kind: str, note: str = "") -> TaskEvent:
    event = TaskEvent(task_id=task.id, region_code=task.region_code, kind=kind, actor_user_id=actor.id,
                      actor_name=(actor.real_name or actor.username or "")[:64], actor_unit_code=actor.region_code,
                      note=note, at=clock.now())
    session.add(event)
    return event


def flush(session) -> None:
    """Flush; a concurrent writer that bumped the task's version first makes this a 409."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(STALE) from None
