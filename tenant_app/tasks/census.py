"""Census tasks (摸底排查): the village's child records confirmed one by one, and what changed since the
campaign was published.

Counts: `confirmed` = confirmation rows of the task; `added` = the village's records created since the
campaign's publication; `exited` = records now exited whose history shows the change to exited after the
publication (the exit date itself may be backdated, so the history decides); `total_active` = active
records; `unconfirmed` = active records not yet confirmed
(submitting needs it to be 0).
"""

from __future__ import annotations

from sqlalchemy import Integer, and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from hierarchy.models import UTCDateTime
from sync.outbox import record_bulk
from tenant_app import clock
from tenant_app.campaigns.models import Campaign, CensusCheck, Task
from tenant_app.children.idcard import mask_id
from tenant_app.children.models import Child, ChildChange
from tenant_app.errors import Conflict, NotFound
from tenant_app.i18n import _l, both_languages
from tenant_app.tasks import access

# Answer keys filled from the counts on submit when the form asks them and the village left them blank.
ANSWER_COUNTS = {"children_rechecked": "confirmed", "children_added": "added", "children_exited": "exited"}


def published_at(campaign: Campaign):
    return campaign.published_at or campaign.created_at


def exited_since(campaign: Campaign):
    """The record is exited now, and a change to exited was recorded after the campaign was published."""
    changed = exists().where(ChildChange.child_id == Child.id, ChildChange.changed_at >= published_at(campaign),
                             ChildChange.changes[("status", 1)].as_string() == "exited")
    return and_(Child.status == "exited", changed)


def require_census(campaign: Campaign) -> None:
    if campaign.kind != "census":
        raise Conflict(_l("不是摸底排查任务"))


def _listed(task: Task, campaign: Campaign):
    """Active records, and records exited since the campaign was published."""
    return and_(Child.region_code == task.region_code, or_(Child.status == "active", exited_since(campaign)))


def unchanged_since(campaign: Campaign):
    """No change (creation included) recorded for the record since the campaign was published."""
    return ~exists().where(ChildChange.child_id == Child.id, ChildChange.changed_at >= published_at(campaign))


def counts(session, task: Task, campaign: Campaign) -> dict:
    active = Child.status == "active"
    checked = exists().where(CensusCheck.task_id == task.id, CensusCheck.child_id == Child.id)

    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(total(active), total(and_(active, ~checked)), total(Child.created_at >= published_at(campaign)),
               total(exited_since(campaign)), total(and_(active, ~checked, unchanged_since(campaign))))
        .where(Child.region_code == task.region_code)
    ).one()
    confirmed = session.scalar(select(func.count()).select_from(CensusCheck).where(CensusCheck.task_id == task.id))
    return {"confirmed": int(confirmed or 0), "added": int(row[2]), "exited": int(row[3]),
            "total_active": int(row[0]), "unconfirmed": int(row[1]), "unchanged_unconfirmed": int(row[4])}


def list_children(session, actor, task_id: int, *, confirmed: bool | None = None, q: str | None = None,
                  page: int = 1, per_page: int = 50) -> tuple[list[dict], int, dict]:
    """The records to confirm (unconfirmed first, then by name), with the task's counts."""
    task, campaign = access.get_task(session, task_id)
    require_census(campaign)
    check = and_(CensusCheck.task_id == task.id, CensusCheck.child_id == Child.id)
    query = (select(Child.id, Child.name, Child.id_number, Child.is_left_behind, Child.is_in_difficulty,
                    Child.is_de_facto_unsupported, Child.status, Child.exited_at, Child.risk_level, Child.sex,
                    Child.birth_date, CensusCheck.checked_at, func.count().over().label("total"))
             .outerjoin(CensusCheck, check).where(_listed(task, campaign)))
    if confirmed is not None:
        query = query.where(CensusCheck.child_id.is_not(None) if confirmed else CensusCheck.child_id.is_(None))
    if q:
        query = query.where(Child.name.contains(q.strip(), autoescape=True))
    rows = session.execute(
        query.order_by(case((Child.status == "active", 0), else_=1), case((CensusCheck.child_id.is_(None), 0),
                                                                           else_=1), Child.name, Child.id)
        .limit(per_page).offset((page - 1) * per_page)).all()
    total = rows[0].total if rows else session.scalar(select(func.count()).select_from(query.subquery()))
    items = [{"id": r.id, "name": r.name, "id_number": mask_id(r.id_number),
              "category": [name for name, on in (("left_behind", r.is_left_behind),
                                                 ("in_difficulty", r.is_in_difficulty),
                                                 ("de_facto_unsupported", r.is_de_facto_unsupported)) if on],
              "status": r.status, "exited_at": r.exited_at, "risk_level": r.risk_level, "sex": r.sex,
              "birth_date": r.birth_date, "confirmed": r.checked_at is not None, "checked_at": r.checked_at}
             for r in rows]
    return items, total, {**counts(session, task, campaign), "editable": access.is_editable(task, campaign)
                          and access.can_answer(actor, task)}


def _writable(session, actor, task_id: int, child_id: int) -> tuple[Task, Campaign, Child]:
    task, campaign = access.get_task(session, task_id)
    require_census(campaign)
    access.require_answer(actor, task)
    access.require_editable(task, campaign)
    child = session.execute(select(Child).where(Child.id == child_id, _listed(task, campaign))).scalar_one_or_none()
    if child is None:
        raise NotFound(_l("该村没有此儿童档案"))
    return task, campaign, child


def confirm(session, actor, task_id: int, child_id: int) -> dict:
    """Confirm one active record (idempotent). The first confirmation starts a pending task (it becomes a
    draft, with a timeline step), so the units above see the work under way."""
    task, campaign, child = _writable(session, actor, task_id, child_id)
    if child.status != "active":
        raise Conflict(_l("已退出的档案无需确认"))
    if session.get(CensusCheck, (task.id, child.id)) is None:
        try:
            with session.begin_nested():
                session.add(CensusCheck(task_id=task.id, child_id=child.id, region_code=task.region_code,
                                        checked_by_id=actor.id, checked_at=clock.now()))
        except IntegrityError:
            pass  # confirmed at the same moment by another request: the same outcome
    if task.status == "pending":
        task.status = "draft"
        task.updated_at = clock.now()
        access.record_event(session, task, actor, "draft_saved", both_languages(_l("开始摸底核对")))
    access.flush(session)
    return {"child_id": child.id, "confirmed": True, "counts": counts(session, task, campaign)}


def unconfirm(session, actor, task_id: int, child_id: int) -> dict:
    task, campaign, child = _writable(session, actor, task_id, child_id)
    row = session.get(CensusCheck, (task.id, child.id))
    if row is not None:
        session.delete(row)
    access.flush(session)
    return {"child_id": child.id, "confirmed": False, "counts": counts(session, task, campaign)}


def confirm_unchanged(session, actor, task_id: int) -> dict:
    """Confirm at once every active record not yet confirmed and unchanged since the campaign was published:
    one INSERT … SELECT (records added or edited since are confirmed one by one, after a look)."""
    task, campaign = access.get_task(session, task_id)
    require_census(campaign)
    access.require_answer(actor, task)
    access.require_editable(task, campaign)
    now = clock.now()
    already = exists().where(CensusCheck.task_id == task.id, CensusCheck.child_id == Child.id)
    chosen = select(literal(task.id, Integer), Child.id, Child.region_code, func.substr(Child.region_code, 1, 2),
                    literal(actor.id, Integer),
                    literal(now, UTCDateTime())).where(
        Child.region_code == task.region_code, Child.status == "active", ~already, unchanged_since(campaign))
    statement = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(
        CensusCheck.__table__).from_select(["task_id", "child_id", "region_code", "province_code", "checked_by_id",
                                            "checked_at"], chosen)
    # A record confirmed by a concurrent request meanwhile is simply left as it is.
    statement = statement.on_conflict_do_nothing().returning(CensusCheck.__table__.c.child_id)
    confirmed_now = len(session.connection().execute(statement).all())
    if confirmed_now:  # the ORM's outbox hook does not see a Core insert: the figures are told here
        record_bulk(session, [task.region_code], "census")
    if confirmed_now and task.status == "pending":
        task.status = "draft"
        task.updated_at = now
        access.record_event(session, task, actor, "draft_saved", both_languages(_l("开始摸底核对")))
    access.flush(session)
    return {"confirmed_now": confirmed_now, "counts": counts(session, task, campaign)}
