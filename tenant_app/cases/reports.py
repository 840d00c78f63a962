"""Filing a mandatory report (强制报告): the report and the case it opens (stage `reported`), in one flush.

The children involved are records within the reporter's reach (all of one village, which becomes the case's
village), or, when no record is known, an unknown child described. The village where it happened is within
the reporter's reach too. The reporter's identity is kept on the report, shown to the handling county only.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select

from hierarchy.codes import Level, is_valid_code, level_of
from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.cases import access
from tenant_app.cases import enums as E
from tenant_app.cases.common import MAX_TEXT, REQUIRED, TEXT_TOO_LONG, add_error, entry, raise_if, text
from tenant_app.cases.models import Case, CaseChild, Report
from tenant_app.children.models import Child
from tenant_app.i18n import _l

MAX_CHILDREN = 20
TOO_MANY_CHILDREN = _l("一次报告最多涉及%(n)s名儿童", n=MAX_CHILDREN)
# Institutions report under their name (a hotline caller may stay anonymous).
NAMED_KINDS = ("school", "kindergarten", "clinic", "social_work", "police")
FUTURE_SLACK = timedelta(minutes=10)


def _children(session, child_ids, errors) -> list[Child]:
    ids = list(dict.fromkeys(child_ids or []))
    if len(ids) > MAX_CHILDREN:
        add_error(errors, "child_ids", TOO_MANY_CHILDREN)
        return []
    if not ids:
        return []
    rows = session.scalars(select(Child).where(Child.id.in_(ids))).all()
    found = {child.id: child for child in rows}
    missing = [i for i in ids if i not in found]
    if missing:  # outside the reporter's reach is indistinguishable from absent
        add_error(errors, "child_ids", _l("未找到儿童档案：%(ids)s", ids=", ".join(map(str, missing))))
        return []
    if len({child.region_code for child in rows}) > 1:
        add_error(errors, "child_ids", _l("一份报告涉及的儿童须属于同一村（居），请分别报告"))
        return []
    return [found[i] for i in ids]


def _village(session, actor, code, errors) -> Unit | None:
    code = text(code)
    if not code:
        add_error(errors, "village_code", REQUIRED)
        return None
    if not is_valid_code(code) or level_of(code) != Level.village or not code.startswith(actor.region_code):
        add_error(errors, "village_code", _l("村（居）不在您的管辖范围内"))
        return None
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None or unit.retired:
        add_error(errors, "village_code", _l("村（居）不在您的管辖范围内"))
        return None
    return unit


def _partner(actor, data: dict, errors) -> dict:
    """A partner reports as its organisation (the account's kind and name) and describes the children: it
    may not look up child records, so a record id from it is refused rather than used."""
    if data.get("child_ids"):
        add_error(errors, "child_ids", _l("合作报告机构不能查询儿童档案，请描述涉及的儿童"))
    # The organisation is always named (the county calls it back); the person is who typed, or the account's.
    person = text(data.get("reporter_name")) or actor.real_name
    name = person if person.startswith(actor.org_name) else f"{actor.org_name} {person}"
    return {**data, "child_ids": [], "reporter_kind": actor.org_kind, "reporter_name": name.strip()[:64],
            "reporter_contact": text(data.get("reporter_contact")) or actor.phone}


def validate(session, actor, data: dict) -> tuple[dict, list[Child], Unit | None]:
    errors: dict = {}
    if access.is_partner(actor):
        data = _partner(actor, data, errors)
    for field, allowed in (("category", E.CATEGORIES), ("urgency", E.URGENCIES),
                           ("reporter_kind", E.REPORTER_KINDS)):
        if data.get(field) not in allowed:
            add_error(errors, field, REQUIRED if data.get(field) is None else
                      _l("取值无效，可选：%(choices)s", choices=", ".join(allowed)))
    kind = data.get("reporter_kind", "staff")
    if kind == "hotline" and level_of(actor.region_code) != Level.county:
        add_error(errors, "reporter_kind", _l("热线来电由县（区）工作人员登记"))
    if kind in NAMED_KINDS and not text(data.get("reporter_name")):
        add_error(errors, "reporter_name", _l("机构报告须填写报告人姓名"))
    occurred_at = data.get("occurred_at")
    if occurred_at is None:
        add_error(errors, "occurred_at", REQUIRED)
    elif occurred_at > clock.now() + FUTURE_SLACK:
        add_error(errors, "occurred_at", _l("发生时间不能晚于现在"))
    narrative = text(data.get("narrative"))
    if not narrative:
        add_error(errors, "narrative", REQUIRED)
    elif len(narrative) > MAX_TEXT:
        add_error(errors, "narrative", TEXT_TOO_LONG)
    place = _village(session, actor, data.get("village_code"), errors)
    children = _children(session, data.get("child_ids"), errors)
    description = text(data.get("unknown_child_description"))
    if not data.get("child_ids") and not description:
        add_error(errors, "unknown_child_description", _l("请选择涉及的儿童档案，或描述未建档的儿童"))
    elif len(description) > MAX_TEXT:
        add_error(errors, "unknown_child_description", TEXT_TOO_LONG)
    raise_if(errors)
    return {"narrative": narrative, "description": description, "kind": kind,
            "reporter_name": text(data.get("reporter_name")), "reporter_contact": text(data.get("reporter_contact"))
            }, children, place


def file_report(session, actor, data: dict) -> Case:
    """Validate everything, then write the report, the case (stage `reported`), its children and the first
    timeline entry. A refused report writes nothing."""
    access.require_file(actor)
    clean, children, place = validate(session, actor, data)
    village = children[0].region_code if children else place.code
    now = clock.now()
    kind = clean["kind"]
    report = Report(region_code=village, occurred_village_code=place.code, category=data["category"],
                    urgency=data["urgency"], occurred_at=data["occurred_at"], narrative=clean["narrative"],
                    unknown_child_description=clean["description"], reporter_kind=kind,
                    reporter_name=clean["reporter_name"] or (actor.real_name if kind == "staff" else ""),
                    reporter_contact=clean["reporter_contact"] or (actor.phone if kind == "staff" else ""),
                    reporter_user_id=actor.id, reporter_unit_code=actor.region_code, filed_at=now)
    session.add(report)
    session.flush()
    case = Case(region_code=village, township_code=village[:9], county_code=village[:6], province_code=village[:2],
                report_id=report.id, reporter_user_id=report.reporter_user_id, category=report.category,
                urgency=report.urgency, stage="reported",
                reported_at=now, cycle_started_at=now, updated_by_id=actor.id, updated_at=now)
    session.add(case)
    session.flush()
    for child in children:
        session.add(CaseChild(case_id=case.id, child_id=child.id, region_code=village))
    entry(session, actor, case, E.FILED_ENTRY, data={"category": case.category, "urgency": case.urgency})
    session.flush()
    return case


def list_own_reports(session, actor, page: int = 1, per_page: int = 50):
    """Reports filed by the caller's unit, newest first, with their case's stage (no narrative, no reporter).
    A partner sees the reports its own account filed only (other partners and staff share its unit)."""
    query = (select(Report.id, Report.category, Report.urgency, Report.occurred_at, Report.filed_at,
                    Report.region_code.label("village_code"), Case.id.label("case_id"), Case.stage)
             .join(Case, Case.report_id == Report.id)
             .where(Report.reporter_unit_code == actor.region_code))
    if access.is_partner(actor):
        query = query.where(Report.reporter_user_id == actor.id)
    else:
        # A partner attached to the unit is not the unit: listing its reports here would name the reporter.
        query = query.where(or_(Report.reporter_user_id.is_(None), ~Report.reporter_user_id.in_(
            select(User.id).where(User.role == "reporter"))))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(Report.filed_at.desc(), Report.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return [row._asdict() for row in rows], total
