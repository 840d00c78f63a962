"""Notifications: written beside the event that causes them (same transaction), read in the centre.

A notification belongs to a unit (`region_code`, its row-level-security owner) and is addressed either to the
whole unit (`user_id` NULL) or to one of its users. A unit-wide notification read by one member is read for
the unit: they share the work it asks for. Reminders to a whole subtree are inserted set-based by
tenant_app.campaigns.reminders; single notifications go through `notify`.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_, select, update

from tenant_app import clock
from tenant_app.campaigns.models import Notification
from tenant_app.errors import NotFound
from tenant_app.i18n import _l

PER_PAGE = 50
NOT_FOUND = _l("未找到该通知")

# kind -> Chinese label (the English is in the message catalog). Kinds fit the column's 16 characters.
KINDS = {
    "reminder": "催办",
    "task_returned": "任务退回",
    "task_approved": "任务通过",
    "transfer_in": "迁入申请",
    "transfer_done": "迁移结果",
    "case_overdue": "案件逾期督办",
    "roster_vacant": "岗位空缺",
    "roster_cover": "代管安排",
}


def notify(session, region_code: str, kind: str, title: str, *, link: str = "", message: str = "",
           user_id: int | None = None, campaign_id: int | None = None, task_id: int | None = None,
           sender=None) -> Notification:
    """One notification to a unit (or one of its users); the caller's transaction commits it."""
    row = Notification(region_code=region_code, kind=kind, title=title[:200], link=link[:300], message=message,
                       user_id=user_id, campaign_id=campaign_id, task_id=task_id,
                       sender_code=sender.region_code if sender is not None else None,
                       sender_name=(sender.real_name or sender.username) if sender is not None else "",
                       created_at=clock.now())
    session.add(row)
    return row


def _mine(actor):
    return (Notification.region_code == actor.region_code,
            or_(Notification.user_id.is_(None), Notification.user_id == actor.id))


def list_notifications(session, actor, *, unread_only: bool = False, page: int = 1, per_page: int = PER_PAGE):
    """My notifications: unread first, then newest first."""
    query = select(Notification).where(*_mine(actor))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    unread_first = case((Notification.read_at.is_(None), 0), else_=1)
    rows = session.scalars(query.order_by(unread_first, Notification.created_at.desc(), Notification.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def unread_count(session, actor) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(*_mine(actor), Notification.read_at.is_(None))) or 0


def mark_read(session, actor, notification_id: int) -> Notification:
    row = session.execute(select(Notification).where(Notification.id == notification_id, *_mine(actor))
                          ).scalar_one_or_none()
    if row is None:
        raise NotFound(NOT_FOUND)
    if row.read_at is None:
        row.read_at = clock.now()
        session.flush()
    return row


def mark_all_read(session, actor) -> int:
    """One UPDATE over my unread notifications; returns how many it marked."""
    result = session.execute(update(Notification).where(*_mine(actor), Notification.read_at.is_(None))
                             .values(read_at=clock.now()).execution_options(synchronize_session=False))
    return result.rowcount or 0


def link_of(row: Notification) -> str:
    """Where a notification leads: its own link, else its task, else its campaign."""
    if row.link:
        return row.link
    if row.task_id:
        return f"/tasks/{row.task_id}"
    if row.campaign_id:
        return f"/campaigns/{row.campaign_id}"
    return ""
