"""Reminders (催办) and the notifications they leave on the receivers' home pages.

A reminder goes to chosen units (one notification each) or, with `subtree`, to every target unit under the
chosen units whose task is not completed (set-based). Each reminded task gets a `reminded` timeline step.
Staff of any unit from the issuer down to the reviewer level may remind within their own subtree.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, cast, insert, literal, or_, select

from hierarchy.codes import CODE_LENGTHS, Level, is_valid_code, level_of
from hierarchy.models import Unit, UTCDateTime
from tenant_app import clock
from tenant_app.campaigns.models import OPEN_STATUSES, Campaign, CampaignReceipt, Notification, Task, TaskEvent
from tenant_app.campaigns.services import get_campaign
from tenant_app.errors import Conflict, Forbidden, ValidationFailed
from tenant_app.i18n import _l

INVALID = _l("催办有误")
MAX_UNITS = 500
MAX_MESSAGE = 500
NO_UNITS = _l("请选择单位")
TOO_MANY_UNITS = _l("最多 %(n)s 个", n=MAX_UNITS)
MESSAGE_TOO_LONG = _l("不超过%(n)s字", n=MAX_MESSAGE)


def can_remind(actor, campaign: Campaign) -> bool:
    code = actor.region_code
    return (actor.role == "staff" and code.startswith(campaign.issuer_code)
            and int(level_of(code)) <= campaign.reviewer_level)


def default_message(campaign: Campaign) -> str:
    return f"请尽快完成「{campaign.title}」（截止 {campaign.due_on.isoformat()}）"


def _check_units(session, actor, campaign: Campaign, units, subtree: bool) -> list[str]:
    if not isinstance(units, list) or not units:
        raise ValidationFailed(INVALID, errors={"units": [NO_UNITS]})
    if len(units) > MAX_UNITS:
        raise ValidationFailed(INVALID, errors={"units": [TOO_MANY_UNITS]})
    codes = list(dict.fromkeys(u.strip() for u in units if isinstance(u, str)))
    target_length = CODE_LENGTHS[Level(campaign.target_level)]
    bad = [c for c in codes if not is_valid_code(c) or not c.startswith(actor.region_code)
           or not c.startswith(campaign.issuer_code) or len(c) > target_length
           or (c == actor.region_code and not subtree)]
    known = set(session.scalars(select(Unit.code).where(Unit.code.in_(codes), Unit.retired.is_(False))))
    bad += [c for c in codes if c not in known and c not in bad]
    if bad or len(codes) != len(units):
        raise ValidationFailed(INVALID, errors={"units": [
            _l("不在本单位管辖或该工作部署范围内：%(codes)s", codes=", ".join(bad or ["?"]))]})
    return codes


def remind(session, actor, campaign_id: int, units, subtree: bool = False, message: str | None = None) -> dict:
    campaign = get_campaign(session, actor, campaign_id)
    if not can_remind(actor, campaign):
        raise Forbidden(_l("无权催办"))
    if campaign.status != "open":
        raise Conflict(_l("只有进行中的工作部署可以催办"))
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE):
        raise ValidationFailed(INVALID, errors={"message": [MESSAGE_TOO_LONG]})
    codes = _check_units(session, actor, campaign, units, subtree)
    text = (message or "").strip() or default_message(campaign)
    now = clock.now()
    sender = actor.real_name or actor.username
    title = f"催办：{campaign.title}"[:200]
    target_length = CODE_LENGTHS[Level(campaign.target_level)]
    open_tasks = [Task.campaign_id == campaign.id, Task.status.in_(OPEN_STATUSES)]
    if subtree:
        reached = or_(*(Task.region_code.between(c, c + ":") for c in codes))
        # Counted from RETURNING: the driver's rowcount is not reliable for INSERT … SELECT with IN lists.
        notified = len(session.connection().execute(insert(Notification.__table__).from_select(
            ["region_code", "province_code", "kind", "campaign_id", "task_id", "message", "sender_code",
             "sender_name", "created_at", "title", "link"],
            select(Task.region_code, Task.province_code, literal("reminder"), literal(campaign.id, Integer), Task.id,
                   literal(text, String), literal(actor.region_code, String), literal(sender, String),
                   literal(now, UTCDateTime()), literal(title, String),
                   literal("/tasks/", String) + cast(Task.id, String)).where(*open_tasks, reached))
            .returning(Notification.__table__.c.id)).all())
    else:
        task_ids = dict(session.execute(select(Task.region_code, Task.id).where(
            Task.campaign_id == campaign.id, Task.region_code.in_(codes))).all())
        session.add_all([Notification(region_code=c, kind="reminder", campaign_id=campaign.id,
                                      task_id=task_ids.get(c), message=text, sender_code=actor.region_code,
                                      sender_name=sender, created_at=now, title=title,
                                      link=f"/tasks/{task_ids[c]}" if c in task_ids else f"/campaigns/{campaign.id}")
                         for c in codes])
        reached = Task.region_code.in_([c for c in codes if len(c) == target_length])
        notified = len(codes)
    session.flush()
    events = len(session.connection().execute(insert(TaskEvent.__table__).from_select(
        ["task_id", "region_code", "province_code", "kind", "actor_user_id", "actor_name", "actor_unit_code",
         "note", "at"],
        select(Task.id, Task.region_code, Task.province_code, literal("reminded"), literal(actor.id, Integer),
               literal(sender, String), literal(actor.region_code, String), literal(text, String),
               literal(now, UTCDateTime()))
        .where(*open_tasks, reached)).returning(TaskEvent.__table__.c.id)).all())
    session.flush()
    return {"campaign_id": campaign.id, "notified": notified, "tasks_reminded": events}


# --- the home page's panel (the notification centre is tenant_app.notifications) ---------------------------

def home_panel(session, actor, limit: int = 10) -> dict:
    """What the caller's home page shows: unread notifications, and directives awaiting 签收 (cheap)."""
    notifications = session.scalars(
        select(Notification).where(Notification.region_code == actor.region_code, Notification.read_at.is_(None),
                                   or_(Notification.user_id.is_(None), Notification.user_id == actor.id))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)).all()
    pending = session.execute(
        select(Campaign.id, Campaign.title, Campaign.due_on)
        .join(CampaignReceipt, CampaignReceipt.campaign_id == Campaign.id)
        .where(CampaignReceipt.region_code == actor.region_code, CampaignReceipt.acknowledged_at.is_(None),
               Campaign.status == "open")
        .order_by(Campaign.due_on, Campaign.id).limit(limit)).all()
    return {"notifications": notifications,
            "pending_receipts": [{"id": r.id, "title": r.title, "due_on": r.due_on} for r in pending],
            "can_acknowledge": actor.role == "staff"}
