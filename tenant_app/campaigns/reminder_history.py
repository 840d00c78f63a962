"""A campaign's reminder history: who sent which reminder to which units, and when.

One reminder is the notifications it left, sharing the campaign, the sending unit and the moment (a reminder's
rows are written with one timestamp). The caller sees the reminders that reached units of its own subtree.
"""

from __future__ import annotations

from sqlalchemy import func, select, tuple_

from hierarchy.models import Unit
from tenant_app.campaigns.models import Notification
from tenant_app.campaigns.services import get_campaign

UNITS_SHOWN = 20  # units named per reminder; the count says how many it reached


def reminder_history(session, actor, campaign_id: int, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    campaign = get_campaign(session, actor, campaign_id)
    key = (Notification.created_at, Notification.sender_code, Notification.sender_name, Notification.message)
    grouped = (select(*key, func.count().label("units_count"))
               .where(Notification.campaign_id == campaign.id, Notification.kind == "reminder").group_by(*key))
    total = session.scalar(select(func.count()).select_from(grouped.subquery())) or 0
    groups = session.execute(grouped.order_by(Notification.created_at.desc(), Notification.sender_code)
                             .limit(per_page).offset((page - 1) * per_page)).all()
    if not groups:
        return [], total
    # The first units of each reminder on this page, in one query (numbered within each reminder).
    number = func.row_number().over(partition_by=(Notification.created_at, Notification.sender_code),
                                    order_by=Notification.region_code).label("n")
    ranked = (select(Notification.created_at, Notification.sender_code, Notification.region_code, number)
              .where(Notification.campaign_id == campaign.id, Notification.kind == "reminder",
                     tuple_(Notification.created_at, Notification.sender_code).in_(
                         [(g.created_at, g.sender_code) for g in groups])).subquery())
    rows = session.execute(select(ranked.c.created_at, ranked.c.sender_code, ranked.c.region_code, Unit.name)
                           .join(Unit, Unit.code == ranked.c.region_code).where(ranked.c.n <= UNITS_SHOWN)
                           .order_by(ranked.c.region_code)).all()
    units: dict[tuple, list[dict]] = {}
    for r in rows:
        units.setdefault((r.created_at, r.sender_code), []).append({"code": r.region_code, "name": r.name})
    # Senders are units of the subtree or above it (ancestors are visible by code and name).
    names = dict(session.execute(select(Unit.code, Unit.name).where(
        Unit.code.in_({g.sender_code for g in groups if g.sender_code}))).all())
    return [{"sent_at": g.created_at, "sender_name": g.sender_name, "sender_code": g.sender_code,
             "sender_unit": names.get(g.sender_code, ""), "message": g.message, "units_count": g.units_count,
             "units": units.get((g.created_at, g.sender_code), [])} for g in groups], total
