"""A campaign's life after the draft: publish (the fan-out job follows the commit), close, extend deadlines.

The issuer's staff publish, close and extend the whole campaign; a county's staff extend it for their own
subtree (their receipt's due date and the tasks under them). Extending writes one `extended` timeline step
per moved task, set-based.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert, literal, select, update

from hierarchy.codes import Level, level_of
from hierarchy.models import UTCDateTime
from tenant_app import clock
from tenant_app.campaigns.models import Campaign, CampaignReceipt, Task, TaskEvent
from tenant_app.campaigns.services import (
    INVALID,
    REQUIRED,
    check_version,
    get_campaign,
    is_issuer,
    lock,
    require_issuer,
)
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l


def publish(session, actor, campaign_id: int) -> tuple[Campaign, bool]:
    """Draft -> publishing; the caller commits, then enqueues the fan-out. Returns (campaign, enqueue?).
    Publishing again is harmless: the fan-out is re-run (it creates nothing new); a closed campaign refuses."""
    campaign = get_campaign(session, actor, campaign_id)
    require_issuer(actor, campaign)
    campaign = lock(session, campaign)
    if campaign.status == "closed":
        raise Conflict(_l("工作部署已结束"))
    if campaign.status == "draft":
        if campaign.due_on < clock.today_cst():
            raise ValidationFailed(INVALID, errors={"due_on": [_l("截止日期已过")]})
        campaign.status = "publishing"
        campaign.published_at = clock.now()
        campaign.published_by_id = actor.id
        session.flush()
    return campaign, True


def close(session, actor, campaign_id: int, version: int | None = None) -> Campaign:
    campaign = get_campaign(session, actor, campaign_id)
    require_issuer(actor, campaign)
    campaign = lock(session, campaign)
    check_version(campaign, version)
    if campaign.status != "open":
        raise Conflict(_l("只有进行中的工作部署可以结束"))
    campaign.status = "closed"
    campaign.closed_at = clock.now()
    campaign.closed_by_id = actor.id
    session.flush()
    return campaign


def _extension_events(session, actor, campaign_id: int, lo: str, hi: str, new_due: date) -> None:
    """One `extended` timeline step per task whose deadline moves, set-based."""
    note = f"截止日期延至 {new_due.isoformat()}"
    session.connection().execute(insert(TaskEvent.__table__).from_select(
        ["task_id", "region_code", "province_code", "kind", "actor_user_id", "actor_name", "actor_unit_code",
         "note", "at"],
        select(Task.id, Task.region_code, Task.province_code, literal("extended"), literal(actor.id),
               literal(actor.real_name or actor.username), literal(actor.region_code), literal(note),
               literal(clock.now(), UTCDateTime()))
        .where(Task.campaign_id == campaign_id, Task.region_code >= lo, Task.region_code < hi,
               Task.due_on < new_due))
        # RETURNING, as the reminders' steps: on a Citus coordinator the rows then reach the shards as INSERTs
        # (hierarchy.citus_schema.via_results says why).
        .returning(TaskEvent.__table__.c.id)).all()


def extend(session, actor, campaign_id: int, new_due, version: int | None = None) -> dict:
    """The issuer's staff move the whole campaign's deadline; a county's staff move it for their subtree.
    The new date must be later than the current one; every task due earlier moves to it."""
    campaign = get_campaign(session, actor, campaign_id)
    if campaign.status != "open":
        raise Conflict(_l("只有进行中的工作部署可以延期"))
    if not isinstance(new_due, date):
        raise ValidationFailed(INVALID, errors={"due_on": [REQUIRED]})
    code = actor.region_code
    if is_issuer(actor, campaign):
        campaign = lock(session, campaign)
        check_version(campaign, version)
        current = campaign.due_on
        receipt = None
    elif (actor.role == "staff" and level_of(code) == Level.county and code.startswith(campaign.issuer_code)
          and code != campaign.issuer_code and campaign.target_level > int(Level.county)):
        receipt = session.execute(select(CampaignReceipt).where(
            CampaignReceipt.campaign_id == campaign.id, CampaignReceipt.region_code == code)
            .with_for_update()).scalar_one_or_none()
        if receipt is None:
            raise NotFound(_l("本单位未收到该工作部署"))
        current = max(campaign.due_on, receipt.due_on or campaign.due_on)
    else:
        raise Forbidden(_l("仅发布单位或县级工作人员可延期"))
    if new_due <= current:
        raise ValidationFailed(INVALID, errors={"due_on": [
            _l("须晚于当前截止日期 %(date)s", date=current.isoformat())]})
    lo, hi = (campaign.issuer_code, campaign.issuer_code + ":") if receipt is None else (code, code + ":")
    _extension_events(session, actor, campaign.id, lo, hi, new_due)
    moved = session.execute(update(Task).where(Task.campaign_id == campaign.id, Task.region_code >= lo,
                                               Task.region_code < hi, Task.due_on < new_due)
                            .values(due_on=new_due, version=Task.version + 1)
                            .execution_options(synchronize_session=False)).rowcount
    session.execute(update(CampaignReceipt).where(
        CampaignReceipt.campaign_id == campaign.id, CampaignReceipt.region_code >= lo,
        CampaignReceipt.region_code < hi, CampaignReceipt.region_code != code, CampaignReceipt.due_on < new_due)
        .values(due_on=new_due).execution_options(synchronize_session=False))
    if receipt is None:
        campaign.due_on = new_due
    else:
        receipt.due_on = new_due
    if moved:
        from sync.outbox import record_bulk

        # Overdue figures of the moved tasks change: the roll-up recomputes that subtree's campaign figures.
        record_bulk(session, [lo], "campaign")
    session.flush()
    return {"campaign_id": campaign.id, "unit": code, "due_on": new_due, "tasks_moved": moved}


def enqueue_fanout(campaign_id: int, issuer_code: str):
    """After the publish commit: the fan-out job (inline without Redis)."""
    from flask import current_app

    from sync import jobs, queues

    return jobs.enqueue("tenant_app.campaigns.fanout.fan_out_campaign", campaign_id,
                        job_id=f"fanout-campaign-{campaign_id}", scope_code=issuer_code, queue=queues.FANOUT,
                        redis_url=current_app.config.get("SHOUHU_REDIS_URL"))
