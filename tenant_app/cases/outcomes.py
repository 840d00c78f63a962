"""The protection outcomes report (保护成效统计表): for a unit and a period (or a special-action campaign's
period), per child unit and in total, the kind of table the provinces published: reports received, guardianship
arranged, temporary placements, back to school, household registrations, assistance enrolled, guardianship
revoked, confirmations signed.

Counted from the source rows (cases, timelines, child records) of the unit's subtree in a few grouped
statements, so any period can be asked for (the stored roll-up only keeps this year's figures). The outcomes'
conditions are the roll-up's own (sync.indicators.OUTCOMES through sync.case_figures): the report for this
year and the dashboard agree. Counts only: no narrative, no child, so every unit may read its subtree's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select, text

from hierarchy.codes import CODE_LENGTHS, Level
from hierarchy.models import Unit
from sync.case_figures import action_condition
from sync.indicators import BY_KEY
from sync.link_figures import LINK_KEYS
from sync.link_figures import OUTCOMES as LINK_OUTCOMES
from tenant_app import clock
from tenant_app.campaigns.services import get_campaign
from tenant_app.errors import ValidationFailed
from tenant_app.i18n import _l
from tenant_app.stats.services import visible_unit

OUTCOME_KEYS = ("outcome_guardianship_arranged", "outcome_temporary_placements", "outcome_back_to_school",
                "outcome_household_registered", "outcome_assistance_enrolled", "outcome_guardianship_revoked")
# The table's columns: (key, Chinese heading, English heading).
COLUMNS = (
    ("reports", "接报强制报告", "Reports received"),
    ("accepted", "受理", "Accepted"),
    ("closed", "结案", "Closed"),
    *((k, BY_KEY[k].label_zh, BY_KEY[k].label_en) for k in OUTCOME_KEYS),
    ("confirmations", "签订委托监护责任确认书", "Guardianship confirmations signed"),
    # Found through the rolls (horizontal links): the worklists' answered items (sync.link_figures).
    *((k, BY_KEY[k].label_zh, BY_KEY[k].label_en) for k in LINK_KEYS),
)
KEYS = tuple(c[0] for c in COLUMNS)
MAX_DAYS = 3660
INVALID = _l("统计期间有误")


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), clock.CST).astimezone(clock.UTC)


def period(session, actor, start: date | None, end: date | None, campaign_id: int | None) -> tuple[date, date, dict]:
    """The period asked for: a campaign's (starts_on to due_on), or start..end (default: this year to today)."""
    campaign = None
    if campaign_id is not None:
        found = get_campaign(session, actor, campaign_id)
        start, end = found.starts_on, found.due_on
        campaign = {"id": found.id, "title": found.title}
    today = clock.today_cst()
    start = start or today.replace(month=1, day=1)
    end = end or today
    if end < start:
        raise ValidationFailed(INVALID, errors={"end": [_l("结束日期不能早于开始日期")]})
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed(INVALID, errors={"start": [_l("统计期间不能超过十年")]})
    return start, end, campaign


def _pg(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _cst_day(pg: bool, column: str) -> str:
    return f"CAST(timezone('Asia/Shanghai', {column}) AS DATE)" if pg else f"date({column}, '+8 hours')"


def _counts(session, code: str, n: int, start: date, end: date) -> dict[str, dict[str, int]]:
    """{child unit (or the unit itself at a village): {column: count}} in the period."""
    pg = _pg(session)
    lo, hi = _instant(start), _instant(end + timedelta(days=1))
    if not pg:  # SQLite keeps timestamps as text in SQLAlchemy's own format (UTC, no offset)
        lo, hi = (m.strftime("%Y-%m-%d %H:%M:%S.%f") for m in (lo, hi))
    params = {"lo": lo, "hi": hi, "code_lo": code, "code_hi": code + ":", "start": start, "end": end}
    group = f"substr({{col}}, 1, {n})"
    found: dict[str, dict[str, int]] = {}

    def add(statement: str, columns: tuple[str, ...]) -> None:
        for row in session.execute(text(statement), params):
            values = found.setdefault(row[0], dict.fromkeys(KEYS, 0))
            for key, value in zip(columns, row[1:], strict=True):
                values[key] = int(value or 0)

    def between(column: str) -> str:
        return f"{column} >= :lo AND {column} < :hi"

    # Each statement reads the subtree's range of codes only (an index range; the tenancy rules hold as well).
    g = group.format(col="c.region_code")
    add(f"SELECT {g}, sum(CASE WHEN {between('c.reported_at')} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {between('c.accepted_at')} THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN {between('c.closed_at')} THEN 1 ELSE 0 END) FROM cases c "
        f"WHERE c.region_code >= :code_lo AND c.region_code < :code_hi GROUP BY {g}", ("reports", "accepted", "closed"))
    g = group.format(col="a.region_code")
    sums = ", ".join(f"sum(CASE WHEN {action_condition(BY_KEY[k], pg)} THEN 1 ELSE 0 END)" for k in OUTCOME_KEYS)
    add(f"SELECT {g}, {sums} FROM case_actions a WHERE a.region_code >= :code_lo AND a.region_code < :code_hi "
        f"AND {between('a.at')} GROUP BY {g}", OUTCOME_KEYS)
    g = group.format(col="ch.region_code")
    add(f"SELECT {g}, count(*) FROM children ch WHERE ch.region_code >= :code_lo AND ch.region_code < :code_hi "
        f"AND ch.is_left_behind AND ch.guardianship_confirmed_on >= :start AND ch.guardianship_confirmed_on <= :end "
        f"GROUP BY {g}", ("confirmations",))
    g = group.format(col="w.region_code")
    sums = ", ".join(
        f"sum(CASE WHEN w.list_kind = '{kind}' AND w.answer = '{answer}' THEN 1 ELSE 0 END)"
        for kind, answer in LINK_OUTCOMES.values())
    add(f"SELECT {g}, {sums} FROM worklist_items w WHERE w.region_code >= :code_lo AND w.region_code < :code_hi "
        f"AND w.status = 'answered' AND w.answered_on >= :start AND w.answered_on <= :end GROUP BY {g}", LINK_KEYS)
    return found


def outcomes(session, actor, code: str, *, start: date | None = None, end: date | None = None,
             campaign_id: int | None = None) -> dict:
    """{code, name, level, start, end, campaign, columns, total: {key: n}, rows: [{code, name, values}]}."""
    unit = visible_unit(session, actor, code)
    start, end, campaign = period(session, actor, start, end, campaign_id)
    level = Level(unit.level)
    n = CODE_LENGTHS[Level(level + 1)] if level < Level.village else CODE_LENGTHS[level]
    counts = _counts(session, unit.code, n, start, end)
    rows = []
    if level < Level.village:
        for child in session.execute(select(Unit.code, Unit.name).where(
                Unit.parent_code == unit.code, Unit.retired.is_(False)).order_by(Unit.code)):
            rows.append({"code": child.code, "name": child.name,
                         "values": counts.get(child.code, dict.fromkeys(KEYS, 0))})
    total = {k: sum(values[k] for values in counts.values()) for k in KEYS}
    return {"code": unit.code, "name": unit.name, "level": unit.level, "start": start, "end": end,
            "campaign": campaign, "columns": [{"key": k, "label_zh": zh, "label_en": en} for k, zh, en in COLUMNS],
            "total": total, "rows": rows}


def export_xlsx(report: dict, locale: str = "zh") -> bytes:
    """The table as the provinces published it: a title with the period, a row per child unit, the total."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from tenant_app import excel_safe

    en = locale == "en"
    wb = Workbook()
    ws = wb.active
    ws.title = "Outcomes" if en else "保护成效"
    period_text = f"{report['start'].isoformat()} - {report['end'].isoformat()}"
    title = (f"{report['name']} protection outcomes ({period_text})" if en
             else f"{report['name']}未成年人保护成效统计表（{period_text}）")
    excel_safe.append(ws, [title])
    ws["A1"].font = Font(bold=True)
    labels = [c["label_en"] if en else c["label_zh"] for c in report["columns"]]
    excel_safe.append(ws, (["Code", "Unit"] if en else ["代码", "单位"]) + labels)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in report["rows"]:
        excel_safe.append(ws, [row["code"], row["name"]] + [row["values"][k] for k in KEYS])
    excel_safe.append(ws, [report["code"], "Total" if en else "合计"] + [report["total"][k] for k in KEYS])
    ws.freeze_panes = "C3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
