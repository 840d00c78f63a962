"""Reading the stored figures: a unit with its child units, its monthly history, and an Excel export.

Reads only stored rows (the roll-up job writes them): the unit's own row, its direct children's rows and its
open campaigns' rows, so a province's figures cost the same as a village's. A code outside the caller's
subtree is 404, ancestors included (their figures hold the caller's siblings').
"""

from __future__ import annotations

import io

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql

from hierarchy.codes import is_valid_code
from hierarchy.models import Unit
from hierarchy.scope import reusable
from sync.indicators import CAMPAIGN_FIELDS, GROUPS, INDICATORS, KEYS, zeros
from tenant_app import clock
from tenant_app.campaigns.models import Campaign
from tenant_app.errors import NotFound
from tenant_app.i18n import _l
from tenant_app.stats.models import UnitCampaignStats, UnitStats, UnitStatsMonthly

__all__ = ["INDICATORS", "GROUPS", "get_stats", "get_history", "export_stats_xlsx", "visible_unit"]

DEFAULT_MONTHS = 24
MAX_MONTHS = 120
_STAT_COLUMNS = [getattr(UnitStats, key) for key in KEYS]


def visible_unit(session, actor, code: str) -> Unit:
    """The unit `code` when it is the caller's unit or below it; NotFound otherwise."""
    code = (code or "").strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    unit = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound(_l("单位不在管辖范围内"))
    return unit


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# Built once: a statement of some ninety columns took longer to build on every request than to run.
_CAMPAIGNS = reusable(
    select(UnitCampaignStats, Campaign.title, Campaign.due_on)
    .join(Campaign, Campaign.id == UnitCampaignStats.campaign_id)
    .where(UnitCampaignStats.unit_code == bindparam("stats_unit"), Campaign.status == "open")
    .order_by(Campaign.due_on, Campaign.id)
)


def _unit_and_children(*figures):
    """The unit's own row and its direct children's, with their figures, in one statement: the unit first (a
    retired unit still has its own figures; its retired children are left out, as the children lists do)."""
    return reusable(select(Unit.code, Unit.name, Unit.level, UnitStats.as_of, *figures)
                    .outerjoin(UnitStats, UnitStats.unit_code == Unit.code)
                    .where(or_(Unit.code == bindparam("stats_unit"),
                               and_(Unit.parent_code == bindparam("stats_unit"), Unit.retired.is_(False))))
                    .order_by(Unit.code))


# On PostgreSQL the figures come as one array column in KEYS order instead of some ninety columns (each of which
# the driver describes on every execution); elsewhere (the quick start's SQLite) as columns.
_UNIT_AND_CHILDREN = {"postgresql": _unit_and_children(postgresql.array(_STAT_COLUMNS)),
                      None: _unit_and_children(*_STAT_COLUMNS)}


def _campaigns(session, code: str) -> list[dict]:
    rows = session.execute(_CAMPAIGNS, {"stats_unit": code}).all()
    result = []
    for stats, title, due_on in rows:
        item = {"id": stats.campaign_id, "title": title, "due_on": due_on, **stats.figures()}
        completed = item["submitted"] + item["approved"]
        # Completion: tasks submitted or approved among all; on time: those done by their due date among done.
        item["completion_rate"] = _rate(completed, item["total"])
        item["on_time_rate"] = _rate(item["completed_on_time"], completed)
        result.append(item)
    return result


def get_stats(session, actor, code: str) -> dict:
    """{code, name, level, as_of, indicators, children: [{code, name, level, as_of, indicators}], campaigns}.

    `as_of` is None (and the figures zero) for a unit the roll-up has not reached yet."""
    code = (code or "").strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(_l("单位不在管辖范围内"))
    # The figures are the array of the fifth column (PostgreSQL) or the row's columns after the first four, in
    # KEYS order (NOT NULL; all NULL when the roll-up has not reached the unit yet).
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _UNIT_AND_CHILDREN["postgresql" if postgres else None]
    items = [{"code": r[0], "name": r[1], "level": r[2], "as_of": r[3],
              "indicators": dict(zip(KEYS, r[4] if postgres else r[4:], strict=True)) if r[3] is not None
              else zeros()}
             for r in session.execute(statement, {"stats_unit": code})]
    # Ordered by code, the unit's own row comes first (its children's codes extend its own).
    if not items or items[0]["code"] != code:
        raise NotFound(_l("单位不在管辖范围内"))
    own, children = items[0], items[1:]
    return {**own, "children": children, "campaigns": _campaigns(session, code)}


def get_history(session, actor, code: str, months: int = DEFAULT_MONTHS) -> dict:
    """The last `months` monthly snapshots, oldest first: {code, name, points: [{month: 'YYYY-MM', indicators}]}."""
    unit = visible_unit(session, actor, code)
    months = max(1, min(int(months), MAX_MONTHS))
    rows = session.execute(
        select(UnitStatsMonthly).where(UnitStatsMonthly.unit_code == unit.code)
        .order_by(UnitStatsMonthly.month.desc()).limit(months)
    ).scalars().all()
    points = [{"month": row.month.strftime("%Y-%m"), "indicators": row.figures()} for row in reversed(rows)]
    return {"code": unit.code, "name": unit.name, "level": unit.level, "points": points}


def export_stats_xlsx(session, actor, code: str, locale: str = "zh") -> bytes:
    """One sheet: the unit's row then its child units', a column per indicator under its label; a second
    sheet with the open campaigns' progress."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from tenant_app import excel_safe

    stats = get_stats(session, actor, code)
    en = locale == "en"
    wb = Workbook()
    ws = wb.active
    ws.title = "Figures" if en else "统计"
    head = ["Code", "Name"] if en else ["代码", "名称"]
    excel_safe.append(ws, head + [i.label(locale) for i in INDICATORS])
    for item in [stats, *stats["children"]]:
        excel_safe.append(ws, [item["code"], item["name"]] + [item["indicators"][key] for key in KEYS])
    excel_safe.append(ws, [])
    as_of = clock.cst_text(stats["as_of"]) if stats["as_of"] else "-"
    excel_safe.append(ws, ["As of (China Standard Time)" if en else "统计时间（北京时间）", as_of])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C2"
    if stats["campaigns"]:
        from sync.indicators import CAMPAIGN_LABELS

        cs = wb.create_sheet("Campaigns" if en else "工作任务")
        excel_safe.append(cs, (["Campaign", "Due"] if en else ["任务名称", "截止日期"])
                  + [CAMPAIGN_LABELS[f][1 if en else 0] for f in CAMPAIGN_FIELDS])
        for c in stats["campaigns"]:
            excel_safe.append(cs, [c["title"], c["due_on"].isoformat()] + [c[f] for f in CAMPAIGN_FIELDS])
        for cell in cs[1]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
