"""The stages of a case: accept or screen out a report, advance one step, close (the county's approval),
reopen. Each step checks the actor's role, the submitted fields, the version read and the current stage before
it writes anything; a refused step writes nothing. Every step is a timeline entry with who and when.

    reported → accepted | screened_out(reason)
    accepted → emergency | assessment (an emergency case needs a first emergency measure first)
    emergency → assessment → help_plan (needs an assessment) → follow_up (needs a help service) → closed
    closed → assessment (reopened: assessed again); screened_out → reported (screened again)
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm.exc import StaleDataError

from tenant_app import clock
from tenant_app.cases import access
from tenant_app.cases import enums as E
from tenant_app.cases.common import (
    REQUIRED,
    STALE,
    add_error,
    check_version,
    entry,
    get_case,
    raise_if,
    stage_label,
    text,
    touch,
    wrong_stage,
)
from tenant_app.cases.models import Case, CaseAction
from tenant_app.errors import Conflict
from tenant_app.i18n import _l

MAX_REASON = 500
MAX_SUMMARY = 2000


def _flush(session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(STALE, code="stale_version") from None


def _load(session, actor, case_id: int) -> Case:
    case = get_case(session, case_id)
    access.require_decide(actor, case)
    return case


def _move(session, actor, case: Case, to: str, *, note: str = "", data: dict | None = None) -> Case:
    before = case.stage
    case.stage = to
    touch(actor, case)
    entry(session, actor, case, E.STAGE_ENTRY, data={"from": before, "to": to, **(data or {})}, note=note,
          stage=before)
    _flush(session)
    return case


def _reason(data: dict, field: str, limit: int, errors: dict, *, required: bool = True) -> str:
    value = text(data.get(field))
    if required and not value:
        add_error(errors, field, REQUIRED)
    elif len(value) > limit:
        add_error(errors, field, _l("最多 %(n)s 字", n=limit))
    return value


def _expect_stage(case: Case, allowed: tuple[str, ...], field: str, action) -> None:
    if case.stage not in allowed:
        raise wrong_stage(case, field, _l("案件当前阶段为「%(stage)s」，不能%(action)s",
                                          stage=stage_label(case.stage), action=action))


def accept(session, actor, case_id: int, data: dict) -> Case:
    """受理: the handling county accepts a reported case; the assessment clock starts."""
    case = _load(session, actor, case_id)
    errors: dict = {}
    note = _reason(data, "note", MAX_REASON, errors, required=False)
    raise_if(errors)
    check_version(case, data.get("version"))
    _expect_stage(case, ("reported",), "stage", _l("受理此报告"))
    case.accepted_at = clock.now()
    return _move(session, actor, case, "accepted", note=note)


def screen_out(session, actor, case_id: int, data: dict) -> Case:
    """不予受理, with the reason (required)."""
    case = _load(session, actor, case_id)
    errors: dict = {}
    reason = _reason(data, "reason", MAX_REASON, errors)
    raise_if(errors)
    check_version(case, data.get("version"))
    _expect_stage(case, ("reported",), "stage", _l("不予受理此报告"))
    case.screen_out_reason = reason
    return _move(session, actor, case, "screened_out", note=reason, data={"reason": reason})


def _has(session, case: Case, kind: str) -> bool:
    return bool(session.scalar(select(exists().where(CaseAction.case_id == case.id, CaseAction.kind == kind,
                                                     CaseAction.at >= case.cycle_started_at))))


def advance(session, actor, case_id: int, data: dict) -> Case:
    """One step forward in the allowed order; the step's preconditions must hold."""
    case = _load(session, actor, case_id)
    errors: dict = {}
    to = data.get("to")
    if to not in E.ADVANCE_TARGETS:
        add_error(errors, "to", REQUIRED if to is None else
                  _l("取值无效，可选：%(choices)s", choices=", ".join(E.ADVANCE_TARGETS)))
    note = _reason(data, "note", MAX_REASON, errors, required=False)
    raise_if(errors)
    check_version(case, data.get("version"))
    if to not in E.ADVANCES.get(case.stage, ()):
        raise wrong_stage(case, "to", _l("案件当前阶段为「%(stage)s」，不能转入「%(to)s」",
                                         stage=stage_label(case.stage), to=stage_label(to)))
    if to == "assessment" and case.urgency == "emergency" and case.first_measure_at is None:
        raise wrong_stage(case, "to", _l("紧急案件须先登记应急处置措施"))
    if to == "help_plan" and case.assessed_at is None:
        raise wrong_stage(case, "to", _l("须先完成评估"))
    if to == "follow_up" and not _has(session, case, "help_service"):
        raise wrong_stage(case, "to", _l("须先登记帮扶服务"))
    if to == "help_plan":
        case.help_plan_at = clock.now()
    return _move(session, actor, case, to, note=note)


def close(session, actor, case_id: int, data: dict) -> Case:
    """结案: the handling county approves the closing of a case in follow-up, with its outcome."""
    case = _load(session, actor, case_id)
    errors: dict = {}
    outcome = data.get("outcome")
    if outcome not in E.OUTCOMES:
        add_error(errors, "outcome", REQUIRED if outcome is None else
                  _l("取值无效，可选：%(choices)s", choices=", ".join(E.OUTCOMES)))
    summary = _reason(data, "summary", MAX_SUMMARY, errors)
    raise_if(errors)
    check_version(case, data.get("version"))
    _expect_stage(case, ("follow_up",), "stage", _l("结案"))
    case.outcome = outcome
    case.outcome_summary = summary
    case.closed_at = clock.now()
    return _move(session, actor, case, "closed", note=summary, data={"outcome": outcome})


def reopen(session, actor, case_id: int, data: dict) -> Case:
    """重新办理: a closed case goes back to assessment; a screened-out report back to screening. The clock's
    cycle starts again."""
    case = _load(session, actor, case_id)
    errors: dict = {}
    reason = _reason(data, "reason", MAX_REASON, errors)
    raise_if(errors)
    check_version(case, data.get("version"))
    _expect_stage(case, tuple(E.REOPEN_TO), "stage", _l("重新办理"))
    now = clock.now()
    to = E.REOPEN_TO[case.stage]
    case.cycle_started_at = now
    case.reopen_count += 1
    case.assessed_at = None
    case.help_plan_at = None
    case.last_follow_up_at = None
    if to == "assessment":
        case.accepted_at = now  # re-accepted: the assessment is due again from now
        case.closed_at = None
        case.outcome = None
    else:
        case.accepted_at = None
        case.screen_out_reason = ""
    return _move(session, actor, case, to, note=reason, data={"reason": reason})
