"""Training courses and attendance: create and correct a course (version checked), add a person of the
organiser's subtree to it, record their attendance, hours credited, pass and certificate.

Staff and administrators of a province, city, county or township run courses for their subtree (the roster's
keepers, tenant_app.workforce.access); villages and viewers read. Services flush; the caller commits.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update

from hierarchy.codes import is_valid_code, level_of
from tenant_app import clock
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.training import enums as E
from tenant_app.training.models import Attendance, Course
from tenant_app.workforce import access
from tenant_app.workforce.models import RosterPerson

INVALID = _l("培训数据有误")
STALE = _l("记录已被他人修改，请刷新后重试")
REQUIRED = _l("此项必填")
COURSE_FIELDS = ("title", "level", "topic", "starts_on", "ends_on", "hours", "note")
ATTENDANCE_FIELDS = ("attended", "hours_credited", "passed", "certificate_no")


def _add(errors: dict, field: str, message) -> None:
    errors.setdefault(field, []).append(message)


def _raise_if(errors: dict) -> None:
    if errors:
        raise ValidationFailed(INVALID, errors=errors)


def _check_version(row, expected) -> None:
    if expected is not None and expected != row.version:
        raise Conflict(STALE, code="stale_version", current_version=row.version)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def course_errors(values: dict) -> dict:
    """Field errors of a whole course (every field present in `values`)."""
    errors: dict = {}
    if not values.get("title"):
        _add(errors, "title", REQUIRED)
    if values.get("topic") not in E.TOPICS:
        _add(errors, "topic", REQUIRED)
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if not isinstance(starts, date):
        _add(errors, "starts_on", REQUIRED)
    if not isinstance(ends, date):
        _add(errors, "ends_on", REQUIRED)
    elif isinstance(starts, date) and ends < starts:
        _add(errors, "ends_on", _l("结束日期不能早于开始日期"))
    hours = values.get("hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or not 0 < hours <= E.MAX_HOURS:
        _add(errors, "hours", _l("学时须在1至1000之间"))
    return errors


def create(session, actor, data: dict) -> Course:
    """A course organised by `unit_code` (default: the caller's unit), a province, city, county or township of
    the caller's subtree; its level is the organiser's."""
    access.require_manage(actor)
    errors: dict = {}
    unit_code = _text(data.get("unit_code")) or actor.region_code
    if not is_valid_code(unit_code) or level_of(unit_code) not in E.LEVEL_OF_UNIT:
        _add(errors, "unit_code", _l("主办单位须为省、市、县或乡镇"))
        level = None
    else:
        access.get_unit(session, actor, unit_code)
        level = E.LEVEL_OF_UNIT[level_of(unit_code)]
    values = {f: data.get(f) for f in COURSE_FIELDS}
    values["title"], values["note"] = _text(values["title"]), _text(values["note"])
    if values.get("level") not in (None, level) and level is not None:
        _add(errors, "level", _l("培训级别须与主办单位的级别一致"))
    errors.update({k: v for k, v in course_errors(values).items() if k not in errors})
    _raise_if(errors)
    now = clock.now()
    course = Course(region_code=unit_code, title=values["title"], level=level, topic=values["topic"],
                    starts_on=values["starts_on"], ends_on=values["ends_on"], hours=values["hours"],
                    note=values["note"], created_by_id=actor.id, updated_by_id=actor.id, created_at=now,
                    updated_at=now)
    session.add(course)
    session.flush()
    return course


def get_course(session, course_id: int, *, for_update: bool = False) -> Course:
    query = select(Course).where(Course.id == course_id)
    if for_update:
        query = query.with_for_update()
    course = session.execute(query).scalar_one_or_none()
    if course is None:
        raise NotFound(_l("没有该培训"))
    return course


def update_course(session, actor, course_id: int, data: dict) -> Course:
    """Correct a course; `version` must be the one read (else 409, nothing changes). A new end date is
    carried to the attendance rows with the title (one UPDATE), and their roll-up redone."""
    access.require_manage(actor)
    course = get_course(session, course_id, for_update=True)
    _check_version(course, data.get("version"))
    values = {f: getattr(course, f) for f in COURSE_FIELDS}
    values.update({f: data[f] for f in COURSE_FIELDS if f in data})
    values["title"], values["note"] = _text(values["title"]), _text(values["note"])
    errors = course_errors(values)
    if values["level"] != course.level:
        _add(errors, "level", _l("培训级别须与主办单位的级别一致"))
    _raise_if(errors)
    moved = values["ends_on"] != course.ends_on or values["title"] != course.title
    for field in COURSE_FIELDS:
        setattr(course, field, values[field])
    course.updated_by_id, course.updated_at = actor.id, clock.now()
    session.flush()
    if moved:
        session.execute(update(Attendance).where(Attendance.course_id == course.id)
                        .values(course_ends_on=course.ends_on, course_title=course.title)
                        .execution_options(synchronize_session=False))
        from sync.outbox import record_bulk

        record_bulk(session, "SELECT region_code FROM training_attendance WHERE course_id = :course_id "
                             "UNION SELECT a.region_code FROM roster_appointments a JOIN training_attendance t "
                             "ON t.person_id = a.person_id WHERE t.course_id = :course_id AND a.left_on IS NULL",
                    "training", {"course_id": course.id})
    return course


def list_courses(session, actor, *, unit: str | None = None, topic: str | None = None, year: int | None = None,
                 page: int = 1, per_page: int = 50):
    """Courses organised within a subtree (default: the caller's), latest first, with their attendance
    counts."""
    query = select(Course).where(access.subtree(Course.region_code, actor, unit))
    if topic:
        query = query.where(Course.topic == topic)
    if year:
        query = query.where(Course.ends_on >= date(year, 1, 1), Course.ends_on < date(year + 1, 1, 1))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Course.starts_on.desc(), Course.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def counts(session, course_ids) -> dict[int, dict[str, int]]:
    """{course id: {"enrolled", "attended", "passed"}} over the attendance rows the caller sees."""
    if not course_ids:
        return {}
    rows = session.execute(select(Attendance.course_id, func.count(),
                                  func.count().filter(Attendance.attended),
                                  func.count().filter(Attendance.passed))
                           .where(Attendance.course_id.in_(list(course_ids))).group_by(Attendance.course_id)).all()
    return {r[0]: {"enrolled": r[1], "attended": r[2], "passed": r[3]} for r in rows}


# --- attendance ----------------------------------------------------------------------------------------

def attendance_errors(values: dict) -> dict:
    errors: dict = {}
    hours = values.get("hours_credited")
    if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= E.MAX_HOURS:
        _add(errors, "hours_credited", _l("学时须在0至1000之间"))
    elif not values.get("attended") and hours:
        _add(errors, "hours_credited", _l("未参训不计学时"))
    if not values.get("attended") and values.get("passed"):
        _add(errors, "passed", _l("未参训不能结业"))
    if len(values.get("certificate_no") or "") > 64:
        _add(errors, "certificate_no", _l("证书编号过长"))
    return errors


def add_attendance(session, actor, course_id: int, data: dict) -> Attendance:
    """Add a roster person to a course: the person must be within the organiser's subtree. Hours credited
    default to the course's hours when attended."""
    access.require_manage(actor)
    course = get_course(session, course_id)
    errors: dict = {}
    person = None
    person_id = data.get("person_id")
    if person_id is not None:
        person = session.execute(select(RosterPerson).where(RosterPerson.id == person_id)).scalar_one_or_none()
    if person is None or not person.region_code.startswith(course.region_code):
        _add(errors, "person_id", _l("该人员不在主办单位的管辖范围内"))
    elif session.scalar(select(Attendance.id).where(Attendance.course_id == course.id,
                                                    Attendance.person_id == person.id)) is not None:
        _add(errors, "person_id", _l("该人员已在本培训名单中"))
    attended = data.get("attended", True)
    values = {"attended": attended, "passed": bool(data.get("passed", False)),
              "certificate_no": _text(data.get("certificate_no")),
              "hours_credited": data.get("hours_credited", course.hours if attended else 0)}
    errors.update({k: v for k, v in attendance_errors(values).items() if k not in errors})
    _raise_if(errors)
    now = clock.now()
    row = Attendance(region_code=person.region_code, course_id=course.id, person_id=person.id,
                     course_ends_on=course.ends_on, course_title=course.title, created_by_id=actor.id,
                     updated_by_id=actor.id, created_at=now, updated_at=now, **values)
    session.add(row)
    session.flush()
    _posts_changed(session, row.person_id)
    return row


def _posts_changed(session, person_id: int) -> None:
    """The units where the person holds a post re-roll too (their figures count the person's training), when
    the attendance row belongs to another unit (recorded before the person moved)."""
    from sync.outbox import record_bulk

    record_bulk(session, "SELECT region_code FROM roster_appointments WHERE person_id = :person_id "
                         "AND left_on IS NULL", "training", {"person_id": person_id})


def get_attendance(session, course_id: int, attendance_id: int, *, for_update: bool = False) -> Attendance:
    query = select(Attendance).where(Attendance.id == attendance_id, Attendance.course_id == course_id)
    if for_update:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("没有该参训记录"))
    return row


def update_attendance(session, actor, course_id: int, attendance_id: int, data: dict) -> Attendance:
    access.require_manage(actor)
    row = get_attendance(session, course_id, attendance_id, for_update=True)
    _check_version(row, data.get("version"))
    values = {f: getattr(row, f) for f in ATTENDANCE_FIELDS}
    values.update({f: data[f] for f in ATTENDANCE_FIELDS if f in data})
    values["certificate_no"] = _text(values["certificate_no"])
    _raise_if(attendance_errors(values))
    for field in ATTENDANCE_FIELDS:
        setattr(row, field, values[field])
    row.updated_by_id, row.updated_at = actor.id, clock.now()
    session.flush()
    _posts_changed(session, row.person_id)
    return row


def list_attendance(session, course_id: int, *, page: int = 1, per_page: int = 50):
    """The attendance rows of a course the caller sees (those of people of its subtree), with names."""
    get_course(session, course_id)
    query = (select(Attendance, RosterPerson.name).join(RosterPerson, RosterPerson.id == Attendance.person_id)
             .where(Attendance.course_id == course_id))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Attendance.region_code, RosterPerson.name, Attendance.id)
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [attendance_item(a, name) for a, name in rows], total


def attendance_item(row: Attendance, person_name: str) -> dict:
    return {"id": row.id, "course_id": row.course_id, "person_id": row.person_id, "person_name": person_name,
            "unit_code": row.region_code, "attended": row.attended, "hours_credited": row.hours_credited,
            "passed": row.passed, "certificate_no": row.certificate_no, "course_ends_on": row.course_ends_on,
            "course_title": row.course_title,
            "version": row.version}


def list_certificates(session, actor, *, unit: str | None = None, person_id: int | None = None, page: int = 1,
                      per_page: int = 50):
    """Certificates (attendance rows with a certificate number) of the people of a subtree, latest course first;
    the course's title and end date come from the row, so a course run above the unit is listed too."""
    query = (select(Attendance, RosterPerson.name).join(RosterPerson, RosterPerson.id == Attendance.person_id)
             .where(access.subtree(Attendance.region_code, actor, unit), Attendance.certificate_no != ""))
    if person_id is not None:
        query = query.where(Attendance.person_id == person_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Attendance.course_ends_on.desc(), Attendance.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [attendance_item(a, name) for a, name in rows], total
