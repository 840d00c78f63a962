"""Covers (代管) of a vacant unit: the director of another village of the same township or the township's
supervisor covers a village; the supervisor of another township of the same county covers a township. The unit
above is told; the units above see the vacancy with its cover (tenant_app.workforce.vacancies)."""

from __future__ import annotations

from sqlalchemy import or_, select

from tenant_app import clock
from tenant_app.errors import Conflict, NotFound
from tenant_app.i18n import _l
from tenant_app.notifications.services import notify
from tenant_app.workforce import access, people, validation
from tenant_app.workforce import enums as E
from tenant_app.workforce.models import Appointment, Cover, RosterPerson

NOT_ELIGIBLE = _l("代管人须为同乡镇其他村的在任儿童主任或本乡镇督导员（乡镇空缺时为同县其他乡镇督导员）")
NOT_VACANT = _l("该单位有在任人员，无需代管")
ALREADY_COVERED = _l("该单位已有代管人员，请先结束原代管")


def _kind(vacant: str, holder: str, post: str) -> str | None:
    """The kind of cover the holder of `post` at unit `holder` gives the vacant unit, None if not allowed."""
    if len(vacant) == 12:
        if post == "director" and len(holder) == 12 and holder != vacant and holder[:9] == vacant[:9]:
            return "neighbour_director"
        if post == "supervisor" and holder == vacant[:9]:
            return "township_supervisor"
    elif len(vacant) == 9 and post == "supervisor" and len(holder) == 9 and holder != vacant \
            and holder[:6] == vacant[:6]:
        return "neighbour_supervisor"
    return None


def get_cover(session, cover_id: int, *, for_update: bool = False) -> Cover:
    query = select(Cover).where(Cover.id == cover_id)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("没有该代管记录"))
    return row


def current_cover(session, code: str, today=None) -> Cover | None:
    today = today or clock.today_cst()
    return session.scalars(select(Cover).where(Cover.region_code == code, Cover.since <= today,
                                               or_(Cover.until.is_(None), Cover.until >= today))
                           .order_by(Cover.since.desc()).limit(1)).first()


def start(session, actor, data: dict, *, notify_overseer: bool = True, field: str = "person_id") -> Cover:
    """A cover of a vacant unit from `since` (default today) to `until` (open when absent)."""
    from tenant_app.workforce.appointments import current, overseer_of, unit_link

    access.require_manage(actor)
    today = clock.today_cst()
    errors: dict = {}
    code = validation.text(data.get("unit_code"))
    post = access.post_of(code)
    if post is None:
        people.raise_if({"unit_code": [_l("请选择村（居）或乡镇（街道）")]})
    unit = access.get_unit(session, actor, code)
    access.require_manage_unit(actor, code)
    since, until = data.get("since") or today, data.get("until")
    if until is not None and until < since:
        validation.add(errors, "until", _l("结束日期不能早于开始日期"))
    note = validation.text(data.get("note"))
    if len(note) > validation.LIMITS["note"]:
        validation.add(errors, "note", _l("最多 %(n)s 字", n=validation.LIMITS["note"]))
    holder = None
    if data.get("person_id") is None:
        validation.add(errors, field, validation.REQUIRED)
    else:
        holder = session.execute(select(Appointment, RosterPerson)
                                 .join(RosterPerson, RosterPerson.id == Appointment.person_id)
                                 .where(Appointment.person_id == data["person_id"], Appointment.left_on.is_(None))
                                 ).first()
        if holder is None or _kind(code, holder.Appointment.region_code, holder.Appointment.post) is None:
            validation.add(errors, field, NOT_ELIGIBLE)
    people.raise_if(errors)
    if current(session, code, today) is not None:
        raise Conflict(NOT_VACANT, errors={"unit_code": [NOT_VACANT]}, code="not_vacant")
    if session.scalar(select(Cover.id).where(Cover.region_code == code, or_(Cover.until.is_(None),
                                                                            Cover.until >= since))
                      .limit(1)) is not None:
        raise Conflict(ALREADY_COVERED, errors={"unit_code": [ALREADY_COVERED]}, code="already_covered")
    appointment, person = holder.Appointment, holder.RosterPerson
    now = clock.now()
    cover = Cover(region_code=code, post=post, person_id=person.id, coverer_unit_code=appointment.region_code,
                  coverer_name=person.name, coverer_phone=person.phone,
                  kind=_kind(code, appointment.region_code, appointment.post), since=since, until=until, note=note,
                  created_by_id=actor.id, updated_by_id=actor.id, created_at=now, updated_at=now)
    session.add(cover)
    session.flush()
    if notify_overseer:
        notify(session, overseer_of(code), "roster_cover", f"{unit.name}{E.POSTS[post]}空缺期间代管安排",
               link=unit_link(code), sender=actor,
               message=f"自{since.isoformat()}起由{cover.coverer_name}（{cover.coverer_phone}）代管。")
    return cover


def finish(session, actor, cover_id: int, data: dict) -> Cover:
    """End a cover on `until` (default today); `version` required."""
    access.require_manage(actor)
    cover = get_cover(session, cover_id, for_update=True)
    access.require_manage_unit(actor, cover.region_code)
    people.check_version(cover, data.get("version"))
    until = data.get("until") or clock.today_cst()
    if until < cover.since:
        people.raise_if({"until": [_l("结束日期不能早于开始日期")]})
    if cover.until is not None and cover.until < until:
        raise Conflict(_l("该代管已结束"), errors={"until": [_l("该代管已结束")]}, code="already_ended")
    cover.until = until
    cover.updated_by_id, cover.updated_at = actor.id, clock.now()
    session.flush()
    return cover


def list_covers(session, actor, *, unit: str | None = None, current_only: bool = True, page: int = 1,
                per_page: int = 50):
    from sqlalchemy import func

    today = clock.today_cst()
    query = select(Cover).where(access.subtree(Cover.region_code, actor, unit))
    if current_only:
        query = query.where(Cover.since <= today, or_(Cover.until.is_(None), Cover.until >= today))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Cover.region_code, Cover.since.desc(), Cover.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total
