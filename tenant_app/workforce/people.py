"""People of the roster: register, correct (version checked), read in full (audited), list (ID numbers masked)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.children.idcard import is_full_id_number, mask_id, normalize
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.workforce import access, validation
from tenant_app.workforce.models import Appointment, RosterPerson, RosterRead

INVALID = _l("名册数据有误")
STALE = _l("记录已被他人修改，请刷新后重试")
DUPLICATE = _l("该身份证号已在本省名册登记")
RETURNED_PURPOSE = _l("保存后返回完整信息")
DEFAULT_PURPOSE = "查看名册人员 / view roster person"
FIELDS = ("name", "sex", "id_number", "phone", "qualifications")


def raise_if(errors: dict) -> None:
    if errors:
        raise ValidationFailed(INVALID, errors=errors)


def check_version(row, expected) -> None:
    if expected is not None and expected != row.version:
        raise Conflict(STALE, code="stale_version", current_version=row.version)


def _user_link(session, actor, user_id, errors: dict, exclude_person: int | None = None):
    if user_id is None:
        return None
    user = session.execute(select(User).where(User.id == user_id)).scalar_one_or_none()
    if user is None or user.role == "reporter":
        validation.add(errors, "user_id", _l("账号不存在或不在管辖范围内"))
        return None
    taken = select(RosterPerson.id).where(RosterPerson.user_id == user_id)
    if exclude_person is not None:
        taken = taken.where(RosterPerson.id != exclude_person)
    if session.scalar(taken.limit(1)) is not None:
        validation.add(errors, "user_id", _l("该账号已关联其他人员"))
    return user.id


def _flush(session) -> None:
    """Flush; an ID number registered elsewhere in the province surfaces as the unique constraint."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ValidationFailed(INVALID, errors={"id_number": [DUPLICATE]}) from None


def _duplicate_in_scope(session, province: str, number: str, exclude: int | None) -> bool:
    query = select(RosterPerson.id).where(RosterPerson.province_code == province, RosterPerson.id_number == number)
    if exclude is not None:
        query = query.where(RosterPerson.id != exclude)
    return session.scalar(query.limit(1)) is not None


def register(session, actor, data: dict) -> RosterPerson:
    """A new person registered at a village or township of the caller's subtree (`unit_code`)."""
    access.require_manage(actor)
    errors: dict = {}
    unit_code = validation.text(data.get("unit_code"))
    if not unit_code or access.post_of(unit_code) is None:
        validation.add(errors, "unit_code", _l("请选择村（居）或乡镇（街道）"))
    else:
        access.get_unit(session, actor, unit_code)
    values = validation.clean_person(data)
    errors.update({k: v for k, v in validation.person_errors(values, clock.today_cst()).items()
                   if k not in errors})
    user_id = _user_link(session, actor, data.get("user_id"), errors)
    if "id_number" not in errors and _duplicate_in_scope(session, unit_code[:2], values["id_number"], None):
        validation.add(errors, "id_number", DUPLICATE)
    raise_if(errors)
    now = clock.now()
    person = RosterPerson(region_code=unit_code, province_code=unit_code[:2], user_id=user_id,
                          created_by_id=actor.id, updated_by_id=actor.id, created_at=now, updated_at=now,
                          **{f: values.get(f, "") for f in FIELDS})
    session.add(person)
    _flush(session)
    return person


def get_person(session, person_id: int, *, for_update: bool = False) -> RosterPerson:
    query = select(RosterPerson).where(RosterPerson.id == person_id)
    if for_update:
        query = query.with_for_update()
    person = session.execute(query).scalar_one_or_none()
    if person is None:
        raise NotFound(_l("名册中没有该人员"))
    return person


def update(session, actor, person_id: int, data: dict) -> RosterPerson:
    """Correct a person's fields; `version` must be the one read (else 409, nothing changes)."""
    access.require_manage(actor)
    person = get_person(session, person_id, for_update=True)
    check_version(person, data.get("version"))
    values = {f: getattr(person, f) for f in FIELDS}
    values.update(validation.clean_person(data))
    errors = validation.person_errors(values, clock.today_cst())
    user_id = person.user_id
    if "user_id" in data:
        user_id = _user_link(session, actor, data["user_id"], errors, exclude_person=person.id)
    if "id_number" not in errors and values["id_number"] != person.id_number \
            and _duplicate_in_scope(session, person.province_code, values["id_number"], person.id):
        validation.add(errors, "id_number", DUPLICATE)
    raise_if(errors)
    for field in FIELDS:
        setattr(person, field, values[field])
    person.user_id = user_id
    person.updated_by_id, person.updated_at = actor.id, clock.now()
    _flush(session)
    return person


def audit(session, actor, person: RosterPerson, action: str, purpose) -> None:
    session.add(RosterRead(region_code=person.region_code, person_id=person.id, user_id=actor.id,
                           user_region_code=actor.region_code, action=action,
                           purpose=str(purpose or DEFAULT_PURPOSE)[:200], at=clock.now()))
    session.flush()


def read(session, actor, person_id: int, purpose=None) -> RosterPerson:
    """The full record, ID number in clear: every such read leaves an audit row."""
    person = get_person(session, person_id)
    audit(session, actor, person, "read", purpose)
    return person


def list_people(session, actor, *, unit: str | None = None, q: str | None = None, current: bool | None = None,
                page: int = 1, per_page: int = 50):
    """People of a subtree, by unit and name. `q`: part of a name, or a whole ID number matched exactly.
    `current`: only people holding a post today (True) or only those holding none (False)."""
    query = select(RosterPerson).where(access.subtree(RosterPerson.region_code, actor, unit))
    q = (q or "").strip()
    if q:
        number = normalize(q)
        query = query.where(RosterPerson.id_number == number) if is_full_id_number(number) \
            else query.where(RosterPerson.name.contains(q, autoescape=True))
    if current is not None:
        holding = select(Appointment.id).where(Appointment.person_id == RosterPerson.id,
                                               or_(Appointment.left_on.is_(None),
                                                   Appointment.left_on > clock.today_cst())).exists()
        query = query.where(holding if current else ~holding)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(RosterPerson.region_code, RosterPerson.name, RosterPerson.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def list_item(person: RosterPerson) -> dict:
    return {"id": person.id, "unit_code": person.region_code, "name": person.name, "sex": person.sex,
            "id_number": mask_id(person.id_number), "phone": person.phone, "user_id": person.user_id,
            "version": person.version}


def list_reads(session, actor, *, person_id: int | None = None, page: int = 1, per_page: int = 50):
    """Full reads of roster records in the caller's subtree (administrators)."""
    from tenant_app.children.access import require_admin

    require_admin(actor)
    query = select(RosterRead).where(access.subtree(RosterRead.region_code, actor, None))
    if person_id is not None:
        query = query.where(RosterRead.person_id == person_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(RosterRead.at.desc(), RosterRead.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
