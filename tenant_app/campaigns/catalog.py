"""Shipped campaign templates: a title, directive text and form an issuer can start from and then edit."""

from __future__ import annotations

import copy

from tenant_app.i18n import N_


def _int(key: str, label: str, required: bool = True) -> dict:
    return {"key": key, "label": label, "type": "integer", "required": required, "min": 0}


def _notes(label: str = "其他情况说明") -> dict:
    return {"key": "notes", "label": label, "type": "text", "required": False}


RISK_KINDS = ["溺水隐患", "交通安全", "监护缺失", "校外欺凌", "网络沉迷", "其他"]

TEMPLATES: dict[str, dict] = {
    "census": {
        "kind": "census",
        "title": N_("农村留守儿童和困境儿童摸底排查"),
        "directive": (
            "请各村(居)儿童主任对本村(居)全部农村留守儿童和困境儿童逐一入户核实，做到不漏一户、不落一人："
            "核对每一份在档儿童信息，补录新发现的儿童，对已不符合条件的儿童办理退出，"
            "并在截止日期前提交排查结果，由乡镇(街道)儿童督导员审核。"
        ),
        "questions": [
            _int("children_rechecked", "已核实在档儿童数"),
            _int("children_added", "新发现并建档儿童数"),
            _int("children_exited", "退出儿童数"),
            _notes(),
        ],
    },
    "holiday_safety": {
        "kind": "questionnaire",
        "title": N_("寒暑假重点时段排查"),
        "directive": (
            "寒暑假期间是留守儿童安全风险高发时段。请各村(居)儿童主任对重点儿童逐户走访，"
            "重点排查溺水、交通、监护缺失等风险，发现问题立即处置并报告。"
        ),
        "questions": [
            _int("children_visited", "走访儿童数"),
            {"key": "risks_found", "label": "发现的风险类型", "type": "multi_choice", "required": False,
             "options": list(RISK_KINDS)},
            _int("risk_count", "发现风险隐患数"),
            _notes(),
        ],
    },
    "joint_guardianship": {
        "kind": "special_action",
        "title": N_("“合力监护、相伴成长”关爱保护专项行动"),
        "directive": (
            "按照专项行动部署，请各村(居)全面排查无人监护、辍学、无户籍留守儿童，"
            "落实委托监护、劝返复学和户口登记，并如实填报工作成效。"
        ),
        "questions": [
            _int("unattended_found", "发现无人监护儿童数"),
            _int("guardianship_arranged", "落实监护人数"),
            _int("dropouts_found", "发现辍学儿童数"),
            _int("returned_to_school", "劝返复学儿童数"),
            _int("unregistered_found", "发现无户籍儿童数"),
            _int("registered", "完成户口登记儿童数"),
        ],
    },
}


def template_names() -> list[str]:
    return list(TEMPLATES)


def get_template(name: str) -> dict | None:
    """A deep copy, so callers may change it freely."""
    entry = TEMPLATES.get(name)
    return copy.deepcopy(entry) if entry is not None else None


def listing() -> list[dict]:
    return [{"name": name, **get_template(name)} for name in TEMPLATES]
