"""Visits: record (validated, updating the child's risk and assessment through the children service),
list, the province's visit intervals, and the due / overdue list computed in one SQL query.

Services flush; the API commits at the request boundary. `today` defaults to today in China Standard
Time and may be passed in (tests, jobs).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit, utcnow
from tenant_app.cases.enums import OPEN_STAGES
from tenant_app.cases.models import Case, CaseChild
from tenant_app.children import access
from tenant_app.children import services as children
from tenant_app.children.models import Child
from tenant_app.children.validation import today_cst
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.visits.models import ASSESSMENTS, DEFAULT_INTERVALS, MET, RISK_LEVELS, Visit, VisitPolicy

INVALID = _l("走访记录有误")
REQUIRED = _l("此项必填")
RECORD_LEVELS = (Level.village, Level.township, Level.county)
DUE_SOON_DAYS = 7
STATUSES = ("overdue", "due_soon", "all")
RISK_ORDER = {"high": 0, "medium": 1, "low": 2}
MAX_DAYS = 730
MAX_FINDINGS = 4000
MAX_FOLLOW_UP = 2000
MAX_VISITOR_NAME = 64
FINDINGS_TOO_LONG = _l("不能超过4000字")
FOLLOW_UP_TOO_LONG = _l("不能超过2000字")
VISITOR_NAME_TOO_LONG = _l("不能超过64字")
DAYS_INVALID = _l("须为1至%(n)s的整数", n=MAX_DAYS)


# --- portable date arithmetic (PostgreSQL and SQLite) ------------------------------------------------

class add_days(FunctionElement):  # noqa: N801 - SQL function style
    """date + n days."""

    type = Date()
    inherit_cache = True


@compiles(add_days)
def _add_days_pg(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"(CAST({compiler.process(day, **kw)} AS DATE) + CAST({compiler.process(days, **kw)} AS INTEGER))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element, compiler, **kw):
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, '+' || ({compiler.process(days, **kw)}) || ' days')"


class days_between(FunctionElement):  # noqa: N801
    """later - earlier, in whole days."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between_pg(element, compiler, **kw):
    earlier, later = list(element.clauses)
    return f"(CAST({compiler.process(later, **kw)} AS DATE) - CAST({compiler.process(earlier, **kw)} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):
    earlier, later = list(element.clauses)
    return (f"CAST(round(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)})) AS INTEGER)")


class cst_date(FunctionElement):  # noqa: N801
    """The calendar date in China Standard Time (UTC+8, no daylight saving) of a UTC timestamp."""

    type = Date()
    inherit_cache = True


@compiles(cst_date)
def _cst_date_pg(element, compiler, **kw):
    (ts,) = list(element.clauses)
    return f"CAST(timezone('Asia/Shanghai', {compiler.process(ts, **kw)}) AS DATE)"


@compiles(cst_date, "sqlite")
def _cst_date_sqlite(element, compiler, **kw):
    (ts,) = list(element.clauses)
    return f"date({compiler.process(ts, **kw)}, '+8 hours')"


# --- who may record ------------------------------------------------------------------------------------

def can_record(actor) -> bool:
    """Village staff (children's directors) record visits; township and county staff may too (supervisor
    visits). Viewers, admins and staff above the county read only."""
    return actor.role == "staff" and access.user_level(actor) in RECORD_LEVELS


def require_record(actor) -> None:
    if not can_record(actor):
        raise Forbidden(_l("无权登记走访"))


# --- recording a visit -------------------------------------------------------------------------------

def _add(errors: dict, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _met(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    return list(value) if isinstance(value, (list, tuple)) else value


def validate_visit(data: dict, child: Child, today: date) -> dict:
    """Per-field messages ({field: [...]}) for a visit to `child`; empty when valid."""
    errors: dict = {}
    visited_on = data.get("visited_on")
    if visited_on is None:
        _add(errors, "visited_on", REQUIRED)
    elif not isinstance(visited_on, date):
        _add(errors, "visited_on", _l("日期格式无效"))
    elif visited_on > today:
        _add(errors, "visited_on", _l("走访日期不能晚于今天"))
    elif visited_on < child.birth_date:
        _add(errors, "visited_on", _l("走访日期早于儿童出生日期"))
    if not _text(data.get("findings")):
        _add(errors, "findings", REQUIRED)
    elif len(_text(data["findings"])) > MAX_FINDINGS:
        _add(errors, "findings", FINDINGS_TOO_LONG)
    met = _met(data.get("met"))
    if not isinstance(met, list) or any(v not in MET for v in met):
        _add(errors, "met", _l("取值无效，可选：%(choices)s", choices=", ".join(MET)))
    for field, allowed in (("guardianship_assessment", ASSESSMENTS), ("risk_level", RISK_LEVELS)):
        value = data.get(field)
        if value is not None and value not in allowed:
            _add(errors, field, _l("取值无效，可选：%(choices)s", choices=", ".join(allowed)))
    if child.unattended and data.get("risk_level") in ("low", "medium"):
        _add(errors, "risk_level", _l("无人监护儿童须保持高风险"))
    if len(_text(data.get("follow_up"))) > MAX_FOLLOW_UP:
        _add(errors, "follow_up", FOLLOW_UP_TOO_LONG)
    if len(_text(data.get("visitor_name"))) > MAX_VISITOR_NAME:
        _add(errors, "visitor_name", VISITOR_NAME_TOO_LONG)
    return errors


def record_visit(session, actor, child_id: int, data: dict, *, today: date | None = None) -> Visit:
    """Record a visit; a risk level or guardianship assessment given here is written to the child's record
    through the children service (so it shows in the record's history). All or nothing."""
    require_record(actor)
    child = children.get_child(session, child_id)  # 404 outside the caller's subtree
    if child.status != "active":
        raise Conflict(_l("已退出的档案不能登记走访"))
    today = today or today_cst()
    errors = validate_visit(data, child, today)
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    met = list(dict.fromkeys(_met(data.get("met"))))
    child_changes = {field: data[field] for field in ("risk_level", "guardianship_assessment")
                     if data.get(field) is not None and data[field] != getattr(child, field)}
    with session.begin_nested():
        if child_changes:
            try:
                children.update_child(session, actor, child.id, {"version": child.version, **child_changes},
                                      ref=today)
            except ValidationFailed as error:
                # The stored record no longer passes its own rules (e.g. the child grew older): say so
                # under the record's field names, prefixed, and write nothing.
                raise ValidationFailed(
                    _l("儿童档案需先更正"),
                    errors={f"child.{k}": v for k, v in (error.errors or {}).items()}) from None
        visit = Visit(region_code=child.region_code, child_id=child.id, visited_on=data["visited_on"],
                      visitor_user_id=actor.id,
                      visitor_name=_text(data.get("visitor_name")) or actor.real_name or "",
                      met=met, findings=_text(data["findings"]),
                      guardianship_assessment=data.get("guardianship_assessment"),
                      risk_level=data.get("risk_level"), follow_up=_text(data.get("follow_up")),
                      created_at=utcnow())
        session.add(visit)
        session.flush()
    return visit


def list_visits(session, actor, child_id: int, page: int = 1, per_page: int = 50):
    child = children.get_child(session, child_id)
    query = select(Visit).where(Visit.child_id == child.id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Visit.visited_on.desc(), Visit.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


# --- visit intervals ---------------------------------------------------------------------------------

def intervals_for(session, province_code: str) -> tuple[dict[str, int], VisitPolicy | None]:
    policy = session.execute(select(VisitPolicy).where(VisitPolicy.province_code == province_code)
                             ).scalar_one_or_none()
    return (policy.intervals() if policy is not None else dict(DEFAULT_INTERVALS)), policy


def get_policy(session, actor) -> dict:
    province = actor.region_code[:2]
    values, policy = intervals_for(session, province)
    return {"province_code": province, "high_days": values["high"], "medium_days": values["medium"],
            "low_days": values["low"], "is_default": policy is None,
            "updated_by_id": policy.updated_by_id if policy else None,
            "updated_at": policy.updated_at if policy else None}


def set_policy(session, actor, data: dict) -> dict:
    """Province staff set their province's intervals (days, 1-730; high <= medium <= low)."""
    if actor.role != "staff" or level_of(actor.region_code) != Level.province:
        raise Forbidden(_l("仅省级工作人员可设置走访周期"))
    errors: dict = {}
    values = {}
    for risk in ("high", "medium", "low"):
        field = f"{risk}_days"
        value = data.get(field)
        if value is None:
            _add(errors, field, REQUIRED)
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            _add(errors, field, DAYS_INVALID)
        else:
            values[risk] = value
    if len(values) == 3:
        if values["high"] > values["medium"]:
            _add(errors, "high_days", _l("高风险走访间隔不能长于中风险"))
        if values["medium"] > values["low"]:
            _add(errors, "medium_days", _l("中风险走访间隔不能长于低风险"))
    if errors:
        raise ValidationFailed(_l("走访周期有误"), errors=errors)
    province = actor.region_code
    _, policy = intervals_for(session, province)
    if policy is None:
        policy = VisitPolicy(province_code=province)
        session.add(policy)
    policy.high_days, policy.medium_days, policy.low_days = values["high"], values["medium"], values["low"]
    policy.updated_by_id = actor.id
    policy.updated_at = utcnow()
    session.flush()
    return get_policy(session, actor)


# --- due and overdue ---------------------------------------------------------------------------------

def _unit_of(actor, unit: str | None) -> str:
    code = (unit or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    return code


def due_query(unit: str, intervals: dict[str, int], today: date, status: str = "all"):
    """One statement: each active child of `unit`'s subtree with its last visit (or, never visited, the
    record's creation date in CST), the due date by risk level (at once for an unattended child never visited,
    and on the day of the report for a child an open report found living alone and not visited since),
    and the days overdue (negative: not yet
    due). Worst first: most days overdue, then high risk, then village and name."""
    lo, hi = unit, unit + ":"
    last_visit = (select(func.max(Visit.visited_on)).where(Visit.child_id == Child.id)
                  .correlate(Child).scalar_subquery())
    # Children an open report found living alone without care (脱离监护单独居住): unattended, whatever the
    # record says, from the day of the report.
    found = (select(CaseChild.child_id, func.max(Case.reported_at).label("found_at"))
             .join(Case, Case.id == CaseChild.case_id)
             .where(Case.category == "living_alone", Case.stage.in_(OPEN_STAGES), CaseChild.region_code >= lo,
                    CaseChild.region_code < hi)
             .group_by(CaseChild.child_id).subquery("found"))
    base = (select(Child.id.label("child_id"), Child.name, Child.region_code.label("village_code"),
                   Child.risk_level, Child.unattended, last_visit.label("last_visit_on"),
                   cst_date(Child.created_at).label("created_on"), cst_date(found.c.found_at).label("found_on"))
            .outerjoin(found, found.c.child_id == Child.id)
            .where(Child.region_code >= lo, Child.region_code < hi, Child.status == "active")
            .subquery("last_visits"))
    # A child found unattended and not visited since is due at once (the day the record was made).
    interval = case((and_(base.c.unattended, base.c.last_visit_on.is_(None)), literal(0)),
                    (base.c.risk_level == "high", literal(intervals["high"])),
                    (base.c.risk_level == "medium", literal(intervals["medium"])),
                    else_=literal(intervals["low"]))
    by_risk = add_days(func.coalesce(base.c.last_visit_on, base.c.created_on, type_=Date()), interval)
    due_on = case((and_(base.c.found_on.isnot(None),
                        or_(base.c.last_visit_on.is_(None), base.c.last_visit_on < base.c.found_on)), base.c.found_on),
                  else_=by_risk)
    rows = select(base.c.child_id, base.c.name, base.c.village_code, base.c.risk_level,
                  base.c.last_visit_on, due_on.label("due_on")).subquery("due")
    days_overdue = days_between(rows.c.due_on, literal(today, Date())).label("days_overdue")
    query = select(rows.c.child_id, rows.c.name, rows.c.village_code, rows.c.risk_level,
                   rows.c.last_visit_on, rows.c.due_on, days_overdue)
    if status == "overdue":
        query = query.where(rows.c.due_on < today)
    elif status == "due_soon":
        query = query.where(and_(rows.c.due_on >= today, rows.c.due_on <= today + timedelta(days=DUE_SOON_DAYS)))
    risk_rank = case(*((rows.c.risk_level == k, v) for k, v in RISK_ORDER.items()), else_=3)
    order = (rows.c.due_on.asc(), risk_rank, rows.c.village_code, rows.c.name, rows.c.child_id)
    return query, order


def _status_of(days_overdue: int) -> str:
    if days_overdue > 0:
        return "overdue"
    if days_overdue >= -DUE_SOON_DAYS:
        return "due_soon"
    return "ok"


def due_visits(session, actor, *, unit: str | None = None, status: str = "all", page: int = 1,
               per_page: int = 50, today: date | None = None) -> tuple[list[dict], int]:
    if status not in STATUSES:
        raise ValidationFailed(INVALID, errors={"status": [
            _l("取值无效，可选：%(choices)s", choices=", ".join(STATUSES))]})
    code = _unit_of(actor, unit)
    today = today or today_cst()
    intervals, _ = intervals_for(session, code[:2])
    query, order = due_query(code, intervals, today, status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    names = dict(session.execute(select(Unit.code, Unit.name).where(
        Unit.code.in_(sorted({r.village_code for r in rows})))).all()) if rows else {}
    items = [{"child_id": r.child_id, "name": r.name, "village_code": r.village_code,
              "village_name": names.get(r.village_code, ""),
              "risk_level": r.risk_level, "last_visit_on": r.last_visit_on, "due_on": r.due_on,
              "days_overdue": r.days_overdue, "status": _status_of(r.days_overdue)} for r in rows]
    return items, total
