"""The duplicate-ID check as a guarded oracle.

One ID number per province means every create, correction and import asks "is this number registered
anywhere in the province?", beyond the caller's subtree. The answer cannot be hidden (the record is refused),
but it can be made slow and visible:

- a hit outside the caller's subtree says only that the number is registered, never where;
- each such hit is an audit row (action "duplicate_probe", region_code the village that holds the record, so
  the admins above that village see who asked);
- a user with `limit()` outside hits within `window()` gets no further answers (429) until the oldest leaves
  the window, on every path (form, API, import dry run);
- the hit that reaches the limit leaves a security alert for the province's administrators.

The audit rows and the alert are committed on their own: the request that found the hit is refused and
rolls back, the record of the hit must not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from hierarchy.models import utcnow
from hierarchy.scope import Scope
from tenant_app.children.models import AuditEvent, SecurityAlert
from tenant_app.errors import RateLimited
from tenant_app.i18n import _l

PROBE_ACTION = "duplicate_probe"
ALERT_KIND = "duplicate_probe"
PURPOSE = {"form": "身份证号查重：辖区外已登记 / duplicate ID check: registered outside the caller's subtree",
           "import": "导入查重：辖区外已登记 / import duplicate check: registered outside the caller's subtree"}
OUTSIDE_MESSAGE = _l("该身份证号已在本省其他地区登记，请联系上级核实，或通过迁移接收该儿童")
THROTTLED = _l("查重过于频繁：一小时内多次查到辖区以外已登记的身份证号，已暂停查重并通知省级管理员，请稍后再试")


def limit() -> int:
    """Outside hits one user may have within the window before the check stops answering."""
    return int(os.environ.get("SHOUHU_DUPLICATE_PROBE_LIMIT", "10"))


def window() -> timedelta:
    return timedelta(seconds=int(os.environ.get("SHOUHU_DUPLICATE_PROBE_WINDOW_SECONDS", "3600")))


@dataclass(frozen=True)
class Budget:
    used: int
    oldest: datetime | None

    @property
    def left(self) -> int:
        return max(limit() - self.used, 0)

    def retry_after(self) -> int:
        if self.oldest is None:
            return int(window().total_seconds())
        oldest = self.oldest if self.oldest.tzinfo else self.oldest.replace(tzinfo=utcnow().tzinfo)
        return max(int((oldest + window() - utcnow()).total_seconds()) + 1, 1)


def _scoped_session(province: str):
    """A transaction of its own (the caller's is refused and rolls back) under the province's scope: the
    probes of a user lie all over the province."""
    from tenant_app.db import db

    return db.autonomous_scope(Scope.unit(province))


def _resync(session) -> None:
    # The caller's session may share the connection (tests join one outer transaction): hand its scope back.
    from tenant_app.children.access import resync

    resync(session)


def _count(session, actor, since: datetime):
    return session.execute(select(func.count(), func.min(AuditEvent.at)).where(
        AuditEvent.user_id == actor.id, AuditEvent.action == PROBE_ACTION, AuditEvent.at >= since)).one()


def budget(session, actor) -> Budget:
    """The caller's outside hits within the window (read under the province's scope, then the caller's)."""
    from tenant_app.children.access import narrow_scope

    with narrow_scope(session, actor.region_code[:2]):
        used, oldest = _count(session, actor, utcnow() - window())
    return Budget(used or 0, oldest)


def throttled(budget_now: Budget) -> RateLimited:
    return RateLimited(THROTTLED, errors={"id_number": [THROTTLED]},
                       headers={"Retry-After": str(budget_now.retry_after())})


def require_answer(session, actor) -> Budget:
    """Refuse (429) a duplicate check for a user who has used up the window's outside hits."""
    now = budget(session, actor)
    if now.left <= 0:
        raise throttled(now)
    return now


def record(session, actor, hits: list[tuple[int, str]], via: str) -> int:
    """Audit each outside hit (child id, village) and alert the province when the user reaches the limit.

    Returns the user's outside hits within the window, these included.
    """
    if not hits:
        return budget(session, actor).used
    province = actor.region_code[:2]
    now = utcnow()
    try:
        with _scoped_session(province) as s:
            before = _count(s, actor, now - window())[0] or 0
            s.execute(AuditEvent.__table__.insert(), [
                {"region_code": village, "province_code": village[:2], "user_id": actor.id,
                 "user_region_code": actor.region_code, "child_id": child_id, "action": PROBE_ACTION,
                 "purpose": PURPOSE[via], "at": now}
                for child_id, village in hits])
            after = before + len(hits)
            if before < limit() <= after:
                minutes = int(window().total_seconds() // 60)
                s.add(SecurityAlert(
                    region_code=province, kind=ALERT_KIND, user_id=actor.id, user_region_code=actor.region_code,
                    count=after, at=now, message=(
                        f"用户 {actor.username}（单位 {actor.region_code}）在{minutes}分钟内{after}次查到辖区以外已"
                        f"登记的身份证号，查重已暂停 / User {actor.username} (unit {actor.region_code}) found {after} "
                        f"ID numbers registered outside their area within {minutes} minutes; their duplicate "
                        f"check is paused")[:500]))
    finally:
        _resync(session)
    return after


def list_alerts(session, actor, page: int = 1, per_page: int = 50):
    """The alerts addressed to the caller's unit (a province), newest first: administrators only."""
    from tenant_app.children.access import require_admin

    require_admin(actor)
    query = select(SecurityAlert).where(SecurityAlert.region_code == actor.region_code)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(SecurityAlert.at.desc(), SecurityAlert.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
