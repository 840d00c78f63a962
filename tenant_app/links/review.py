"""The grey band: matches a person confirms or rejects. County staff decide for the children of their county;
staff, administrators and viewers of the units above read the queue."""

from __future__ import annotations

from sqlalchemy import func, select

from hierarchy.codes import Level, level_of
from sync import queues
from tenant_app import clock
from tenant_app.children.models import Child
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.links.models import RollMatch

DECISIONS = {"confirm": "confirmed", "reject": "rejected"}
STALE = _l("该匹配已被他人处理，请刷新后重试")


def can_decide(actor) -> bool:
    return actor.role in ("staff", "admin") and level_of(actor.region_code) is Level.county


def require_reviewer(actor) -> None:
    if actor.role not in ("staff", "admin", "viewer") or level_of(actor.region_code) > Level.county:
        raise Forbidden(_l("只有县级及以上工作人员可以查看待确认匹配"))


def _query():
    return (select(RollMatch.id, RollMatch.version, RollMatch.status, RollMatch.score, RollMatch.method,
                    RollMatch.dept_unit, RollMatch.dept_kind, RollMatch.upload_id, RollMatch.roll_name,
                    RollMatch.roll_sex, RollMatch.roll_birth_date, RollMatch.child_id,
                    Child.name.label("child_name"), Child.sex.label("child_sex"),
                    Child.birth_date.label("child_birth_date"), RollMatch.region_code.label("village_code"),
                    RollMatch.decided_at)
             .join(Child, Child.id == RollMatch.child_id))


def one(session, match_id: int) -> dict:
    return session.execute(_query().where(RollMatch.id == match_id)).one()._asdict()


def grey_queue(session, actor, *, status: str = "grey", page: int = 1, per_page: int = 20):
    """Matches of the reader's subtree waiting (or decided), with the roll's side and the record's side."""
    require_reviewer(actor)
    query = _query().where(RollMatch.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(RollMatch.score.desc(), RollMatch.id).offset((page - 1) * per_page)
                           .limit(per_page))
    return [r._asdict() for r in rows], total


def after_commit(match: RollMatch) -> None:
    """After the decision's commit: a confirmed match's record written and the county's worklists recomputed
    (tenant_app.links.writeback.after_decision, a job in the province's scope)."""
    from sync.jobs import enqueue
    from sync.outbox import configured_redis_url

    enqueue("tenant_app.links.writeback.after_decision", match.id, match.region_code[:6],
            job_id=f"links-decision-{match.id}-{match.version}", scope_code=match.region_code[:2],
            queue=queues.LINKS, redis_url=configured_redis_url())


def decide(session, actor, match_id: int, decision: str, version: int) -> RollMatch:
    if not can_decide(actor):
        raise Forbidden(_l("只有县级工作人员可以确认或否决匹配"))
    if decision not in DECISIONS:
        raise ValidationFailed(_l("操作无效"), errors={"decision": [_l("操作无效")]})
    match = session.get(RollMatch, match_id)
    if match is None:
        raise NotFound(_l("匹配不存在"))
    if match.status != "grey" or match.version != version:
        raise Conflict(STALE, errors={"version": [STALE]})
    match.status = DECISIONS[decision]
    match.decided_by_id, match.decided_at = actor.id, clock.now()
    session.flush()
    return match
