"""Who may do what with a case, and who may read more than its category, stage, clock and outcome.

- The handling county (the county of the case's village): admins and staff accept, screen out, advance, close
  (the county's approval), reopen and record any action.
- Staff of the child's township and village record assessments, help services, follow-up visits and notes.
- Viewers read only.
- Partner reporters (role `reporter`) file reports and read their own reports' status, nothing of a case.
- Full reads (narrative, children, assessment details, timeline): users of the handling county and of the
  case's township and village, each read audited. The reporter's identity: the handling county only.
- Every other unit above (city, province) sees category, urgency, stage, clock and outcome.
"""

from __future__ import annotations

from tenant_app.cases import enums as E
from tenant_app.errors import Forbidden
from tenant_app.i18n import _l

ACTING_ROLES = ("admin", "staff")


def is_handling_county(actor, case) -> bool:
    return actor.region_code == case.county_code


def is_local(actor, case) -> bool:
    """The child's township or village."""
    return actor.region_code in (case.township_code, case.region_code)


def can_read_full(actor, case) -> bool:
    # A partner of the township is "local" by its unit, but reads no case: only its reports' status.
    return actor.role != "reporter" and (is_handling_county(actor, case) or is_local(actor, case))


def can_read_reporter(actor, case) -> bool:
    return is_handling_county(actor, case)


def can_decide(actor, case) -> bool:
    return actor.role in ACTING_ROLES and is_handling_county(actor, case)


def require_decide(actor, case) -> None:
    if not can_decide(actor, case):
        raise Forbidden(_l("仅承办县（区）的管理员或工作人员可办理此操作"))


def allowed_kinds(actor, case) -> tuple[str, ...]:
    """The action kinds this actor may record on this case (whatever its stage)."""
    if can_decide(actor, case):
        if actor.role == "staff":
            return tuple(E.ACTION_KINDS)
        # What is written to a child's record is written by staff (the records' editors).
        return tuple(k for k in E.ACTION_KINDS if k not in E.CHILD_RECORD_KINDS)
    if actor.role == "staff" and is_local(actor, case):
        return E.LOCAL_ACTIONS
    return ()


def require_action(actor, case, kind: str) -> None:
    if kind not in allowed_kinds(actor, case):
        raise Forbidden(_l("无权在此案件登记该类措施"))


def can_file(actor) -> bool:
    return actor.role in ("staff", "reporter")


def is_partner(actor) -> bool:
    return actor.role == "reporter"


def can_log_hotline(actor) -> bool:
    return actor.role == "staff" and len(actor.region_code) == 6


def require_file(actor) -> None:
    if not can_file(actor):
        raise Forbidden(_l("仅工作人员和合作报告机构可提交强制报告"))
