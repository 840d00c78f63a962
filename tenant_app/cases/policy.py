"""A province's time limits for cases: read by every unit of the province, set by the province's staff."""

from __future__ import annotations

from hierarchy.codes import Level, level_of
from tenant_app import clock
from tenant_app.cases import deadlines
from tenant_app.cases import enums as E
from tenant_app.cases.common import REQUIRED, add_error
from tenant_app.cases.models import CasePolicy
from tenant_app.errors import Forbidden, ValidationFailed
from tenant_app.i18n import _l


def get_policy(session, actor) -> dict:
    province = actor.region_code[:2]
    values, row = deadlines.policy_for(session, province)
    return {"province_code": province, **values, "is_default": row is None,
            "updated_by_id": row.updated_by_id if row else None, "updated_at": row.updated_at if row else None}


def _limit_error(errors, path, value, bound) -> bool:
    if value is None:
        add_error(errors, path, REQUIRED)
    elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= bound:
        add_error(errors, path, _l("须为1至%(n)s的整数", n=bound))
    else:
        return True
    return False


def set_policy(session, actor, data: dict) -> dict:
    """Province staff set the limits (hours 1-720, days 1-90, follow-up intervals 1-180 days; an interval left
    out keeps its value) and any per-category overrides."""
    if actor.role != "staff" or level_of(actor.region_code) != Level.province:
        raise Forbidden(_l("仅省级工作人员可设置案件办理时限"))
    errors: dict = {}
    current, _ = deadlines.policy_for(session, actor.region_code)
    values = {field: data.get(field) for field in deadlines.DEFAULTS}
    for field in deadlines.OPTIONAL_LIMITS:
        if values[field] is None:
            values[field] = current[field]
    for field, bound in deadlines.LIMIT_BOUNDS.items():
        _limit_error(errors, field, values[field], bound)
    overrides = data.get("overrides") or {}
    clean: dict = {}
    for category, fields in overrides.items():
        if category not in E.CATEGORIES or not isinstance(fields, dict):
            add_error(errors, "overrides", _l("取值无效，可选：%(choices)s", choices=", ".join(E.CATEGORIES)))
            continue
        for field, value in fields.items():
            if field not in deadlines.DEFAULTS:
                add_error(errors, f"overrides.{category}", _l("取值无效，可选：%(choices)s",
                                                              choices=", ".join(deadlines.DEFAULTS)))
            elif _limit_error(errors, f"overrides.{category}.{field}", value, deadlines.LIMIT_BOUNDS[field]):
                clean.setdefault(category, {})[field] = value
    if errors:
        raise ValidationFailed(_l("案件办理时限有误"), errors=errors)
    _, row = deadlines.policy_for(session, actor.region_code)
    if row is None:
        row = CasePolicy(province_code=actor.region_code)
        session.add(row)
    for field in deadlines.DEFAULTS:
        setattr(row, field, values[field])
    row.overrides = clean
    row.updated_by_id = actor.id
    row.updated_at = clock.now()
    session.flush()
    return get_policy(session, actor)
