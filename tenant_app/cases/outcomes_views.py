"""The protection outcomes page (保护成效统计表) and its .xlsx export, for any unit of the caller's subtree."""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, render_template, request, send_file
from flask_login import login_required
from sqlalchemy import select

from hierarchy.codes import is_valid_code
from tenant_app.campaigns.models import Campaign
from tenant_app.cases import outcomes
from tenant_app.db import db
from tenant_app.errors import NotFound, ValidationFailed
from tenant_app.i18n import _l, current_locale
from tenant_app.security import current_actor

bp = Blueprint("outcomes", __name__, template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CAMPAIGN_CHOICES = 50


def _day(name: str) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(outcomes.INVALID, errors={name: [_l("日期格式应为YYYY-MM-DD")]}) from None


def _campaign_id() -> int | None:
    value = (request.args.get("campaign") or "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) < 2**31:
        raise NotFound(_l("未找到该工作部署"))
    return int(value)


def _report(code: str) -> dict:
    actor = current_actor()
    if not is_valid_code(code or "") or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不存在"))
    return outcomes.outcomes(db.session, actor, code, start=_day("start"), end=_day("end"),
                             campaign_id=_campaign_id())


@bp.route("/outcomes/<code>")
@login_required
def page(code: str):
    errors: dict = {}
    try:
        report = _report(code)
    except ValidationFailed as exc:
        errors = exc.errors or {}
        report = outcomes.outcomes(db.session, current_actor(), code)
    # Special actions the caller can see (issued above, at or below it), newest first, for the period picker.
    campaigns = db.session.execute(select(Campaign.id, Campaign.title, Campaign.starts_on, Campaign.due_on)
                                   .where(Campaign.status != "draft", Campaign.kind == "special_action")
                                   .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
                                   .limit(CAMPAIGN_CHOICES)).all()
    return render_template("cases/outcomes.html", report=report, errors=errors, campaigns=campaigns,
                           locale=current_locale(), args=request.args)


@bp.route("/outcomes/<code>/export.xlsx")
@login_required
def export(code: str):
    report = _report(code)
    body = outcomes.export_xlsx(report, current_locale())
    name = f"shouhu-outcomes-{code}-{report['start'].isoformat()}-{report['end'].isoformat()}.xlsx"
    return send_file(io.BytesIO(body), mimetype=XLSX, as_attachment=True, download_name=name)
