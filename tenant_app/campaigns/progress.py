"""Tracking a campaign: progress of a unit and of each child unit, the overdue list, the answers summed.

Progress above the target level is read from the roll-up's stored rows (`unit_campaign_stats`, one per child
unit) when they are exact: the campaign is open, no roll-up that could change them is pending in the unit's
subtree or above it, and every row was computed on today's date (overdue counts follow the date; a stored row's
as_of is the oldest of its inputs). Otherwise, and at the target level, it is computed from the tasks with one
GROUP BY. Both give the same figures; the stored rows make a province's progress a read of a few dozen rows.

Definitions (China Standard Time, `today` from `tenant_app.clock`, passed into SQL so tests control it):
- completed = submitted + approved; completion_rate = completed / total;
- overdue = not started, draft or returned, and today is after the task's due date;
- on time = completed and submitted before the end of the due date in CST (its CST date <= due date);
  on_time_rate = on time / completed, null when nothing is completed.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import (
    Date,
    Float,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

from hierarchy.codes import CODE_LENGTHS, LEVEL_BY_LENGTH, Level, ancestors_of, code_in
from hierarchy.models import Unit
from hierarchy.scope import reusable
from tenant_app import clock
from tenant_app.auth.models import User
from tenant_app.campaigns.models import DONE_STATUSES, OPEN_STATUSES, Campaign, CampaignReceipt, Task
from tenant_app.campaigns.services import unit_names
from tenant_app.db import fixed_in
from tenant_app.visits.services import cst_date

COUNTED = ("pending", "draft", "submitted", "approved", "returned")
STATUS_KEYS = {"pending": "not_started", "draft": "draft", "submitted": "submitted", "approved": "approved",
               "returned": "returned"}


def _child_length(unit: str, campaign: Campaign) -> int | None:
    """Code length of the unit's children down the campaign's tree; None at the target level."""
    lengths = sorted(CODE_LENGTHS.values())
    target_length = CODE_LENGTHS[Level(campaign.target_level)]
    if len(unit) >= target_length:
        return None
    return lengths[lengths.index(len(unit)) + 1]


def _sum_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _figures(row) -> dict:
    total = int(row.total or 0)
    figures = {"total": total}
    for status, key in STATUS_KEYS.items():
        figures[key] = int(getattr(row, status) or 0)
    completed = figures["submitted"] + figures["approved"]
    on_time = int(row.on_time or 0)
    figures.update(completed=completed, overdue=int(row.overdue or 0), on_time=on_time,
                   completion_rate=round(completed / total, 4) if total else 0.0,
                   on_time_rate=round(on_time / completed, 4) if completed else None)
    return figures


# Outbox kinds whose pending roll-up changes campaign figures (task writes; fan-out, extension, units joining).
PROGRESS_KINDS = ("tasks", "campaign")


def progress(session, campaign: Campaign, unit: str, today: date | None = None) -> dict:
    """Progress of `unit` and of each child unit: from the stored roll-up rows while they are exact, else
    from the tasks (progress_live). `source` says which."""
    current = clock.today_cst()
    today = today or current
    child_length = _child_length(unit, campaign)
    if child_length is not None and today == current:
        stored = _stored_rows(session, campaign, unit, child_length, today)
        if stored is not None:
            rows, names = stored
            return _assemble(session, campaign, unit, today, child_length, rows, source="stored", names=names)
    return progress_live(session, campaign, unit, today)


@lru_cache(maxsize=1)
def _stored_statements() -> tuple:
    """The statements of `_stored_rows` (PostgreSQL only), built once: a pending roll-up in the unit's subtree or
    above it; the unit's and its child units' names; the child units' stored rows. Values: `pg_*` parameters."""
    from sync.models import OutboxEvent
    from tenant_app.stats.models import UnitCampaignStats as Stored

    unit, hi = bindparam("pg_unit"), bindparam("pg_hi")
    pending = select(OutboxEvent.id).where(
        fixed_in(OutboxEvent.kind, PROGRESS_KINDS),
        or_(and_(OutboxEvent.region_code >= unit, OutboxEvent.region_code < hi),
            OutboxEvent.region_code == any_(bindparam("pg_ancestors", type_=ARRAY(String))))).limit(1)
    names = select(Unit.code, Unit.name).where(or_(
        and_(Unit.level == bindparam("pg_level", type_=Unit.level.type), Unit.code >= unit, Unit.code < hi),
        Unit.code == unit))
    rows = (select(Stored.unit_code.label("code"), Stored.as_of, Stored.total, Stored.not_started.label("pending"),
                   Stored.draft, Stored.submitted, Stored.approved, Stored.returned, Stored.overdue,
                   Stored.completed_on_time.label("on_time"))
            .where(Stored.unit_code == any_(bindparam("pg_codes", type_=ARRAY(String))),
                   Stored.campaign_id == bindparam("pg_campaign")))
    return reusable(pending), reusable(names), reusable(rows)


def _stored_rows(session, campaign: Campaign, unit: str, child_length: int, today: date) -> tuple | None:
    """The child units' stored rows with the names of the unit and its child units, or None when the rows may
    differ from the tasks (see the module's notes)."""
    if campaign.status != "open" or session.get_bind().dialect.name != "postgresql":
        return None  # closed campaigns have no stored rows; SQLite's quick start computes live
    pending_statement, names_statement, rows_statement = _stored_statements()
    params = {"pg_unit": unit, "pg_hi": unit + ":"}
    if session.scalar(pending_statement, {**params, "pg_ancestors": list(ancestors_of(unit))}) is not None:
        return None
    # The child units first, then their rows by primary key: a plan that does not hang on fresh statistics.
    names = dict(session.execute(names_statement, {**params, "pg_level": int(LEVEL_BY_LENGTH[child_length])}).all())
    codes = [code for code in names if code != unit]
    rows = session.execute(rows_statement, {"pg_codes": codes, "pg_campaign": campaign.id}).all() if codes else []
    if not rows or any(clock.cst_day(row.as_of) != today for row in rows):
        return None  # not rolled up yet, or summed from figures of an earlier day
    return rows, names


@lru_cache(maxsize=8)
def _live_statement(group_length: int):
    """The GROUP BY of `progress_live` for one length of the group's codes, built once (its construction, a
    dozen function and CASE expressions, was a tenth of a progress request's CPU); values: `lv_*` parameters."""
    group = func.substr(Task.region_code, 1, group_length)
    overdue = and_(Task.status.in_(OPEN_STATUSES), Task.due_on < bindparam("lv_today", type_=Date))
    on_time = and_(Task.status.in_(DONE_STATUSES), cst_date(Task.submitted_at) <= Task.due_on)
    return reusable(select(group.label("code"), func.count().label("total"),
                           *(_sum_if(Task.status == s).label(s) for s in COUNTED),
                           _sum_if(overdue).label("overdue"), _sum_if(on_time).label("on_time"))
                    .where(Task.campaign_id == bindparam("lv_campaign"), Task.region_code >= bindparam("lv_unit"),
                           Task.region_code < bindparam("lv_hi"))
                    .group_by(group))


def progress_live(session, campaign: Campaign, unit: str, today: date | None = None) -> dict:
    """One GROUP BY over the tasks of `unit`'s subtree by child unit, plus one over its receipts."""
    today = today or clock.today_cst()
    child_length = _child_length(unit, campaign)
    rows = session.execute(_live_statement(child_length or len(unit)),
                           {"lv_today": today, "lv_campaign": campaign.id, "lv_unit": unit, "lv_hi": unit + ":"}).all()
    return _assemble(session, campaign, unit, today, child_length, rows, source="live")


def _assemble(session, campaign: Campaign, unit: str, today: date, child_length: int | None, rows,
              source: str, names: dict[str, str] | None = None) -> dict:
    if names is None:
        names = unit_names(session, [r.code for r in rows] + [unit])
    receipts = _receipts(session, campaign, unit, child_length or len(unit))
    children = []
    for row in rows:
        child = {"code": row.code, "name": names.get(row.code, ""), **_figures(row)}
        if len(row.code) < CODE_LENGTHS[Level(campaign.target_level)]:
            child.update(receipts.get(row.code, {"receipts_total": 0, "receipts_acknowledged": 0}))
        children.append(child)
    children.sort(key=lambda c: (c["completion_rate"], -c["overdue"], c["code"]))

    # The unit's own figures are its children's summed: no second pass over the tasks.
    totals = SimpleNamespace(total=sum(c["total"] for c in children), on_time=sum(c["on_time"] for c in children),
                             overdue=sum(c["overdue"] for c in children),
                             **{status: sum(c[key] for c in children) for status, key in STATUS_KEYS.items()})
    result = {"campaign_id": campaign.id, "unit": unit, "name": names.get(unit, ""), "today": today,
              "source": source, **_figures(totals)}
    own = receipts.get("__all__", {"receipts_total": 0, "receipts_acknowledged": 0})
    result.update(own)
    result["children"] = children if child_length is not None else []
    return result


@lru_cache(maxsize=8)
def _receipts_statement(child_length: int):
    """Built once per length of the child units' codes; values: `rc_*` parameters."""
    group = func.substr(CampaignReceipt.region_code, 1, child_length)
    return reusable(
        select(group.label("code"), func.count().label("n"), func.count(CampaignReceipt.acknowledged_at).label("ack"))
        .where(CampaignReceipt.campaign_id == bindparam("rc_campaign"),
               CampaignReceipt.region_code > bindparam("rc_unit"), CampaignReceipt.region_code < bindparam("rc_hi"))
        .group_by(group))


def _receipts(session, campaign: Campaign, unit: str, child_length: int) -> dict:
    """Receipts acknowledged / total below `unit`, per child unit and in all ("__all__")."""
    rows = session.execute(_receipts_statement(child_length),
                           {"rc_campaign": campaign.id, "rc_unit": unit, "rc_hi": unit + ":"}).all()
    out = {r.code: {"receipts_total": int(r.n), "receipts_acknowledged": int(r.ack)} for r in rows}
    out["__all__"] = {"receipts_total": sum(int(r.n) for r in rows),
                      "receipts_acknowledged": sum(int(r.ack) for r in rows)}
    return out


@lru_cache(maxsize=1)
def _overdue_statements() -> tuple:
    """The overdue list's page (the total rides along as a window count) and its count (only a page past the
    end needs one), built once; values: `od_*` parameters."""
    query = (select(Task.id, Task.region_code, Task.status, Task.due_on, Unit.name)
             .join(Unit, Unit.code == Task.region_code)
             .where(Task.campaign_id == bindparam("od_campaign"), Task.region_code >= bindparam("od_unit"),
                    Task.region_code < bindparam("od_hi"), fixed_in(Task.status, OPEN_STATUSES),
                    Task.due_on < bindparam("od_today", type_=Date)))
    page = (query.add_columns(func.count().over().label("total")).order_by(Task.due_on, Task.region_code)
            .limit(bindparam("od_limit", type_=Integer)).offset(bindparam("od_offset", type_=Integer)))
    return reusable(page), reusable(select(func.count()).select_from(query.subquery()))


def overdue_list(session, campaign: Campaign, unit: str, page: int = 1, per_page: int = 50,
                 today: date | None = None) -> tuple[list[dict], int]:
    """Overdue tasks under `unit`, longest overdue first, with the unit's name and its directors (the active
    staff users of the target unit: real name and phone)."""
    today = today or clock.today_cst()
    page_statement, count_statement = _overdue_statements()
    params = {"od_campaign": campaign.id, "od_unit": unit, "od_hi": unit + ":", "od_today": today,
              "od_limit": per_page, "od_offset": (page - 1) * per_page}
    rows = session.execute(page_statement, params).all()
    if rows:
        total = rows[0].total
    elif page > 1:
        total = session.scalar(count_statement, params)
    else:
        total = 0
    directors: dict[str, list[dict]] = {}
    codes = [r.region_code for r in rows]
    if codes:
        for user in session.execute(select(User.region_code, User.real_name, User.phone)
                                    .where(code_in(session, User.region_code, codes), User.role == "staff",
                                           User.active.is_(True)).order_by(User.id)):
            directors.setdefault(user.region_code, []).append({"name": user.real_name, "phone": user.phone})
    items = [{"task_id": r.id, "code": r.region_code, "name": r.name, "status": r.status, "due_on": r.due_on,
              "days_overdue": (today - r.due_on).days, "directors": directors.get(r.region_code, [])}
             for r in rows]
    return items, total


# --- answers summed --------------------------------------------------------------------------------------

def _empty_summary(q: dict) -> dict:
    item = {"key": q["key"], "label": q.get("label", ""), "type": q["type"], "answered": 0}
    if q["type"] in ("integer", "number"):
        item["sum"] = 0
    elif q["type"] == "yes_no":
        item.update(yes=0, no=0)
    elif q["type"] in ("choice", "multi_choice"):
        item["counts"] = {option: 0 for option in q.get("options", [])}
    return item


def _number(value, qtype: str):
    if value is None:
        return 0
    value = float(value)
    return int(value) if qtype == "integer" or value.is_integer() else round(value, 6)


def summarize_rows(questions: list[dict], answers_list) -> list[dict]:
    """Python aggregation of answer dicts: the portable path (and the reference the SQL path must match)."""
    out = []
    for q in questions:
        item = _empty_summary(q)
        key, qtype = q["key"], q["type"]
        total = 0.0
        counts: Counter = Counter()
        for answers in answers_list:
            value = (answers or {}).get(key)
            if value is None or value == "" or value == []:
                continue
            item["answered"] += 1
            if qtype in ("integer", "number") and isinstance(value, (int, float)) and not isinstance(value, bool):
                total += value
            elif qtype == "yes_no":
                item["yes" if value is True else "no"] += 1 if isinstance(value, bool) else 0
            elif qtype == "choice":
                counts[value] += 1
            elif qtype == "multi_choice" and isinstance(value, list):
                counts.update(set(value))
        if "sum" in item:
            item["sum"] = _number(total, qtype)
        if "counts" in item:
            item["counts"] = {option: counts.get(option, 0) for option in item["counts"]}
        out.append(item)
    return out


def _summarize_sql(session, campaign: Campaign, where) -> list[dict]:
    """PostgreSQL: one aggregate row, a few columns per question (JSON operators on the answers)."""
    answers = Task.answers
    columns, plan = [], []
    for i, q in enumerate(campaign.questions):
        key, qtype = q["key"], q["type"]
        text_value = answers[key].as_string()
        if qtype == "multi_choice":
            # CASE guards the length: a stored JSON null is not an array.
            answered = case((func.json_typeof(answers[key]) == "array", func.json_array_length(answers[key])),
                            else_=0) > 0
        else:
            answered = func.coalesce(text_value, "") != ""
        columns.append(_sum_if(answered).label(f"a{i}"))
        if qtype in ("integer", "number"):
            columns.append(func.sum(cast(text_value, Float)).label(f"s{i}"))
        elif qtype == "yes_no":
            columns += [_sum_if(text_value == "true").label(f"y{i}"), _sum_if(text_value == "false").label(f"n{i}")]
        elif qtype in ("choice", "multi_choice"):
            for j, option in enumerate(q.get("options", [])):
                if qtype == "choice":
                    hit = text_value == option
                else:
                    hit = cast(answers[key], _jsonb()).op("@>")(func.jsonb_build_array(option))
                columns.append(_sum_if(hit).label(f"c{i}_{j}"))
        plan.append(q)
    if not columns:
        return []
    row = session.execute(select(*columns).where(*where)).one()
    out = []
    for i, q in enumerate(plan):
        item = _empty_summary(q)
        item["answered"] = int(getattr(row, f"a{i}") or 0)
        if q["type"] in ("integer", "number"):
            item["sum"] = _number(getattr(row, f"s{i}"), q["type"])
        elif q["type"] == "yes_no":
            item.update(yes=int(getattr(row, f"y{i}") or 0), no=int(getattr(row, f"n{i}") or 0))
        elif q["type"] in ("choice", "multi_choice"):
            item["counts"] = {o: int(getattr(row, f"c{i}_{j}") or 0) for j, o in enumerate(q.get("options", []))}
        out.append(item)
    return out


def _jsonb():
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()


def answers_summary(session, campaign: Campaign, unit: str, *, use_sql: bool | None = None) -> dict:
    """Answers of the completed tasks under `unit` summed per question: numbers summed, yes/no and options
    counted, text and dates counted as answered."""
    where = (Task.campaign_id == campaign.id, Task.region_code >= unit, Task.region_code < unit + ":",
             Task.status.in_(DONE_STATUSES))
    completed = session.scalar(select(func.count()).select_from(Task).where(*where))
    if use_sql is None:
        use_sql = session.get_bind().dialect.name == "postgresql"
    if use_sql:
        questions = _summarize_sql(session, campaign, where)
    else:
        questions = summarize_rows(campaign.questions, session.scalars(select(Task.answers).where(*where)).all())
    return {"campaign_id": campaign.id, "unit": unit, "completed": completed, "questions": questions}


def task_ids_of(session, campaign: Campaign, codes: list[str]) -> dict[str, int]:
    """The tasks of those units (rows of a progress table at the target level), to open their answers."""
    target = [c for c in codes if len(c) == CODE_LENGTHS[Level(campaign.target_level)]]
    if not target:
        return {}
    return dict(session.execute(select(Task.region_code, Task.id)
                                .where(Task.campaign_id == campaign.id, Task.region_code.in_(target))).all())
