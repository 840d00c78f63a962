"""Reading cases: the queue sorted by the clock, one case (full and audited, or the summary), and what each
reader is shown (tenant_app.cases.access decides)."""

from __future__ import annotations

from sqlalchemy import func, select

from hierarchy.codes import is_valid_code
from tenant_app import clock
from tenant_app.cases import access, deadlines
from tenant_app.cases import enums as E
from tenant_app.cases.common import get_case
from tenant_app.cases.models import Case, CaseAction, CaseChild, CaseRead, Report
from tenant_app.children.models import Child
from tenant_app.errors import NotFound
from tenant_app.i18n import _l

READ_PURPOSE = "查看案件 / view case"
RETURNED_PURPOSE = "办理后返回案件 / case returned after a change"
SUMMARY_FIELDS = ("id", "region_code", "township_code", "county_code", "category", "urgency", "stage", "outcome",
                  "reported_at", "accepted_at", "closed_at", "version", "escalation_level")


def _subtree(actor, unit: str | None):
    code = (unit or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    return (Case.region_code >= code) & (Case.region_code < code + ":")


def summary(case: Case, clock_row) -> dict:
    """What every unit of the subtree sees: category, urgency, stage, clock and outcome."""
    item = {field: getattr(case, field) for field in SUMMARY_FIELDS}
    item["village_code"] = item.pop("region_code")
    item["is_open"] = case.is_open
    item["step"] = clock_row.step if clock_row is not None else None
    item["overdue"] = bool(clock_row.overdue) if clock_row is not None else False
    item.update(deadlines.due_text(clock_row.due_at if clock_row is not None else None))
    item["detail"] = "summary"
    return item


def _clock_rows(session, where, province: str):
    policy, _ = deadlines.policy_for(session, province)
    return deadlines.clock_query(policy, clock.now(), *where)


def list_cases(session, actor, *, unit: str | None = None, stage: str | None = None, open_only: bool = False,
               overdue: bool | None = None, page: int = 1, per_page: int = 50):
    """The cases of the caller's subtree (or one unit of it), overdue first, then by deadline."""
    where = [_subtree(actor, unit)]
    if stage:
        where.append(Case.stage == stage)
    if open_only:
        where.append(Case.stage.in_(E.OPEN_STAGES))
    query, order = _clock_rows(session, where, actor.region_code[:2])
    if overdue is not None:
        inner = query.subquery("listed")
        query = select(inner).where(inner.c.overdue.is_(overdue))
        order = (inner.c.due_at.is_(None), inner.c.due_at, inner.c.case_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_([r.case_id for r in rows])))}
    return [summary(cases[r.case_id], r) for r in rows if r.case_id in cases], total


def clock_of(session, case: Case):
    query, _ = _clock_rows(session, [Case.id == case.id], case.province_code)
    return session.execute(query).first()


def _timeline(session, actor, case: Case) -> list[dict]:
    rows = session.scalars(select(CaseAction).where(CaseAction.case_id == case.id)
                           .order_by(CaseAction.at, CaseAction.id)).all()
    items = [{"id": r.id, "kind": r.kind, "stage": r.stage, "data": r.data, "note": r.note,
              "by_user_id": r.by_user_id, "by_unit_code": r.by_unit_code, "at": r.at,
              "at_cst": clock.cst_text(r.at)} for r in rows]
    if not access.can_read_reporter(actor, case):
        # Who filed is the reporter: the filing entry names nobody to readers other than the county (and the
        # reporter itself).
        for item in items:
            if item["kind"] == E.FILED_ENTRY and item["by_user_id"] != actor.id:
                item.update(by_user_id=None, by_unit_code=None)
    return items


def _children(session, case: Case) -> list[dict]:
    rows = session.execute(select(Child.id, Child.name, Child.region_code, Child.risk_level)
                           .join(CaseChild, CaseChild.child_id == Child.id)
                           .where(CaseChild.case_id == case.id).order_by(Child.id)).all()
    return [{"id": r.id, "name": r.name, "village_code": r.region_code, "risk_level": r.risk_level} for r in rows]


def full(session, actor, case: Case, clock_row) -> dict:
    """The whole case for its county, township and village: narrative, children, assessments, timeline; the
    reporter for the handling county only."""
    item = summary(case, clock_row)
    report = session.get(Report, case.report_id)
    item.update(detail="full", risk_level=case.risk_level, guardianship_intervention=case.guardianship_intervention,
                screen_out_reason=case.screen_out_reason, outcome_summary=case.outcome_summary,
                occurred_at=report.occurred_at, occurred_village_code=report.occurred_village_code,
                narrative=report.narrative, unknown_child_description=report.unknown_child_description,
                children=_children(session, case),
                timeline=_timeline(session, actor, case),
                allowed_actions=[k for k in access.allowed_kinds(actor, case) if k in E.STAGE_ACTIONS[case.stage]])
    if access.can_read_reporter(actor, case):
        item["reporter"] = {"kind": report.reporter_kind, "name": report.reporter_name,
                            "contact": report.reporter_contact, "user_id": report.reporter_user_id,
                            "unit_code": report.reporter_unit_code}
    return item


def audit(session, actor, case: Case, purpose: str | None) -> CaseRead:
    row = CaseRead(region_code=case.region_code, case_id=case.id, user_id=actor.id,
                   user_region_code=actor.region_code, with_reporter=access.can_read_reporter(actor, case),
                   purpose=(purpose or READ_PURPOSE)[:200], at=clock.now())
    session.add(row)
    session.flush()
    return row


def view(session, actor, case: Case, purpose: str | None = None) -> dict:
    """The case as this reader may see it; a full view leaves an audit row."""
    row = clock_of(session, case)
    if not access.can_read_full(actor, case):
        return summary(case, row)
    audit(session, actor, case, purpose)
    return full(session, actor, case, row)


def read_case(session, actor, case_id: int, purpose: str | None = None) -> dict:
    return view(session, actor, get_case(session, case_id), purpose)
