"""Case pages: the report form (and the county's hotline log), my reports, the case queue sorted by the clock,
the overdue list and the case page with its timeline and the steps open to the reader. Services validate and
write; each page commits once. A refused step writes nothing and shows its messages next to the fields (422),
or, for a stale version or a step the stage does not allow, as one clear message (409)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.cases import access, actions, forms, reading, reports, workflow
from tenant_app.cases import enums as E
from tenant_app.cases.common import get_case
from tenant_app.children import services as children
from tenant_app.children.models import Child
from tenant_app.db import db
from tenant_app.errors import Conflict, Forbidden, ValidationFailed
from tenant_app.i18n import _l
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

bp = Blueprint("cases", __name__, template_folder="templates")

PER_PAGE = 50
CHILD_MATCHES = 10
OVERDUE_CHOICES = ("", "1", "0")
STEPS = {"accept": workflow.accept, "screen-out": workflow.screen_out, "advance": workflow.advance,
         "close": workflow.close, "reopen": workflow.reopen}
# The fields each step's form posts (besides the version).
STEP_FIELDS = {"accept": ("note",), "screen-out": ("reason",), "advance": ("to", "note"),
               "close": ("outcome", "summary"), "reopen": ("reason",)}


def _names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    if not codes:
        return {}
    return dict(db.session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())


# --- filing -------------------------------------------------------------------------------------------

def _report_data(form, hotline: bool) -> tuple[dict, dict]:
    errors: dict = {}
    data = {"category": form.get("category") or None, "urgency": form.get("urgency") or None,
            "village_code": form.get("village_code", ""), "narrative": form.get("narrative", ""),
            "unknown_child_description": form.get("unknown_child_description", ""),
            "reporter_kind": "hotline" if hotline else "staff",
            "reporter_name": form.get("reporter_name", ""), "reporter_contact": form.get("reporter_contact", ""),
            "occurred_at": None}
    try:
        data["child_ids"] = [int(v) for v in form.getlist("child_ids") if v]
    except ValueError:
        data["child_ids"] = []
        errors["child_ids"] = [_l("儿童档案编号无效")]
    raw = form.get("occurred_at", "").strip()
    if raw:
        try:
            data["occurred_at"] = forms.parse_moment(raw)
        except ValueError:
            errors["occurred_at"] = [forms.INVALID_TIME]
    return data, errors


def _child_matches(q: str, chosen: list[int]) -> list[Child]:
    """Staff pick the children from their records (a name, or a full ID number matched exactly); partners
    never reach this (they describe the children)."""
    found: dict[int, Child] = {}
    if chosen:
        found.update({c.id: c for c in db.session.scalars(select(Child).where(Child.id.in_(chosen)))})
    if q.strip():
        rows, _ = children.list_children(db.session, current_actor(), q=q, status="active", per_page=CHILD_MATCHES)
        found.update({c.id: c for c in rows})
    return list(found.values())


def _report_form(hotline: bool):
    actor = current_actor()
    if hotline and not access.can_log_hotline(actor):
        raise Forbidden(_l("热线来电由县（区）工作人员登记"))
    access.require_file(actor)
    partner = access.is_partner(actor)
    errors: dict = {}
    status = 200
    form = request.form if request.method == "POST" else {}
    chosen: list[int] = []
    if request.method == "POST":
        data, errors = _report_data(request.form, hotline)
        chosen = data["child_ids"]
        if not errors:
            try:
                case = reports.file_report(db.session, actor, data)
                db.session.commit()
            except ValidationFailed as error:
                db.session.rollback()
                errors = error.errors or {}
            else:
                flash(_l("报告已提交，承办县（区）将按时受理"), "success")
                if partner:
                    return redirect(url_for("cases.reports_page"))
                return redirect(url_for("cases.case_page", case_id=case.id))
        status = 422
    elif request.args.get("child") and not partner:
        chosen = [int(request.args["child"])] if request.args["child"].isdigit() else []
    q = "" if partner else request.args.get("q", "")
    matches = [] if partner else _child_matches(q, chosen)
    # Where it happened: what was typed, else the chosen child's village, else the reporter's own village.
    village = form.get("village_code") or next((c.region_code for c in matches if c.id in chosen), "") or (
        actor.region_code if len(actor.region_code) == 12 else "")
    return render_template(
        "cases/report_form.html", hotline=hotline, partner=partner, errors=errors, form=form, q=q,
        matches=matches, chosen=set(chosen), village=village, categories=E.CATEGORIES, urgencies=E.URGENCIES,
        now=forms.cst_input(clock.now())), status


@bp.route("/reports/new", methods=["GET", "POST"])
@login_required
def report_page():
    return _report_form(hotline=False)


@bp.route("/hotline/new", methods=["GET", "POST"])
@login_required
def hotline_page():
    return _report_form(hotline=True)


@bp.route("/reports")
@login_required
def reports_page():
    """Reports filed by my unit (a partner: by my account), with the stage each has reached."""
    items, total = reports.list_own_reports(db.session, current_actor(), page_arg(), PER_PAGE)
    names = _names(item["village_code"] for item in items)
    return render_template("cases/reports.html", items=items, total=total, page=page_arg(), per_page=PER_PAGE,
                           names=names, partner=access.is_partner(current_user),
                           can_file=access.can_file(current_user))


# --- reading ------------------------------------------------------------------------------------------

def _queue(overdue_page: bool):
    stage = request.args.get("stage") or None
    if stage not in E.STAGES:
        stage = None
    overdue = request.args.get("overdue", "")
    if overdue not in OVERDUE_CHOICES:
        overdue = ""
    items, total = reading.list_cases(
        db.session, current_actor(), stage=stage, open_only=overdue_page,
        overdue=True if overdue_page else {"1": True, "0": False}.get(overdue), page=page_arg(), per_page=PER_PAGE)
    names = _names(code for item in items for code in (item["village_code"], item["township_code"]))
    return render_template("cases/queue.html", items=items, total=total, page=page_arg(), per_page=PER_PAGE,
                           names=names, stage=stage or "", overdue=overdue, overdue_page=overdue_page,
                           stages=E.STAGES), 200


@bp.route("/cases")
@login_required
def queue_page():
    return _queue(overdue_page=False)


@bp.route("/cases/overdue")
@login_required
def overdue_page():
    return _queue(overdue_page=True)


def _render_case(case_id: int, *, errors: dict | None = None, form=None, open_form: str = "",
                 problem=None, status: int = 200):
    actor = current_actor()
    case = get_case(db.session, case_id)
    item = reading.view(db.session, actor, case)
    db.session.commit()  # the audit row of a full read
    timeline = item.get("timeline") or []
    kids = item.get("children") or []
    child_names = {("child", c["id"]): c["name"] for c in kids}
    codes = {item["village_code"], item["township_code"], item["county_code"]}
    codes.update(e["by_unit_code"] for e in timeline)
    codes.update(e["data"].get("owner_unit") for e in timeline if isinstance(e.get("data"), dict))
    if item.get("reporter"):
        codes.add(item["reporter"]["unit_code"])
    names = _names(codes)
    unit_names = {("unit", code): name for code, name in names.items()}
    return render_template(
        "cases/case.html", case=item, errors=errors or {}, form=form or {}, open_form=open_form, problem=problem,
        names=names, timeline=[forms.describe(e, {**child_names, **unit_names}) for e in reversed(timeline)],
        can_decide=access.can_decide(actor, case), advances=E.ADVANCES.get(case.stage, ()),
        action_forms=[(kind, forms.action_fields(kind)) for kind in item.get("allowed_actions", ())],
        outcomes=E.OUTCOMES, now=forms.cst_input(clock.now()), today=clock.cst_day(clock.now()).isoformat(),
        id_numbers=forms.id_numbers(item.get("unknown_child_description", "")),
    ), status


@bp.route("/cases/<int:case_id>")
@login_required
def case_page(case_id: int):
    return _render_case(case_id)


def _refused(case_id: int, error, form, open_form: str):
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        return _render_case(case_id, errors=error.errors or {}, form=form, open_form=open_form, status=422)
    # A stale version or a step the stage no longer allows: one message; the page shows the case as it is.
    return _render_case(case_id, problem=error.detail, form={}, open_form="", status=409)


@bp.route("/cases/<int:case_id>/<any(accept, 'screen-out', advance, close, reopen):step>", methods=["POST"])
@login_required
def step_page(case_id: int, step: str):
    data = {field: request.form.get(field) or None for field in STEP_FIELDS[step]}
    data["version"] = forms._int(request.form.get("version"))
    try:
        STEPS[step](db.session, current_actor(), case_id, data)
        db.session.commit()
    except (ValidationFailed, Conflict) as error:
        return _refused(case_id, error, request.form, step)
    flash(_l("已办理"), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.route("/cases/<int:case_id>/actions", methods=["POST"])
@login_required
def action_page(case_id: int):
    data, errors = forms.action_data(request.form)
    kind = request.form.get("kind", "")
    if data["kind"] not in E.ACTION_KINDS:
        abort(400)
    if errors:
        access.require_action(current_actor(), get_case(db.session, case_id), kind)
        return _render_case(case_id, errors=errors, form=request.form, open_form=kind, status=422)
    try:
        actions.record_action(db.session, current_actor(), case_id, data)
        db.session.commit()
    except (ValidationFailed, Conflict) as error:
        return _refused(case_id, error, request.form, kind)
    flash(_l("已登记"), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.context_processor
def _labels():
    return {"categories": E.CATEGORIES, "urgencies": E.URGENCIES, "stages": E.STAGES, "steps": E.STEPS,
            "outcomes": E.OUTCOMES, "risk_levels": E.RISK_LEVELS, "reporter_kinds": E.REPORTER_KINDS,
            "action_kinds": E.ACTION_KINDS, "cst": clock.cst_text}
