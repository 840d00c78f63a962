"""Appointments (任职) and departures (离任), with the handover a departure starts: the unit above is told the
unit is vacant (a notification), and who covers it meanwhile when a cover is named at once.

The unit's open work (tasks, due visits, cases) belongs to the unit, not to the person, so nothing moves: the
successor or the coverer finds it on the roster's unit page (tenant_app.workforce.handover).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from tenant_app import clock
from tenant_app.errors import Conflict, NotFound
from tenant_app.i18n import _l
from tenant_app.notifications.services import notify
from tenant_app.workforce import access, covers, people, validation
from tenant_app.workforce import enums as E
from tenant_app.workforce.models import Appointment, Cover, RosterPerson

UNIT_FILLED = _l("该单位已有在任人员，请先登记其离任")
PERSON_BUSY = _l("该人员仍在其他岗位任职，请先登记离任")
ALREADY_LEFT = _l("该任职已登记离任")


def unit_link(code: str) -> str:
    return f"/roster/units/{code}"


def overseer_of(code: str) -> str:
    """The unit told of a vacancy: a village's township, a township's county."""
    return code[:9] if len(code) == 12 else code[:6]


def get_appointment(session, appointment_id: int, *, for_update: bool = False) -> Appointment:
    query = select(Appointment).where(Appointment.id == appointment_id)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("没有该任职记录"))
    return row


def current(session, code: str, today=None) -> Appointment | None:
    today = today or clock.today_cst()
    return session.scalars(select(Appointment).where(
        Appointment.region_code == code, Appointment.appointed_on <= today,
        or_(Appointment.left_on.is_(None), Appointment.left_on > today)).limit(1)).first()


def appoint(session, actor, data: dict) -> Appointment:
    """Appoint a registered person to the post of a village (director) or township (supervisor)."""
    access.require_manage(actor)
    errors: dict = {}
    code = validation.text(data.get("unit_code"))
    post = access.post_of(code)
    if post is None:
        validation.add(errors, "unit_code", _l("请选择村（居）或乡镇（街道）"))
    else:
        unit = access.get_unit(session, actor, code)
        access.require_manage_unit(actor, code)
        if unit.retired:
            validation.add(errors, "unit_code", _l("该单位已撤销"))
    values = {"employment": data.get("employment"), "other_post": validation.text(data.get("other_post")),
              "appointed_on": data.get("appointed_on")}
    errors.update({k: v for k, v in validation.appointment_errors(values, clock.today_cst()).items()
                   if k not in errors})
    person = None
    if data.get("person_id") is None:
        validation.add(errors, "person_id", validation.REQUIRED)
    else:
        person = session.execute(select(RosterPerson).where(RosterPerson.id == data["person_id"])
                                 .with_for_update()).scalar_one_or_none()
        if person is None:
            validation.add(errors, "person_id", _l("名册中没有该人员"))
    people.raise_if(errors)
    if session.scalar(select(Appointment.id).where(Appointment.person_id == person.id,
                                                   Appointment.left_on.is_(None)).limit(1)) is not None:
        people.raise_if({"person_id": [PERSON_BUSY]})
    if session.scalar(select(Appointment.id).where(Appointment.region_code == code, Appointment.post == post,
                                                   Appointment.left_on.is_(None)).limit(1)) is not None:
        raise Conflict(UNIT_FILLED, errors={"unit_code": [UNIT_FILLED]}, code="post_filled")
    now = clock.now()
    row = Appointment(region_code=code, person_id=person.id, post=post, created_by_id=actor.id,
                      updated_by_id=actor.id, created_at=now, updated_at=now, leave_reason="", **values)
    session.add(row)
    if person.region_code != code:
        person.region_code = code  # a person belongs to the unit of their latest appointment
        person.updated_by_id, person.updated_at = actor.id, now
    # The successor takes over: an open cover of the unit ends the day before the appointment.
    for cover in session.scalars(select(Cover).where(Cover.region_code == code, Cover.post == post,
                                                     or_(Cover.until.is_(None),
                                                         Cover.until >= values["appointed_on"]))):
        cover.until = max(cover.since, values["appointed_on"] - timedelta(days=1))
        cover.updated_by_id, cover.updated_at = actor.id, now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(UNIT_FILLED, errors={"unit_code": [UNIT_FILLED]}, code="post_filled") from None
    return row


def end(session, actor, appointment_id: int, data: dict) -> Appointment:
    """Record a departure (`left_on`, the first day without the person; `version` required). The unit above is
    told the unit is vacant; a cover named with it (`cover_person_id`) starts on `left_on`."""
    access.require_manage(actor)
    row = get_appointment(session, appointment_id, for_update=True)
    access.require_manage_unit(actor, row.region_code)
    people.check_version(row, data.get("version"))
    if row.left_on is not None:
        raise Conflict(ALREADY_LEFT, errors={"left_on": [ALREADY_LEFT]}, code="already_left")
    errors: dict = {}
    left_on = data.get("left_on")
    if left_on is None:
        validation.add(errors, "left_on", validation.REQUIRED)
    elif left_on < row.appointed_on:
        validation.add(errors, "left_on", _l("离任日期不能早于任职日期"))
    elif left_on > clock.today_cst():
        validation.add(errors, "left_on", _l("离任日期不能晚于今天"))
    reason = validation.text(data.get("leave_reason"))
    if len(reason) > validation.LIMITS["leave_reason"]:
        validation.add(errors, "leave_reason", _l("最多 %(n)s 字", n=validation.LIMITS["leave_reason"]))
    people.raise_if(errors)
    row.left_on, row.leave_reason = left_on, reason
    row.updated_by_id, row.updated_at = actor.id, clock.now()
    session.flush()
    cover = None
    if data.get("cover_person_id") is not None:
        cover = covers.start(session, actor, {"unit_code": row.region_code, "person_id": data["cover_person_id"],
                                              "since": left_on, "note": data.get("cover_note") or ""},
                             notify_overseer=False, field="cover_person_id")
    tell_vacant(session, actor, row, cover)
    return row


def tell_vacant(session, actor, row: Appointment, cover: Cover | None) -> None:
    from hierarchy.models import Unit

    unit = session.get(Unit, row.region_code)
    name = unit.name if unit is not None else row.region_code
    post = E.POSTS[row.post]
    since = row.left_on.isoformat()
    if cover is not None:
        message = f"{name}{post}自{since}起空缺，由{cover.coverer_name}（{cover.coverer_phone}）代管。"
    else:
        message = f"{name}{post}自{since}起空缺，请尽快安排代管并补充人员。"
    notify(session, overseer_of(row.region_code), "roster_vacant", f"{name}{post}岗位空缺",
           link=unit_link(row.region_code), message=message, sender=actor)


def history(session, code: str) -> list[tuple[Appointment, RosterPerson]]:
    """Every appointment of a unit, latest first, with its person."""
    return session.execute(select(Appointment, RosterPerson).join(RosterPerson, RosterPerson.id ==
                                                                  Appointment.person_id)
                           .where(Appointment.region_code == code)
                           .order_by(Appointment.appointed_on.desc(), Appointment.id.desc())).all()


def of_person(session, person_id: int) -> list[Appointment]:
    return session.scalars(select(Appointment).where(Appointment.person_id == person_id)
                           .order_by(Appointment.appointed_on.desc(), Appointment.id.desc())).all()
