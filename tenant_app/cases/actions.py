"""Typed actions on a case's timeline (police notified, placement, assessment, help services, guardianship
intervention, ...). The stage decides which kinds are open; the actor's unit and role decide who may record
them (tenant_app.cases.access). An assessment writes its risk level (and the guardianship capacity) to each
child's record, and an appointed guardian is written to the record, through the children service, so both
show in the record's history. All or nothing: a refused action writes nothing, neither on the case nor on a
child's record.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from hierarchy.codes import is_valid_code
from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.cases import access
from tenant_app.cases import enums as E
from tenant_app.cases.common import (
    MAX_TEXT,
    REQUIRED,
    STALE,
    TEXT_TOO_LONG,
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
from tenant_app.cases.models import Case, CaseAction, CaseChild
from tenant_app.children import services as children
from tenant_app.children.models import Child
from tenant_app.errors import Conflict, ValidationFailed
from tenant_app.i18n import _l

FUTURE_SLACK = timedelta(minutes=10)
NOT_IN_FUTURE = _l("不能晚于现在")
# Per kind: field -> (type, required, limit or choices). Types: text, datetime, date, choice, int, unit.
FIELDS = {
    "police_notified": {"station": ("text", True, 100), "at": ("datetime", True, None),
                        "receipt_no": ("text", False, 64)},
    "parents_ordered_back": {"parent": ("choice", True, ("father", "mother", "both")),
                             "due_on": ("date", False, None)},
    "guardian_appointed": {"child_id": ("int", True, None), "name": ("text", True, 64),
                           "relationship": ("text", True, 32), "phone": ("text", False, 32),
                           "id_number": ("text", False, 18), "address": ("text", False, 200)},
    "temporary_placement": {"kind": ("choice", True, tuple(E.PLACEMENT_KINDS)), "where": ("text", True, 200),
                            "since": ("date", True, None), "until": ("date", False, None)},
    "missing_search_handed_to_police": {"station": ("text", True, 100), "at": ("datetime", True, None),
                                        "receipt_no": ("text", False, 64)},
    "medical_care": {"institution": ("text", True, 100), "since": ("date", True, None)},
    "assessment": {"safety": ("choice", True, tuple(E.ASSESSMENT_RATINGS)),
                   "guardianship_capacity": ("choice", True, tuple(E.ASSESSMENT_RATINGS)),
                   "physical_health": ("choice", True, tuple(E.ASSESSMENT_RATINGS)),
                   "mental_health": ("choice", True, tuple(E.ASSESSMENT_RATINGS)),
                   "risk_level": ("choice", True, tuple(E.RISK_LEVELS)), "summary": ("text", False, 2000)},
    "help_service": {"kind": ("choice", True, tuple(E.HELP_SERVICES)), "owner_unit": ("unit", True, None),
                     "due_on": ("date", True, None), "outcome": ("text", False, 500),
                     "done_on": ("date", False, None)},
    "guardianship_intervention": {"measure": ("choice", True, tuple(E.INTERVENTION_MEASURES)),
                                  "grounds": ("text", True, 1000), "court": ("text", False, 100),
                                  "applied_on": ("date", False, None), "decided_on": ("date", False, None),
                                  "result": ("text", False, 500), "new_guardian": ("text", False, 64)},
    "follow_up_visit": {"visited_on": ("date", True, None), "findings": ("text", True, MAX_TEXT)},
    "note": {},
}
# Fields of a date that cannot lie in the future.
PAST_DATES = {"since", "visited_on", "applied_on", "decided_on", "done_on"}


def _check_field(errors, path, kind, required, rule, value, now: datetime):
    if value is None or (kind == "text" and not text(value)):
        if required:
            add_error(errors, path, REQUIRED)
        return None
    if kind == "text":
        value = text(value)
        if len(value) > rule:
            add_error(errors, path, _l("最多 %(n)s 字", n=rule))
        return value
    if kind == "choice":
        if value not in rule:
            add_error(errors, path, _l("取值无效，可选：%(choices)s", choices=", ".join(rule)))
        return value
    if kind == "datetime":
        if not isinstance(value, datetime):
            add_error(errors, path, _l("时间格式无效"))
        elif value > now + FUTURE_SLACK:
            add_error(errors, path, NOT_IN_FUTURE)
        return value.isoformat() if isinstance(value, datetime) else None
    if kind == "date":
        if not isinstance(value, date):
            add_error(errors, path, _l("日期格式无效"))
        elif path.rsplit(".", 1)[-1] in PAST_DATES and value > clock.cst_day(now):
            add_error(errors, path, NOT_IN_FUTURE)
        return value.isoformat() if isinstance(value, date) else None
    if kind == "unit":
        value = text(value)
        if not is_valid_code(value):
            add_error(errors, path, _l("单位代码须为 2、4、6、9 或 12 位数字"))
        return value
    return value  # int


def validate_payload(kind: str, payload, now: datetime) -> dict:
    errors: dict = {}
    if FIELDS[kind] and not isinstance(payload, dict):
        raise ValidationFailed(_l("案件数据有误"), errors={kind: [REQUIRED]})
    clean = {}
    for field, (ftype, required, rule) in FIELDS[kind].items():
        value = _check_field(errors, f"{kind}.{field}", ftype, required, rule, (payload or {}).get(field), now)
        if value is not None:
            clean[field] = value
    if kind == "temporary_placement" and clean.get("until") and clean.get("since") and \
            clean["until"] < clean["since"]:
        add_error(errors, f"{kind}.until", _l("结束日期不能早于开始日期"))
    if kind == "guardianship_intervention":
        if clean.get("measure") == "court_revocation" and not clean.get("court"):
            add_error(errors, f"{kind}.court", _l("申请撤销监护人资格须填写法院"))
        if clean.get("decided_on") and clean.get("applied_on") and clean["decided_on"] < clean["applied_on"]:
            add_error(errors, f"{kind}.decided_on", _l("裁决日期不能早于申请日期"))
    raise_if(errors)
    return clean


def _case_children(session, case: Case) -> list[int]:
    return list(session.scalars(select(CaseChild.child_id).where(CaseChild.case_id == case.id)
                                .order_by(CaseChild.child_id)))


def _update_child(session, actor, child_id: int, changes: dict) -> None:
    child = children.get_child(session, child_id)
    changes = {k: v for k, v in changes.items() if getattr(child, k) != v}
    if not changes:
        return
    try:
        children.update_child(session, actor, child.id, {"version": child.version, **changes})
    except ValidationFailed as error:
        raise ValidationFailed(_l("儿童档案需先更正"),
                               errors={f"child.{k}": v for k, v in (error.errors or {}).items()}) from None


def _apply(session, actor, case: Case, kind: str, clean: dict, now: datetime) -> None:
    if kind in E.EMERGENCY_KINDS and case.first_measure_at is None:
        case.first_measure_at = now
    if kind == "guardian_appointed":
        if clean["child_id"] not in _case_children(session, case):
            raise ValidationFailed(_l("案件数据有误"), errors={f"{kind}.child_id": [_l("该儿童不在本案件中")]})
        _update_child(session, actor, clean["child_id"], {
            "guardian_name": clean["name"], "guardian_relationship": clean["relationship"],
            "guardian_phone": clean.get("phone", ""), "guardian_id_number": clean.get("id_number") or None,
            "guardian_address": clean.get("address", "")})
    elif kind == "assessment":
        ids = _case_children(session, case)
        if clean["risk_level"] != "high" and ids and session.scalar(
                select(Child.id).where(Child.id.in_(ids), Child.unattended.is_(True)).limit(1)) is not None:
            raise ValidationFailed(_l("案件数据有误"), errors={f"{kind}.risk_level": [_l("无人监护儿童须保持高风险")]})
        case.risk_level = clean["risk_level"]
        if case.assessed_at is None:
            case.assessed_at = now
        for child_id in ids:
            _update_child(session, actor, child_id, {"risk_level": clean["risk_level"],
                                                     "guardianship_assessment": clean["guardianship_capacity"]})
    elif kind == "help_service":
        owner = clean["owner_unit"]
        if not owner.startswith(case.county_code) or session.scalar(
                select(Unit.code).where(Unit.code == owner, Unit.retired.is_(False))) is None:
            raise ValidationFailed(_l("案件数据有误"), errors={f"{kind}.owner_unit": [
                _l("责任单位须为承办县（区）或其下级单位")]})
    elif kind == "guardianship_intervention":
        case.guardianship_intervention = True
    elif kind == "follow_up_visit":
        # The clock counts from the day of the visit (recorded the same day or later), never backwards.
        visited = date.fromisoformat(clean["visited_on"])
        if case.last_follow_up_at is None or visited > clock.cst_day(case.last_follow_up_at):
            case.last_follow_up_at = datetime.combine(visited, time(), clock.CST).astimezone(UTC)


def record_action(session, actor, case_id: int, data: dict) -> CaseAction:
    """Record one action. Refusals: 403 (the actor may not record this kind on this case), 422 (a field),
    409 (a stale version, or a kind the stage does not allow)."""
    case = get_case(session, case_id)
    kind = data.get("kind")
    if kind not in E.ACTION_KINDS:
        raise ValidationFailed(_l("案件数据有误"), errors={"kind": [
            REQUIRED if kind is None else _l("取值无效，可选：%(choices)s", choices=", ".join(E.ACTION_KINDS))]})
    access.require_action(actor, case, kind)
    now = clock.now()
    clean = validate_payload(kind, data.get(kind), now)
    note = text(data.get("note"))
    if kind == "note" and not note:
        raise ValidationFailed(_l("案件数据有误"), errors={"note": [REQUIRED]})
    if len(note) > MAX_TEXT:
        raise ValidationFailed(_l("案件数据有误"), errors={"note": [TEXT_TOO_LONG]})
    check_version(case, data.get("version"))
    if kind not in E.STAGE_ACTIONS[case.stage]:
        raise wrong_stage(case, "kind", _l("案件当前阶段为「%(stage)s」，不能登记此类措施",
                                           stage=stage_label(case.stage)))
    if kind == "guardianship_intervention" and case.assessed_at is None:
        raise wrong_stage(case, "kind", _l("监护干预须在评估之后"))
    try:
        with session.begin_nested():
            _apply(session, actor, case, kind, clean, now)
            touch(actor, case)
            row = entry(session, actor, case, kind, data=clean, note=note)
            session.flush()
    except StaleDataError:
        raise Conflict(STALE, code="stale_version") from None
    return row
