"""Reading the tree: a unit, its active descendants per level, its children, its ancestors."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from hierarchy.codes import Level, ancestors_of, is_valid_code, subtree_bounds
from hierarchy.models import Unit
from tenant_app.auth.models import User
from tenant_app.errors import NotFound
from tenant_app.i18n import _l

COUNT_LEVELS = (Level.city, Level.county, Level.township, Level.village)


@dataclass
class UnitView:
    unit: Unit
    full: bool  # False: an ancestor of the caller, of which only code, name and level may be shown


def visible_unit(session, actor: User, code: str) -> UnitView:
    """The unit if it is in the caller's subtree (full) or one of its ancestors (basic); else 404."""
    if not is_valid_code(code or ""):
        raise NotFound(_l("单位不存在"))
    if code.startswith(actor.region_code):
        unit = session.get(Unit, code)
        if unit is not None:
            return UnitView(unit, True)
    elif code in ancestors_of(actor.region_code):
        unit = session.get(Unit, code)
        if unit is not None:
            return UnitView(unit, False)
    raise NotFound(_l("单位不存在"))


def descendant_counts(session, code: str) -> dict[str, int]:
    """Active descendants at each level below `code` (one indexed range scan, grouped by level)."""
    lo, hi = subtree_bounds(code)
    rows = session.execute(
        select(Unit.level, func.count())
        .where(Unit.code > lo, Unit.code < hi, Unit.retired.is_(False))
        .group_by(Unit.level)
    ).all()
    found = {Level(level).name: count for level, count in rows}
    return {lvl.name: found.get(lvl.name, 0) for lvl in COUNT_LEVELS}


def child_units(session, code: str, *, page: int = 1, per_page: int = 50, include_retired: bool = False):
    query = select(Unit).where(Unit.parent_code == code)
    if not include_retired:
        query = query.where(Unit.retired.is_(False))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Unit.code).limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def child_counts(session, codes: list[str]) -> dict[str, int]:
    """Number of active direct children for each of the given units."""
    if not codes:
        return {}
    rows = session.execute(
        select(Unit.parent_code, func.count())
        .where(Unit.parent_code.in_(codes), Unit.retired.is_(False))
        .group_by(Unit.parent_code)
    ).all()
    return dict(rows)


def ancestor_units(session, code: str) -> list[Unit]:
    codes = ancestors_of(code)
    if not codes:
        return []
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    return [units[c] for c in codes if c in units]
