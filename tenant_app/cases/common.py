"""Shared pieces of the case services: loading a case, version checks, timeline entries, messages."""

from __future__ import annotations

from sqlalchemy import select

from tenant_app import clock
from tenant_app.auth.models import PARTNER_ROLES
from tenant_app.cases import enums as E
from tenant_app.cases.models import Case, CaseAction
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l

REQUIRED = _l("此项必填")
INVALID = _l("案件数据有误")
STALE = _l("案件已被他人修改，请刷新后重试")
MAX_TEXT = 4000
TEXT_TOO_LONG = _l("不能超过4000字")

Errors = dict[str, list]


def add_error(errors: Errors, field: str, message) -> None:
    errors.setdefault(field, []).append(message)


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def raise_if(errors: Errors) -> None:
    if errors:
        raise ValidationFailed(INVALID, errors=errors)


def get_case(session, case_id: int, *, for_update: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = session.execute(query).scalar_one_or_none()
    if case is None:
        raise NotFound(_l("案件不存在"))
    return case


def check_version(case: Case, expected) -> None:
    if expected is not None and expected != case.version:
        raise Conflict(STALE, code="stale_version", current_version=case.version)


def stage_label(stage: str):
    """A stage's name in the language of whoever reads the message (the labels are in the catalog)."""
    return _l(E.STAGES[stage]) if stage in E.STAGES else stage


def wrong_stage(case: Case, field: str, message) -> Conflict:
    """A step the case's stage does not allow: 409, the field that asked for it, and the current stage."""
    return Conflict(message, errors={field: [message]}, code="invalid_transition", stage=case.stage)


def entry(session, actor, case: Case, kind: str, *, data: dict | None = None, note: str = "",
          stage: str | None = None) -> CaseAction:
    row = CaseAction(case_id=case.id, region_code=case.region_code, kind=kind, stage=stage or case.stage,
                     data=data or {}, note=note, by_user_id=actor.id, by_unit_code=actor.region_code,
                     at=clock.now(), partner_user_id=actor.id if actor.role in PARTNER_ROLES else None)
    session.add(row)
    return row


def touch(actor, case: Case) -> None:
    case.updated_by_id = actor.id
    case.updated_at = clock.now()
