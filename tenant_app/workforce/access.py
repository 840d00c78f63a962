"""Who may do what with the roster, and the unit rules of its posts.

Staff and administrators of a province, city, county or township keep the roster of their subtree (a township
registers its villages' directors; a county its supervisors; a province imports its whole roster). Villages and
viewers read. Partner reporters never reach the roster (tenant_app.cases.partners denies by default).
"""

from __future__ import annotations

from sqlalchemy import select

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit
from tenant_app.errors import Forbidden, NotFound
from tenant_app.i18n import _l
from tenant_app.workforce import enums as E

NOT_IN_SCOPE = _l("单位不在管辖范围内")
MANAGERS = (Level.province, Level.city, Level.county, Level.township)


def can_manage(actor) -> bool:
    return actor.role in ("staff", "admin") and level_of(actor.region_code) in MANAGERS


def require_manage(actor) -> None:
    if not can_manage(actor):
        raise Forbidden(_l("无权维护儿童主任和督导员名册"))


def require_manage_unit(actor, code: str) -> None:
    """A unit's post is kept from above it: a village's director by its township or higher, a township's
    supervisor by its county or higher (the unit told of a vacancy is then within the keeper's subtree)."""
    require_manage(actor)
    if len(actor.region_code) >= len(code):
        raise Forbidden(_l("该岗位由上级单位维护"))


def subtree(column, actor, unit_code: str | None):
    """A condition on `column` for the subtree of `unit_code` (default: the caller's); 404 outside it."""
    code = (unit_code or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(NOT_IN_SCOPE)
    return (column >= code) & (column < code + ":")


def post_of(code: str) -> str | None:
    """The post a unit must have filled: director for a village, supervisor for a township, else None."""
    if not is_valid_code(code):
        return None
    return E.POST_OF_LEVEL.get(level_of(code))


def get_unit(session, actor, code: str) -> Unit:
    """A unit of the caller's subtree (404 otherwise, the same for a unit that does not exist)."""
    code = (code or "").strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(NOT_IN_SCOPE)
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(NOT_IN_SCOPE)
    return unit
