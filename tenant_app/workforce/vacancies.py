"""Vacancies (空缺): the villages without a children's director today and the townships without a supervisor,
each with how long it has been vacant and who covers it, in one statement over a subtree (a province of
~52,000 villages included).

How long: the days since the last holder left (`basis` "left"), or, for a unit that never had one registered,
since the unit was loaded into Shouhu (`basis` "never_filled": the roster cannot know of holders before it).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, literal, or_, select

from hierarchy.codes import Level
from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.workforce import access
from tenant_app.workforce.models import Appointment, Cover

LEVELS = {"director": int(Level.village), "supervisor": int(Level.township)}


def _post_of_unit():
    return case((Unit.level == int(Level.village), literal("director")), else_=literal("supervisor"))


def _holding(today: date):
    return (select(Appointment.id).where(Appointment.region_code == Unit.code, Appointment.post == _post_of_unit(),
                                         Appointment.appointed_on <= today,
                                         or_(Appointment.left_on.is_(None), Appointment.left_on > today))
            .correlate(Unit).exists())


def _covered(today: date):
    return (select(Cover.id).where(Cover.region_code == Unit.code, Cover.since <= today,
                                   or_(Cover.until.is_(None), Cover.until >= today)).correlate(Unit).exists())


def _units(actor, unit: str | None, post: str | None):
    levels = [LEVELS[post]] if post in LEVELS else list(LEVELS.values())
    return and_(access.subtree(Unit.code, actor, unit), Unit.level.in_(levels), Unit.retired.is_(False))


def list_vacancies(session, actor, *, unit: str | None = None, post: str | None = None,
                   covered: bool | None = None, page: int = 1, per_page: int = 50, today: date | None = None):
    """Vacant units of a subtree, longest vacant first (never filled, then by the day the last holder left)."""
    today = today or clock.today_cst()
    last_left = (select(func.max(Appointment.left_on))
                 .where(Appointment.region_code == Unit.code, Appointment.left_on <= today)
                 .correlate(Unit).scalar_subquery())
    query = (select(Unit.code, Unit.name, Unit.level, Unit.created_at, last_left.label("last_left_on"))
             .where(_units(actor, unit, post), ~_holding(today)))
    if covered is not None:
        query = query.where(_covered(today) if covered else ~_covered(today))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    inner = query.subquery()
    rows = session.execute(select(inner).order_by(inner.c.last_left_on.asc().nulls_first(), inner.c.code)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    covers = _current_covers(session, [r.code for r in rows], today)
    names = _names(session, {r.code[:9] if len(r.code) == 12 else r.code[:6] for r in rows})
    items = []
    for r in rows:
        since = r.last_left_on or clock.cst_day(r.created_at)
        cover = covers.get(r.code)
        items.append({"unit_code": r.code, "unit_name": r.name, "post": "director" if r.level == LEVELS["director"]
                      else "supervisor", "parent_name": names.get(r.code[:9] if len(r.code) == 12 else r.code[:6], ""),
                      "vacant_since": since, "vacant_days": max((today - since).days, 0),
                      "basis": "left" if r.last_left_on else "never_filled", "cover": cover})
    return items, total


def _current_covers(session, codes: list[str], today: date) -> dict[str, Cover]:
    if not codes:
        return {}
    rows = session.scalars(select(Cover).where(Cover.region_code.in_(codes), Cover.since <= today,
                                               or_(Cover.until.is_(None), Cover.until >= today))
                           .order_by(Cover.since)).all()
    return {c.region_code: c for c in rows}


def _names(session, codes) -> dict[str, str]:
    if not codes:
        return {}
    return dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(sorted(codes)))).all())


def summary(session, actor, unit: str | None = None, today: date | None = None) -> dict:
    """Per post over a subtree: units that must have one, filled today, vacant, vacant but covered."""
    today = today or clock.today_cst()
    holding, covered = _holding(today), _covered(today)
    rows = session.execute(
        select(Unit.level, func.count().label("units"),
               func.count().filter(holding).label("filled"),
               func.count().filter(and_(~holding, covered)).label("covered"))
        .where(_units(actor, unit, None)).group_by(Unit.level)).all()
    out = {post: {"units": 0, "filled": 0, "vacant": 0, "covered": 0} for post in LEVELS}
    for r in rows:
        post = "director" if r.level == LEVELS["director"] else "supervisor"
        out[post] = {"units": r.units, "filled": r.filled, "vacant": r.units - r.filled, "covered": r.covered}
    return out
