"""What the case pages need besides the services: labels of the action fields and their choices, reading a
posted form into the services' data (a malformed date is a field error here; every other rule is the
services'), and a timeline entry described for people (labels, never stored codes).

The Chinese strings here are labels looked up by key and translated when shown (listed in babel.cfg).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from tenant_app import clock
from tenant_app.cases import actions
from tenant_app.cases import enums as E
from tenant_app.children.idcard import check_char
from tenant_app.i18n import _l

PARENTS = {"father": "父亲", "mother": "母亲", "both": "父母双方"}
FIELD_LABELS = {
    "station": "派出所", "at": "时间", "receipt_no": "回执编号", "parent": "责令返回的父母", "due_on": "期限",
    "child_id": "儿童", "name": "委托监护人姓名", "relationship": "与儿童关系", "phone": "联系电话",
    "id_number": "身份证号", "address": "住址", "kind": "类别", "where": "安置地点", "since": "开始日期",
    "until": "结束日期", "institution": "医疗机构", "safety": "安全状况", "guardianship_capacity": "监护能力",
    "physical_health": "身体健康", "mental_health": "心理健康", "risk_level": "风险等级", "summary": "评估意见",
    "owner_unit": "责任单位", "outcome": "结果", "done_on": "完成日期", "measure": "干预措施",
    "grounds": "事实与依据", "court": "法院", "applied_on": "申请日期", "decided_on": "裁决日期", "result": "裁决结果",
    "new_guardian": "新监护人", "visited_on": "回访日期", "findings": "回访情况", "reason": "理由",
    "from": "原阶段", "to": "新阶段", "category": "报告类别", "urgency": "紧急程度",
}
ENTRY_LABELS = {E.STAGE_ENTRY: "阶段变更", E.FILED_ENTRY: "提交报告"}
RATING_FIELDS = ("safety", "guardianship_capacity", "physical_health", "mental_health")
# Long text fields get a text area.
LONG_TEXT = 300
INVALID_DATE = _l("日期格式无效")
INVALID_TIME = _l("时间格式无效")


def choices_of(kind: str, field: str) -> dict | None:
    """The labelled choices of an action's field, or None for a field without choices."""
    if field in RATING_FIELDS:
        return E.ASSESSMENT_RATINGS
    return {"parent": PARENTS, "risk_level": E.RISK_LEVELS, "measure": E.INTERVENTION_MEASURES,
            "outcome": E.OUTCOMES if kind == "close" else None,
            "kind": E.PLACEMENT_KINDS if kind == "temporary_placement" else
            E.HELP_SERVICES if kind == "help_service" else None}.get(field)


def action_fields(kind: str) -> list[dict]:
    """The inputs of one action's form: name (`kind.field`, the services' error key), label, input type."""
    fields = []
    for field, (ftype, required, rule) in actions.FIELDS[kind].items():
        widget = {"datetime": "datetime-local", "date": "date", "choice": "select", "int": "child",
                  "unit": "unit"}.get(ftype, "textarea" if ftype == "text" and (rule or 0) > LONG_TEXT else "text")
        fields.append({"name": f"{kind}.{field}", "field": field, "label": FIELD_LABELS[field], "widget": widget,
                       "required": required, "maxlength": rule if ftype == "text" else None,
                       "choices": choices_of(kind, field) if ftype == "choice" else None})
    return fields


def parse_moment(raw: str) -> datetime:
    """A `datetime-local` value, typed in China Standard Time."""
    return datetime.fromisoformat(raw.strip()).replace(tzinfo=clock.CST)


def cst_input(moment: datetime) -> str:
    return clock.cst_text(moment, "%Y-%m-%dT%H:%M")


def action_data(form) -> tuple[dict, dict]:
    """A posted action form as the service's data; malformed dates and numbers are field errors here."""
    kind = form.get("kind", "")
    data: dict = {"kind": kind or None, "note": form.get("note", ""), "version": _int(form.get("version"))}
    errors: dict = {}
    if kind not in actions.FIELDS:
        return data, errors  # the service names the field
    payload: dict = {}
    for field, (ftype, _required, _rule) in actions.FIELDS[kind].items():
        name = f"{kind}.{field}"
        raw = (form.get(name) or "").strip()
        if not raw:
            continue
        try:
            if ftype == "datetime":
                payload[field] = parse_moment(raw)
            elif ftype == "date":
                payload[field] = date.fromisoformat(raw)
            elif ftype == "int":
                payload[field] = int(raw)
            else:
                payload[field] = raw
        except ValueError:
            errors[name] = [INVALID_TIME if ftype == "datetime" else INVALID_DATE]
    data[kind] = payload
    return data, errors


ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def id_numbers(description: str) -> list[str]:
    """Valid ID numbers (check character right) in a described child's text. A partner may not look records
    up, but may write the number it knows; the staff who read the case then find the record by it (the search
    matches a full number exactly), and the partner learns nothing about whether a record exists."""
    found = []
    for match in ID_IN_TEXT.findall(description or ""):
        number = match.upper()
        if check_char(number[:17]) == number[17] and number not in found:
            found.append(number)
    return found


def _int(raw) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _value(kind: str, field: str, value, names: dict) -> str:
    choices = choices_of(kind, field)
    if field in ("from", "to"):
        return str(_l(E.STAGES.get(value, value)))
    if field == "category":
        return str(_l(E.CATEGORIES.get(value, value)))
    if field == "urgency":
        return str(_l(E.URGENCIES.get(value, value)))
    if choices and value in choices:
        return str(_l(choices[value]))
    if field in ("at",) and isinstance(value, str):
        try:
            return clock.cst_text(datetime.fromisoformat(value))
        except ValueError:
            return value
    if field == "child_id":
        return names.get(("child", value), "")
    if field == "owner_unit":
        return names.get(("unit", value), value)
    return str(value)


def describe(entry: dict, names: dict) -> dict:
    """A timeline entry for people: its title and its fields as (label, value) pairs."""
    kind = entry["kind"]
    title = ENTRY_LABELS.get(kind) or E.ACTION_KINDS.get(kind, "")
    details = [(FIELD_LABELS.get(field, ""), _value("close" if field == "outcome" and kind == E.STAGE_ENTRY
                                                   else kind, field, value, names))
               for field, value in (entry.get("data") or {}).items()
               if field in FIELD_LABELS and value not in (None, "")]
    return {**entry, "title": title, "details": details, "stage_label": E.STAGES.get(entry["stage"], "")}
