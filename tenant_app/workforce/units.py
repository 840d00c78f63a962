"""A unit's roster: its post, the holder today, the cover, the history of appointments and covers, and the
open work a successor or coverer takes over; lists of appointments over a subtree."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from tenant_app import clock
from tenant_app.errors import NotFound
from tenant_app.i18n import _l
from tenant_app.workforce import access, appointments, covers, handover, vacancies
from tenant_app.workforce.models import Appointment, Cover, RosterPerson


def item(row: Appointment, person: RosterPerson) -> dict:
    return {"id": row.id, "region_code": row.region_code, "person_id": row.person_id, "person_name": person.name,
            "post": row.post, "employment": row.employment, "other_post": row.other_post,
            "appointed_on": row.appointed_on, "left_on": row.left_on, "leave_reason": row.leave_reason,
            "version": row.version, "updated_at": row.updated_at}


def summary(session, actor, unit: str | None) -> dict:
    code = (unit or actor.region_code).strip()
    found = access.get_unit(session, actor, code)
    return {"unit_code": found.code, "unit_name": found.name, **vacancies.summary(session, actor, code)}


def unit_roster(session, actor, code: str) -> dict:
    unit = access.get_unit(session, actor, code)
    post = access.post_of(unit.code)
    if post is None:
        raise NotFound(_l("只有村（居）和乡镇（街道）有名册岗位"))
    today = clock.today_cst()
    history = [item(a, p) for a, p in appointments.history(session, unit.code)]
    holder = next((h for h in history if h["appointed_on"] <= today
                   and (h["left_on"] is None or h["left_on"] > today)), None)
    cover_rows = session.scalars(select(Cover).where(Cover.region_code == unit.code)
                                 .order_by(Cover.since.desc(), Cover.id.desc())).all()
    return {"unit_code": unit.code, "unit_name": unit.name, "post": post, "holder": holder,
            "cover": None if holder else covers.current_cover(session, unit.code, today),
            "history": history, "covers": cover_rows, "open_work": handover.open_work(session, actor, unit.code)}


def list_appointments(session, actor, *, unit: str | None = None, current: bool | None = None, page: int = 1,
                      per_page: int = 50):
    today = clock.today_cst()
    query = (select(Appointment, RosterPerson).join(RosterPerson, RosterPerson.id == Appointment.person_id)
             .where(access.subtree(Appointment.region_code, actor, unit)))
    active = (Appointment.appointed_on <= today) & or_(Appointment.left_on.is_(None), Appointment.left_on > today)
    if current is not None:
        query = query.where(active if current else ~active)
    total = session.scalar(select(func.count()).select_from(query.with_only_columns(Appointment.id).subquery()))
    rows = session.execute(query.order_by(Appointment.region_code, Appointment.appointed_on.desc(), Appointment.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [item(a, p) for a, p in rows], total


def eligible_coverers(session, code: str) -> list[tuple[Appointment, RosterPerson]]:
    """People who may cover a vacant unit today: directors of the township's other villages and its supervisor
    (a village), supervisors of the county's other townships (a township)."""
    parent = code[:9] if len(code) == 12 else code[:6]
    today = clock.today_cst()
    query = (select(Appointment, RosterPerson).join(RosterPerson, RosterPerson.id == Appointment.person_id)
             .where(Appointment.left_on.is_(None), Appointment.appointed_on <= today,
                    Appointment.region_code != code))
    if len(code) == 12:
        query = query.where(or_((Appointment.region_code > parent) & (Appointment.region_code < parent + ":"),
                                Appointment.region_code == parent))
    else:
        query = query.where(Appointment.region_code > parent, Appointment.region_code < parent + ":",
                            Appointment.post == "supervisor")
    return session.execute(query.order_by(Appointment.post.desc(), Appointment.region_code).limit(200)).all()
