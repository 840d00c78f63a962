"""Child record pages (一人一档): the list of the caller's subtree, the record form, the full record and its
history. The service layer decides who may do what; these pages only hide what the caller cannot use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hierarchy.codes import Level, level_of
from hierarchy.models import Unit
from tenant_app.auth.models import User
from tenant_app.children import access, services
from tenant_app.children import enums as E
from tenant_app.children.models import Child
from tenant_app.children.validation import validate_child
from tenant_app.db import db
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.extensions import login_manager
from tenant_app.i18n import _l, gettext
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

try:  # the visit-due filter, where the visits module is installed
    from tenant_app.visits.services import due_visits
except ImportError:  # pragma: no cover - without tenant_app.visits the filter is not offered
    due_visits = None

bp = Blueprint("children", __name__, template_folder="templates")

PER_PAGE = 50
CST = ZoneInfo("Asia/Shanghai")
READ_PURPOSE = "查看档案 / view record"
BAD_DATE = _l("日期格式应为 年-月-日")
BAD_NUMBER = _l("请填写数字")
REQUIRED = _l("此项必填")


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, date, bool, select, multi
    choices: dict | None = None
    blank: bool = True  # a select's empty choice (stored as NULL)
    cast: type | None = None  # a select's stored type (int for the disability grade)
    input_type: str = "text"
    wide: bool = False


def _enum(name, label, choices, blank=True, **kw) -> Field:
    return Field(name, label, "select", choices=choices, blank=blank, **kw)


def _parent(who: str, zh: str) -> list[Field]:
    return [
        Field(f"{who}_name", f"{zh}姓名"),
        Field(f"{who}_birth_date", f"{zh}出生日期", "date"),
        Field(f"{who}_id_number", f"{zh}身份证号"),
        _enum(f"{who}_situation", f"{zh}状况", E.PARENT_SITUATIONS, blank=False),
        Field(f"{who}_work_province", f"{zh}务工省份"),
        Field(f"{who}_work_city", f"{zh}务工城市"),
        Field(f"{who}_phone", f"{zh}联系电话", input_type="tel"),
    ]


# The national form, section by section. `unattended` is derived by the service and never entered; the
# "unattended" guardianship type likewise (it follows from the parents' situations and the guardian).
VISIT_FILTERS = {"overdue": "走访已逾期", "due_soon": "7天内应走访"}
GUARDIANSHIP_CHOICES = {k: v for k, v in E.GUARDIANSHIP_TYPES.items() if k != "unattended"}
GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}
SECTIONS: list[tuple[str, str, list[Field]]] = [
    ("identity", "基本信息", [
        Field("name", "姓名"),
        _enum("sex", "性别", E.SEXES),
        _enum("ethnicity", "民族", {name: name for name in E.ETHNICITIES}, blank=False),
        Field("birth_date", "出生日期", "date"),
        Field("id_number", "身份证号"),
    ]),
    ("household", "户籍与住址", [
        Field("hukou_registered", "已登记户口", "bool"),
        Field("hukou_rural", "农村户籍", "bool"),
        Field("hukou_place", "户籍地", wide=True),
        Field("current_address", "现住址", wide=True),
    ]),
    ("health", "健康状况", [
        _enum("health_status", "健康状况", E.HEALTH, blank=False),
        _enum("disability_type", "残疾类别", {name: name for name in E.DISABILITY_TYPES}),
        _enum("disability_grade", "残疾等级", GRADES, cast=int),
    ]),
    ("schooling", "就学情况", [
        _enum("schooling", "就学状态", E.SCHOOLING),
        Field("school_name", "学校名称"),
        Field("boards_at_school", "寄宿", "bool"),
    ]),
    ("parents", "父母情况", [*_parent("father", "父亲"), *_parent("mother", "母亲")]),
    ("guardianship", "监护情况", [
        Field("guardian_name", "受托监护人姓名"),
        Field("guardian_relationship", "与儿童关系"),
        Field("guardian_phone", "受托监护人电话", input_type="tel"),
        Field("guardian_id_number", "受托监护人身份证号"),
        Field("guardian_address", "受托监护人住址", wide=True),
        _enum("guardianship_type", "监护类型", GUARDIANSHIP_CHOICES),
        _enum("guardianship_assessment", "监护评估", E.ASSESSMENTS),
        Field("guardianship_confirmed_on", "委托监护责任确认书签订日期", "date"),
    ]),
    ("income", "家庭收入来源", [Field("income_sources", "收入来源", "multi", choices=E.INCOME_SOURCES, wide=True)]),
    ("assistance", "救助帮扶", [Field("assistance", "已享受救助", "multi", choices=E.ASSISTANCE, wide=True)]),
    ("category", "儿童类别与风险", [
        Field("is_left_behind", "留守儿童", "bool"),
        Field("is_in_difficulty", "困境儿童", "bool"),
        _enum("difficulty_subcategory", "困境类别", E.DIFFICULTY_SUBCATEGORIES),
        Field("is_de_facto_unsupported", "事实无人抚养儿童", "bool"),
        _enum("risk_level", "风险等级", E.RISK_LEVELS, blank=False),
    ]),
    ("status", "档案状态", [
        _enum("status", "状态", E.STATUSES, blank=False),
        _enum("exit_reason", "退出原因", E.EXIT_REASONS),
        Field("exited_at", "退出日期", "date"),
    ]),
    ("form", "填报信息", [
        Field("form_filler", "填表人"),
        Field("reviewer", "审核人"),
        Field("report_date", "填报日期", "date"),
    ]),
]
FORM_FIELDS = {f.name: f for _, _, fields in SECTIONS for f in fields}
LABELS = {name: f.label for name, f in FORM_FIELDS.items()} | {"unattended": "无人监护", "version": "版本"}
ACTIONS = {"create": "新建", "update": "修改", "transfer": "迁移", "link": "部门名册比对更新"}
COLUMNS = Child.__table__.columns


@bp.before_request
def _login_first():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


# --- form values: strings in, typed values out -------------------------------------------------------

def parse_form(form) -> tuple[dict, dict[str, list[str]]]:
    """The submitted form as the service's typed values, with the errors of values that do not parse."""
    data: dict = {}
    errors: dict[str, list[str]] = {}
    for name, f in FORM_FIELDS.items():
        if f.kind == "bool":
            data[name] = form.get(name) in ("1", "on", "true")
            continue
        if f.kind == "multi":
            data[name] = [v for v in form.getlist(name) if v]
            continue
        raw = (form.get(name) or "").strip()
        if f.kind == "date":
            try:
                data[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                data[name] = None
                errors[name] = [BAD_DATE]
        elif f.kind == "select":
            if not raw:
                data[name] = None
            elif f.cast is int:
                try:
                    data[name] = int(raw)
                except ValueError:
                    data[name] = None
                    errors[name] = [BAD_NUMBER]
            else:
                data[name] = raw
        else:
            column = COLUMNS[name]
            length = getattr(column.type, "length", None)
            if length and len(raw) > length:
                errors[name] = [_l("最多 %(n)s 个字", n=length)]
            data[name] = raw if raw or not column.nullable else None
    if not data.get("sex"):
        errors.setdefault("sex", []).append(REQUIRED)
    return data, errors


def _merge(errors: dict, more: dict) -> dict:
    for field, messages in more.items():
        if field not in errors:  # a value that did not parse has its own message already
            errors[field] = list(messages)
    return errors


def form_value(value) -> str:
    """A typed value as an input's value."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def shown(name: str, value) -> str:
    """A stored (or history) value for reading, in the page's language."""
    f = FORM_FIELDS.get(name)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if name == "guardianship_type":
        return gettext(E.GUARDIANSHIP_TYPES.get(value, value))
    if f is not None and f.choices:
        if isinstance(value, list):
            return "、".join(gettext(f.choices.get(v, v)) for v in value)
        return gettext(f.choices.get(str(value), str(value)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return value.astimezone(CST).strftime("%Y-%m-%d %H:%M")


@bp.app_context_processor
def _helpers():
    return {"child_enums": E}


def _render_form(template_values: dict, *, child=None, errors=None, conflict=None, status=200):
    errors = errors or {}
    general = {k: v for k, v in errors.items() if k not in FORM_FIELDS}
    body = render_template("children/form.html", sections=SECTIONS, values=template_values, child=child,
                           errors=errors, general=general, conflict=conflict, form_value=form_value)
    return body, status


# --- list ----------------------------------------------------------------------------------------------

def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


def _list(template: str, *, unattended_only: bool = False):
    session = db.session
    actor = current_actor()
    args = request.args
    filters = {
        "unit": (args.get("unit") or "").strip() or None,
        "category": _choice(args.get("category"), E.CATEGORIES),
        "risk_level": _choice(args.get("risk_level"), E.RISK_LEVELS),
        "status": _choice(args.get("status"), E.STATUSES),
        "unattended": {"1": True, "0": False}.get(args.get("unattended") or ""),
        "q": (args.get("q") or "").strip() or None,
    }
    visit = _choice(args.get("visit"), VISIT_FILTERS) if due_visits is not None and not unattended_only else None
    page = page_arg()
    filter_error = None
    due_on: dict[int, date] = {}
    try:
        if visit:
            # Ordered by due date, worst first; the other filters do not apply to this list.
            due, total = due_visits(session, actor, unit=filters["unit"], status=visit, page=page,
                                    per_page=PER_PAGE)
            due_on = {d["child_id"]: d["due_on"] for d in due}
            found = {c.id: c for c in session.scalars(select(Child).where(Child.id.in_(due_on)))} if due else {}
            rows = [found[i] for i in due_on if i in found]
        elif unattended_only:
            rows, total = services.list_unattended(session, actor, filters["unit"], page, PER_PAGE)
        else:
            rows, total = services.list_children(session, actor, **filters, page=page, per_page=PER_PAGE)
    except NotFound as exc:
        filter_error = exc.detail
        rows, total = [], 0
    codes = {c.region_code for c in rows}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))} if codes else {}
    return render_template(
        template, children=[(services.list_item(c), c) for c in rows], total=total, page=page,
        per_page=PER_PAGE, filters=filters, filter_error=filter_error, units=units,
        show_village=level_of(actor.region_code) != Level.village, can_create=access.can_create(actor),
        unattended_only=unattended_only, visit=visit, visit_filters=VISIT_FILTERS if due_visits else {},
        due_on=due_on,
    )


@bp.route("/children")
def list_page():
    return _list("children/list.html")


@bp.route("/children/unattended")
def unattended_page():
    """Unattended children (无人监护) still on the books, for townships and counties above all."""
    return _list("children/list.html", unattended_only=True)


# --- create and edit -----------------------------------------------------------------------------------

@bp.route("/children/new", methods=["GET", "POST"])
def new_page():
    actor = current_actor()
    access.require_create(actor)  # Forbidden -> the 403 page
    if request.method == "GET":
        values = {**services.DEFAULTS, "report_date": None}
        return _render_form(values)
    data, errors = parse_form(request.form)
    if errors:
        _merge(errors, validate_child({**services.DEFAULTS, **data}))
        return _render_form(data, errors=errors, status=422)
    try:
        child = services.create_child(db.session, actor, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(data, errors=exc.errors or {"_form": [exc.detail]}, status=422)
    db.session.commit()
    flash(_l("已保存儿童档案：%(name)s", name=child.name), "success")
    return redirect(url_for("children.list_page"))


@bp.route("/children/<int:child_id>/edit", methods=["GET", "POST"])
def edit_page(child_id: int):
    actor = current_actor()
    session = db.session
    child = services.get_child(session, child_id)  # NotFound (or outside the subtree) -> 404
    access.require_edit(actor)
    if request.method == "GET":
        # The form shows the whole record, ID numbers in clear: a full read, audited.
        services.audit(session, actor, child, "read", services.EDIT_PURPOSE)
        session.commit()
        values = {name: getattr(child, name) for name in FORM_FIELDS}
        if values["guardianship_type"] == "unattended":
            values["guardianship_type"] = None  # derived: shown as a flag, derived again on save
        return _render_form(values, child=child)
    data, errors = parse_form(request.form)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    data["version"] = version  # re-rendered as submitted: a failed save never refreshes a stale version
    if errors:
        _merge(errors, validate_child({**{n: getattr(child, n) for n in FORM_FIELDS}, **data}))
        return _render_form(data, child=child, errors=errors, status=422)
    try:
        services.update_child(session, actor, child_id, data)
    except ValidationFailed as exc:
        session.rollback()
        return _render_form(data, child=services.get_child(session, child_id),
                            errors=exc.errors or {"_form": [exc.detail]}, status=422)
    except Conflict as exc:
        session.rollback()
        return _render_form(data, child=services.get_child(session, child_id),
                            conflict=exc.detail, status=409)
    session.commit()
    flash(_l("已保存修改"), "success")
    return redirect(url_for("children.view_page", child_id=child_id))


# --- the full record and its history -------------------------------------------------------------------

def _user_names(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(ids))).all()
    return {u.id: u.real_name or u.username for u in users}


@bp.route("/children/<int:child_id>")
def view_page(child_id: int):
    session = db.session
    actor = current_actor()
    child = services.get_child_for_read(session, actor, child_id, READ_PURPOSE)
    changes = services.history(session, actor, child_id)
    session.commit()
    unit = session.get(Unit, child.region_code)
    names = _user_names(session, [c["changed_by_id"] for c in changes])
    return render_template(
        "children/view.html", child=child, unit=unit, sections=SECTIONS, history=changes, names=names,
        labels=LABELS, actions=ACTIONS, shown=shown, local_time=local_time,
        can_edit=access.can_edit(actor),
        can_transfer=(actor.role == "staff" and actor.region_code == child.region_code and child.status == "active"
                      and level_of(actor.region_code) == Level.village),
    )


@bp.route("/children/<int:child_id>/history")
def history_page(child_id: int):
    return redirect(url_for("children.view_page", child_id=child_id, _anchor="history"))
