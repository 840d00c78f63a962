"""Assessment pages: the league table (phone-friendly, 50 rows a page) and its .xlsx export, one unit's figures
with their sub-scores, weights and contributions, its trend per month, and the scheme of weights (read by every
unit of the province, set by the province's staff and admins). Services compute; pages only read, except the
scheme form, which commits once. A refused period or scheme shows its messages next to the fields."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from hierarchy.codes import Level, level_of
from tenant_app import clock
from tenant_app.assessment import exports, services
from tenant_app.assessment import indicators as I
from tenant_app.db import db
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l, current_locale
from tenant_app.security import current_actor
from tenant_app.units.views import page_arg

bp = Blueprint("assessment", __name__, template_folder="templates")
PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = _l("日期格式应为YYYY-MM-DD")


def _day(name: str, errors: dict) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.setdefault(name, []).append(DATE_FORMAT)
        return None


def _int(name: str, errors: dict, low: int, high: int) -> int | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        errors.setdefault(name, []).append(_l("请从列表中选择"))
        return None
    return int(value)


def _args() -> tuple[dict, dict]:
    errors: dict = {}
    args = {"period_start": _day("period_start", errors), "period_end": _day("period_end", errors),
            "unit": (request.args.get("unit") or "").strip() or None}
    try:
        services.period(args["period_start"], args["period_end"])
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
    if errors:
        args.update(period_start=None, period_end=None)
    return args, errors


def _query(result: dict) -> dict:
    """The query string that keeps the page's period, assessing unit and level on its links."""
    query = {"period_start": result["period_start"].isoformat(), "period_end": result["period_end"].isoformat()}
    if result["unit"]["code"] != current_actor().region_code:
        query["unit"] = result["unit"]["code"]
    return query


def _league() -> tuple[dict, dict]:
    args, errors = _args()
    level = _int("level", errors, 2, 5)
    try:
        return services.league(db.session, current_actor(), level=level, **args), errors
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
        args.update(period_start=None, period_end=None)
        return services.league(db.session, current_actor(), unit=args["unit"]), errors


@bp.route("/assessment")
@login_required
def league_page():
    result, errors = _league()
    page = page_arg()
    rows = result["rows"][(page - 1) * PER_PAGE: page * PER_PAGE]
    levels = [lv for lv in range(result["unit"]["level"] + 1, int(Level.village) + 1)]
    return render_template("assessment/league.html", result=result, rows=rows, page=page, per_page=PER_PAGE,
                           errors=errors, levels=levels, indicators=I.INDICATORS, query=_query(result),
                           args=request.args)


@bp.route("/assessment/export.xlsx")
@login_required
def export():
    result, _ = _league()
    body = exports.league_xlsx(result, current_locale())
    name = (f"shouhu-assessment-{result['unit']['code']}-L{result['level']}-"
            f"{result['period_start'].isoformat()}-{result['period_end'].isoformat()}.xlsx")
    return send_file(io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.route("/assessment/units/<code>")
@login_required
def unit_page(code: str):
    args, errors = _args()
    result = services.detail(db.session, current_actor(), code, **args)
    return render_template("assessment/detail.html", result=result, errors=errors, query=_query(result),
                           locale=current_locale())


@bp.route("/assessment/units/<code>/trend")
@login_required
def trend_page(code: str):
    errors: dict = {}
    year = _int("year", errors, 2000, 2100)
    unit = (request.args.get("unit") or "").strip() or None
    result = services.trend(db.session, current_actor(), code, year=year, unit=unit)
    this_year = clock.today_cst().year
    return render_template("assessment/trend.html", result=result, errors=errors, unit_arg=unit,
                           years=list(range(this_year, this_year - 5, -1)))


@bp.route("/assessment/scheme", methods=["GET", "POST"])
@login_required
def scheme_page():
    actor = current_actor()
    errors: dict = {}
    year = _int("year", errors, 2000, 2100) or clock.today_cst().year
    can_set = actor.role in ("staff", "admin") and level_of(actor.region_code) == Level.province
    submitted = None
    if request.method == "POST":
        submitted = {}
        for key in I.KEYS:
            raw = (request.form.get(key) or "").strip()
            submitted[key] = int(raw) if raw.isdigit() and len(raw) <= 3 else (raw or None)
        try:
            services.set_scheme(db.session, actor, {"year": year, "weights": submitted})
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.errors or {}
        else:
            db.session.commit()
            flash(_l("考核权重已保存"), "success")
            return redirect(url_for("assessment.scheme_page", year=year))
    scheme = services.get_scheme(db.session, actor, year)
    status = 422 if errors and request.method == "POST" else 200
    return render_template("assessment/scheme.html", scheme=scheme, errors=errors, can_set=can_set,
                           submitted=submitted, indicators=I.INDICATORS, year=year), status
