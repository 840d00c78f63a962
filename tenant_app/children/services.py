"""Child records: create, correct, read (audited), list, history. The API commits at the request boundary."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit, utcnow
from hierarchy.scope import current_scope, reusable
from tenant_app.children import access, probes
from tenant_app.children.idcard import is_full_id_number, mask_id, normalize
from tenant_app.children.models import AuditEvent, Child, ChildChange
from tenant_app.children.validation import derive, today_cst, validate_child
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l

# Fields a caller may submit; the rest (ids, codes, derived flags, bookkeeping) are the system's.
SYSTEM_FIELDS = {"id", "region_code", "province_code", "unattended", "version", "created_by_id", "created_at",
                 "updated_by_id", "updated_at"}
FIELDS = tuple(c.key for c in Child.__table__.columns if c.key not in SYSTEM_FIELDS)
ID_FIELDS = ("id_number", "father_id_number", "mother_id_number", "guardian_id_number")
INVALID = _l("儿童档案数据有误")
RETURNED_PURPOSE = _l("保存后返回完整档案")
EDIT_PURPOSE = _l("编辑档案")
DEFAULTS = {c.key: c.default.arg for c in Child.__table__.columns
            if c.default is not None and not callable(c.default.arg)}
DEFAULTS.update(income_sources=[], assistance=[])


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def snapshot(child: Child) -> dict:
    return {c.key: _jsonable(getattr(child, c.key)) for c in Child.__table__.columns}


def _values(child: Child) -> dict:
    return {field: getattr(child, field) for field in (*FIELDS, "unattended")}


def _clean(data: dict) -> dict:
    cleaned = {k: v for k, v in data.items() if k in FIELDS}
    for field in ID_FIELDS:
        if field in cleaned:
            cleaned[field] = normalize(cleaned[field]) or None
    return cleaned


# --- duplicates: one ID number per province, checked across villages the caller may not see --------

def duplicate_message(session, actor, province_code: str, id_number: str | None,
                      exclude_id: int | None = None) -> str | None:
    """Where the number is registered, if the caller may see it; outside the caller's subtree only that it
    is, and that answer is audited, counted and throttled (tenant_app.children.probes)."""
    if not id_number:
        return None
    if actor is not None:
        probes.require_answer(session, actor)
    query = select(Child.id, Child.region_code).where(
        Child.province_code == province_code, Child.id_number == id_number)
    if exclude_id is not None:
        query = query.where(Child.id != exclude_id)
    with access.narrow_scope(session, province_code):
        hit = session.execute(query.limit(1)).first()
    if hit is None:
        return None
    if current_scope().covers(hit.region_code):
        return inside_message(session, hit.region_code, hit.id)
    if actor is not None:
        probes.record(session, actor, [(hit.id, hit.region_code)], "form")
    return probes.OUTSIDE_MESSAGE


def inside_message(session, village: str, child_id: int, units: dict | None = None) -> str:
    """A duplicate within the caller's subtree: the caller may know where."""
    unit = units.get(village) if units is not None else session.get(Unit, village)
    name = unit.name if unit is not None else ""
    return _l("该身份证号已在%(name)s（%(code)s）登记，档案编号 %(record)s", name=name, code=village, record=child_id)


def _flush_unique(session, province_code: str, id_number: str | None) -> None:
    """Flush; a duplicate the check above could not see (a race) surfaces as the constraint."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(INVALID, errors={"id_number": [
            _l("该身份证号已在本省登记")]}) from None


def _check(session, actor, data: dict, province_code: str, exclude_id: int | None, ref: date | None,
           check_duplicate: bool = True) -> dict:
    errors = validate_child(data, ref)
    if "id_number" not in errors and check_duplicate:
        message = duplicate_message(session, actor, province_code, data.get("id_number"), exclude_id)
        if message:
            errors.setdefault("id_number", []).append(message)
    if errors:
        raise ValidationFailed(INVALID, errors=errors)
    return derive(data)


def _record_change(session, actor, child: Child, action: str, changes: dict) -> ChildChange:
    change = ChildChange(child_id=child.id, region_code=child.region_code, version=child.version, action=action,
                         changed_by_id=actor.id if actor is not None else None, changed_at=utcnow(),
                         changes=changes, snapshot=snapshot(child))
    session.add(change)
    session.flush()
    return change


def create_child(session, actor, data: dict, *, ref: date | None = None) -> Child:
    access.require_create(actor)
    village = (data.get("village_code") or actor.region_code).strip()
    if village != actor.region_code:
        raise ValidationFailed(INVALID, errors={"village_code": [
            _l("只能在本村建档")]})
    values = {**DEFAULTS, **_clean(data)}
    values.update(_check(session, actor, values, village[:2], None, ref))
    child = Child(region_code=village, province_code=village[:2], created_by_id=actor.id,
                  updated_by_id=actor.id, **values)
    session.add(child)
    _flush_unique(session, child.province_code, child.id_number)
    _record_change(session, actor, child, "create",
                   {k: [None, _jsonable(v)] for k, v in values.items() if v not in (None, "", [], False)})
    return child


_GET_CHILD = reusable(select(Child).where(Child.id == bindparam("child_id")))


def get_child(session, child_id: int) -> Child:
    child = session.execute(_GET_CHILD, {"child_id": child_id}).scalar_one_or_none()
    if child is None:
        raise NotFound(_l("儿童档案不存在"))
    return child


def update_child(session, actor, child_id: int, data: dict, *, ref: date | None = None) -> Child:
    access.require_edit(actor)
    child = get_child(session, child_id)
    expected = data.get("version")
    if expected != child.version:
        raise Conflict(_l("档案已被他人修改，请刷新后重试"),
                       current_version=child.version)
    submitted = _clean(data)
    before = _values(child)
    merged = {**before, **submitted}
    if merged.get("guardianship_type") == "unattended":
        # Derived, not entered: a record sent back whole still carries it, so derive it again from the facts.
        merged["guardianship_type"] = None
    # An unchanged number cannot collide (the unique constraint holds it): no check, so no probe to count.
    merged.update(_check(session, actor, merged, child.province_code, child.id, ref,
                         check_duplicate=merged.get("id_number") != before.get("id_number")))
    if merged.get("status") == "exited" and before.get("status") != "exited" and not merged.get("exited_at"):
        merged["exited_at"] = today_cst()
    if merged.get("status") == "active":
        merged["exited_at"] = None
    changes = {k: [_jsonable(before[k]), _jsonable(v)] for k, v in merged.items() if before.get(k) != v}
    if not changes:
        return child
    for key, value in merged.items():
        if key in changes:
            setattr(child, key, value)
    child.updated_by_id = actor.id
    child.updated_at = utcnow()
    try:
        _flush_unique(session, child.province_code, child.id_number)
    except StaleDataError:
        raise Conflict(_l("档案已被他人修改，请刷新后重试")) from None
    _record_change(session, actor, child, "update", changes)
    return child


def get_child_for_read(session, actor, child_id: int, purpose: str | None = None) -> Child:
    """The full record (ID numbers in clear); every such read leaves an audit row."""
    child = get_child(session, child_id)
    audit(session, actor, child, "read", purpose)
    return child


def audit(session, actor, child: Child, action: str, purpose: str | None) -> AuditEvent:
    event = AuditEvent(region_code=child.region_code, user_id=actor.id, user_region_code=actor.region_code,
                       child_id=child.id, action=action, purpose=(purpose or "查看档案 / view record")[:200],
                       at=utcnow())
    session.add(event)
    session.flush()
    return event


# --- lists ------------------------------------------------------------------------------------------

def _subtree(column, actor, unit_code: str | None):
    code = (unit_code or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    return (column >= code) & (column < code + ":")


def _page(session, query, order_by, page: int, per_page: int, *, entities: bool = True):
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(*order_by).limit(per_page).offset((page - 1) * per_page))
    return (rows.scalars().all() if entities else rows.all()), total


CATEGORY_COLUMNS = {"left_behind": Child.is_left_behind, "in_difficulty": Child.is_in_difficulty,
                    "de_facto_unsupported": Child.is_de_facto_unsupported}


def list_children(session, actor, *, unit: str | None = None, category: str | None = None,
                  risk_level: str | None = None, status: str | None = None, unattended: bool | None = None,
                  q: str | None = None, page: int = 1, per_page: int = 50, summary: bool = False):
    """A page of child records and the total. `summary`: rows of the list's columns only (LIST_COLUMNS, what
    `list_item` shows) instead of whole records: a list page then reads a fifth of each row."""
    code = (unit or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    params = {"cl_lo": code, "cl_hi": code + ":", "cl_limit": per_page, "cl_offset": (page - 1) * per_page}
    if risk_level:
        params["cl_risk"] = risk_level
    if status:
        params["cl_status"] = status
    number = normalize(q) if q else None
    full_number = bool(number) and is_full_id_number(number)
    if full_number:
        params["cl_id_number"] = number
    if q and not full_number:
        # A part of a name, escaped as a literal: a statement of its own each time (not kept).
        query = _child_list_query(summary, category or None, bool(risk_level), bool(status), unattended, False)
        query = query.where(Child.name.contains(q.strip(), autoescape=True))
        count, rows = select(func.count()).select_from(query.subquery()), _ordered_page(query)
    else:
        count, rows = _kept_child_list_statements(summary, category or None, bool(risk_level), bool(status),
                                                  unattended, full_number)
    total = session.scalar(count, params)
    result = session.execute(rows, params)
    return (result.all() if summary else result.scalars().all()), total


_CHILD_ORDER = (Child.region_code, Child.name, Child.id)


def _ordered_page(query):
    return query.order_by(*_CHILD_ORDER).limit(bindparam("cl_limit", type_=Integer)).offset(
        bindparam("cl_offset", type_=Integer))


def _child_list_query(summary: bool, category: str | None, with_risk: bool, with_status: bool,
                      unattended: bool | None, with_number: bool):
    query = select(*LIST_COLUMNS) if summary else select(Child)
    query = query.where(Child.region_code >= bindparam("cl_lo"), Child.region_code < bindparam("cl_hi"))
    if category:
        query = query.where(CATEGORY_COLUMNS[category].is_(True))
    if with_risk:
        query = query.where(Child.risk_level == bindparam("cl_risk"))
    if with_status:
        query = query.where(Child.status == bindparam("cl_status"))
    if unattended is not None:
        query = query.where(Child.unattended.is_(unattended))
    if with_number:  # a full ID number is matched exactly (the list still masks it)
        query = query.where(Child.id_number == bindparam("cl_id_number"))
    return query


@lru_cache(maxsize=256)
def _kept_child_list_statements(summary: bool, category: str | None, with_risk: bool, with_status: bool,
                                unattended: bool | None, with_number: bool) -> tuple:
    """(count, page) of one combination of filters (see list_children), values as bound parameters (`cl_*`):
    built once and kept."""
    query = _child_list_query(summary, category, with_risk, with_status, unattended, with_number)
    return reusable(select(func.count()).select_from(query.subquery())), reusable(_ordered_page(query))


def list_unattended(session, actor, unit: str | None = None, page: int = 1, per_page: int = 50,
                    summary: bool = False):
    """The unattended children (无人监护) of a township's or county's subtree, still on the books."""
    return list_children(session, actor, unit=unit, unattended=True, status="active", page=page,
                         per_page=per_page, summary=summary)


LIST_COLUMNS = (Child.id, Child.name, Child.region_code, Child.id_number, Child.is_left_behind,
                Child.is_in_difficulty, Child.is_de_facto_unsupported, Child.risk_level, Child.status,
                Child.unattended, Child.sex, Child.birth_date)


def list_item(child) -> dict:
    """A list's line of a child record (a Child, or a row of LIST_COLUMNS); the ID number masked."""
    flags = (("left_behind", child.is_left_behind), ("in_difficulty", child.is_in_difficulty),
             ("de_facto_unsupported", child.is_de_facto_unsupported))
    categories = [name for name, on in flags if on]
    return {"id": child.id, "name": child.name, "village_code": child.region_code,
            "id_number": mask_id(child.id_number), "category": categories, "risk_level": child.risk_level,
            "status": child.status, "unattended": child.unattended, "sex": child.sex,
            "birth_date": child.birth_date}


# --- history ----------------------------------------------------------------------------------------

def _mask_change(changes: dict) -> dict:
    return {k: [mask_id(v) for v in pair] if k in ID_FIELDS else pair for k, pair in changes.items()}


def history(session, actor, child_id: int) -> list[ChildChange]:
    child = get_child(session, child_id)
    rows = session.scalars(select(ChildChange).where(ChildChange.child_id == child.id)
                           .order_by(ChildChange.version)).all()
    return [{"version": r.version, "action": r.action, "changed_by_id": r.changed_by_id,
             "changed_at": r.changed_at, "changes": _mask_change(r.changes)} for r in rows]


def version_snapshot(session, actor, child_id: int, version: int, purpose: str | None = None) -> dict:
    """One past version in full; audited like a full read."""
    child = get_child(session, child_id)
    row = session.scalars(select(ChildChange).where(ChildChange.child_id == child.id,
                                                    ChildChange.version == version)).first()
    if row is None:
        raise NotFound(_l("没有该版本"))
    audit(session, actor, child, "read_version", purpose)
    return {"version": row.version, "changed_by_id": row.changed_by_id, "changed_at": row.changed_at,
            "record": row.snapshot}


# --- audit ------------------------------------------------------------------------------------------

def list_audit(session, actor, *, unit: str | None = None, child_id: int | None = None, page: int = 1,
               per_page: int = 50):
    access.require_admin(actor)
    query = select(AuditEvent).where(_subtree(AuditEvent.region_code, actor, unit))
    if child_id is not None:
        query = query.where(AuditEvent.child_id == child_id)
    return _page(session, query, (AuditEvent.at.desc(), AuditEvent.id.desc()), page, per_page)


def is_village(code: str) -> bool:
    return is_valid_code(code) and level_of(code) == Level.village

