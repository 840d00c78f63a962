"""Dashboard pages (数据看板): a unit's figures, their trend, its child units side by side (drill down to the
villages), staff coverage, open campaigns' progress and the Excel export. One page for every level; a village's
shows only its own figures. The home page panel (`stats/_home.html`) reads one stored row."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file, url_for
from flask_login import login_required
from sqlalchemy import select

from hierarchy.codes import Level, is_valid_code, level_of, parent_of
from tenant_app.clock import today_cst
from tenant_app.db import db
from tenant_app.errors import NotFound
from tenant_app.i18n import _l, current_locale, gettext
from tenant_app.security import current_actor
from tenant_app.stats import case_panel, links_panel, roster_panel, services
from tenant_app.stats import dashboard as D
from tenant_app.stats.models import UnitStats
from tenant_app.units.services import ancestor_units

bp = Blueprint("stats", __name__, template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Figures that lead on to the children behind them: the overdue visits list and the unattended children list.
CELL_LINKS = {
    "visits_overdue": lambda code: url_for("visits.due_page", status="overdue", unit=code),
    "unattended": lambda code: url_for("children.unattended_page", unit=code),
}


@bp.route("/dashboard")
@login_required
def dashboard():
    return _dashboard(current_actor().region_code)


@bp.route("/dashboard/<code>")
@login_required
def unit_dashboard(code: str):
    return _dashboard(code)


def _check_code(actor, code: str) -> None:
    # The services refuse too; refusing here first keeps an ancestor's or a sibling's code from any query.
    if not is_valid_code(code or "") or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不存在"))


def _dashboard(code: str):
    session = db.session
    actor = current_actor()
    _check_code(actor, code)
    locale = current_locale()
    stats = services.get_stats(session, actor, code)
    history = services.get_history(session, actor, code, months=D.HISTORY_MONTHS)["points"]
    unit = _UnitHead(stats["code"], stats["name"], Level(stats["level"]))
    own_code = actor.region_code
    trail = [a for a in ancestor_units(session, unit.code) if len(a.code) >= len(own_code)]
    figures = stats["indicators"]

    rows = None
    sort, direction = "name", "asc"
    if unit.level < Level.village:
        rows = [{**child, "indicators": D.with_derived(child["indicators"])} for child in stats["children"]]
        rows, sort, direction = D.sort_rows(rows, request.args.get("sort"), request.args.get("dir"))
    chart_key = sort if sort in D.SORT_KEYS and sort != "name" else None
    context = {
        "unit": unit,
        "title": gettext(D.TITLES[unit.level]),
        "units_heading": gettext(D.UNITS_HEADINGS.get(Level(unit.level + 1), "下级单位"))
        if unit.level < Level.village else "",
        "trail": trail,
        "up_code": parent_of(unit.code) if unit.code != own_code else None,
        "as_of": D.as_of_text(stats["as_of"]),
        "cards": D.cards(figures, history, locale),
        "months": D.HISTORY_MONTHS,
        "rows": rows,
        "columns": D.columns(locale, unit.level) if rows is not None else [],
        "sort": sort,
        "dir": direction,
        "coverage": D.coverage(figures, unit.level, locale),
        "campaigns": stats["campaigns"],
        "chart": D.chart_data(history, figures, rows, locale, chart_key),
        "percent": D.percent_text,
        "percent_value": D.percent_value_text,
        "bar": D.bar_width,
        "cell_links": CELL_LINKS,
        "cases": case_panel.panel(figures, history, locale),
        "roster": roster_panel.panel(figures, history, locale),
        "links": links_panel.panel(figures, history, locale),
    }
    return render_template("stats/dashboard.html", **context)


class _UnitHead:
    """The unit as the page needs it (code, name, level) without loading the ORM row again."""

    def __init__(self, code: str, name: str, level: Level):
        self.code, self.name, self.level = code, name, level


@bp.route("/dashboard/<code>/export.xlsx")
@login_required
def export(code: str):
    actor = current_actor()
    _check_code(actor, code)
    body = services.export_stats_xlsx(db.session, actor, code, locale=current_locale())
    name = f"shouhu-stats-{code}-{today_cst().isoformat()}.xlsx"
    return send_file(io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=name)


@bp.app_template_global()
def home_figures(code: str) -> dict | None:
    """The caller's own unit's key figures for the home page: one stored row, no history."""
    if not is_valid_code(code or ""):
        return None
    row = db.session.execute(select(UnitStats).where(UnitStats.unit_code == code)).scalar_one_or_none()
    if row is None:
        return {"code": code, "as_of": None, "cards": [], "level": level_of(code)}
    figures = row.figures()
    return {"code": code, "as_of": D.as_of_text(row.as_of), "level": level_of(code),
            "cards": D.cards(figures, None, current_locale())}
