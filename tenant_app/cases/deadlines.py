"""The clock of a case: the province's time limits and, for every open case at once, the current step, its
deadline and whether it is overdue, in one set-based statement (no per-row Python).

After the help plan the clock asks for follow-up visits (跟踪回访), spaced by the case's risk level: the first
within the interval after the day of the help plan, each next one within the interval after the day of the last.

Limits in hours run from a moment (acceptance within 1 or 24 hours of filing, the first emergency measure
within 24 hours); limits in days are China Standard Time calendar days: "within 3 days of acceptance" ends when
the third CST day after the day of acceptance ends. A step is overdue from its deadline on (`now >= due_at`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from hierarchy.models import UTCDateTime
from tenant_app import clock
from tenant_app.cases import enums as E
from tenant_app.cases.models import Case, CasePolicy

# The rules' defaults: emergencies accepted within 1 hour and a first emergency measure within 24 hours;
# other reports accepted within 24 hours; the assessment within 3 days of acceptance; the help plan within
# 7 days of the assessment; a follow-up visit every 7 days while the risk is high, 15 days at medium risk and
# 30 days at low risk.
DEFAULTS = {"accept_emergency_hours": 1, "accept_hours": 24, "first_measure_hours": 24, "assessment_days": 3,
            "help_plan_days": 7, "follow_up_high_days": 7, "follow_up_medium_days": 15, "follow_up_low_days": 30}
LIMIT_BOUNDS = {"accept_emergency_hours": 720, "accept_hours": 720, "first_measure_hours": 720,
                "assessment_days": 90, "help_plan_days": 90, "follow_up_high_days": 180,
                "follow_up_medium_days": 180, "follow_up_low_days": 180}
# Limits a province may leave out when it sets its policy (added after the first five): they keep their value.
OPTIONAL_LIMITS = ("follow_up_high_days", "follow_up_medium_days", "follow_up_low_days")


class add_hours(FunctionElement):  # noqa: N801 - SQL function style
    """A UTC moment plus n hours."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(add_hours)
def _add_hours_pg(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return (f"({compiler.process(moment, **kw)} + make_interval(hours => "
            f"CAST({compiler.process(hours, **kw)} AS INTEGER)))")


@compiles(add_hours, "sqlite")
def _add_hours_sqlite(element, compiler, **kw):
    moment, hours = list(element.clauses)
    return f"datetime({compiler.process(moment, **kw)}, '+' || ({compiler.process(hours, **kw)}) || ' hours')"


class end_of_cst_days_after(FunctionElement):  # noqa: N801
    """The first instant after the CST day that is n days after the CST day of a UTC moment (a UTC moment)."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(end_of_cst_days_after)
def _end_pg(element, compiler, **kw):
    moment, days = list(element.clauses)
    return (f"(CAST(CAST(timezone('Asia/Shanghai', {compiler.process(moment, **kw)}) AS DATE) "
            f"+ CAST({compiler.process(days, **kw)} AS INTEGER) + 1 AS TIMESTAMP) AT TIME ZONE 'Asia/Shanghai')")


@compiles(end_of_cst_days_after, "sqlite")
def _end_sqlite(element, compiler, **kw):
    moment, days = list(element.clauses)
    return (f"datetime(date({compiler.process(moment, **kw)}, '+8 hours'), "
            f"'+' || (({compiler.process(days, **kw)}) + 1) || ' days', '-8 hours')")


# --- the province's limits ---------------------------------------------------------------------------

def policy_for(session, province_code: str) -> tuple[dict, CasePolicy | None]:
    """The limits in force for a province: {field: value, "overrides": {category: {field: value}}}."""
    row = session.execute(select(CasePolicy).where(CasePolicy.province_code == province_code)).scalar_one_or_none()
    if row is None:
        return {**DEFAULTS, "overrides": {}}, None
    values = {field: getattr(row, field) if getattr(row, field) is not None else default
              for field, default in DEFAULTS.items()}
    values["overrides"] = dict(row.overrides or {})
    return values, row


def _limit(policy: dict, field: str, factor: int = 1):
    """The limit of one step as SQL: the province's value, or a category's own where it has one (times
    `factor`: the escalation's further limits)."""
    default = policy[field] * factor
    special = [(category, fields[field] * factor) for category, fields in sorted(policy["overrides"].items())
               if field in fields and fields[field] * factor != default]
    if not special:
        return literal(default)
    return case(*((Case.category == category, literal(value)) for category, value in special),
                else_=literal(default))


def clock_columns(policy: dict, now: datetime, factor: int = 1):
    """(step, due_at, overdue) of every case as SQL expressions on `cases`; NULL for a case whose clock does
    not run (screened out or closed). `factor` n gives the end of the n-th limit from
    the step's start (the escalation counts the limits passed)."""
    after_acceptance = Case.stage.in_(E.CLOCKED_STAGES)
    needs_measure = and_(after_acceptance, Case.urgency == "emergency", Case.first_measure_at.is_(None))
    needs_assessment = and_(after_acceptance, Case.assessed_at.is_(None))
    accept_limit = case((Case.urgency == "emergency", _limit(policy, "accept_emergency_hours", factor)),
                        else_=_limit(policy, "accept_hours", factor))
    following_up = and_(Case.stage.in_(E.FOLLOW_UP_STAGES), Case.help_plan_at.is_not(None))
    follow_up_limit = case((Case.risk_level == "high", _limit(policy, "follow_up_high_days", factor)),
                           (Case.risk_level == "low", _limit(policy, "follow_up_low_days", factor)),
                           else_=_limit(policy, "follow_up_medium_days", factor))
    step = case((Case.stage == "reported", literal("accept", String())),
                (needs_measure, literal("first_measure", String())),
                (needs_assessment, literal("assessment", String())),
                (after_acceptance, literal("help_plan", String())),
                (following_up, literal("follow_up_visit", String())),
                else_=literal(None, String()))
    due_at = case(
        (Case.stage == "reported", add_hours(Case.cycle_started_at, accept_limit)),
        (needs_measure, add_hours(Case.cycle_started_at, _limit(policy, "first_measure_hours", factor))),
        (needs_assessment, end_of_cst_days_after(Case.accepted_at, _limit(policy, "assessment_days", factor))),
        (after_acceptance, end_of_cst_days_after(Case.assessed_at, _limit(policy, "help_plan_days", factor))),
        (following_up, end_of_cst_days_after(func.coalesce(Case.last_follow_up_at, Case.help_plan_at),
                                             follow_up_limit)),
        else_=literal(None, UTCDateTime()))
    overdue = case((due_at.is_(None), literal(False)), else_=due_at <= literal(now, UTCDateTime()))
    return step.label("step"), due_at.label("due_at"), overdue.label("overdue")


def clock_query(policy: dict, now: datetime, *where):
    """One statement: the id, step, deadline and overdue flag of every case matching `where`, overdue first,
    then by deadline (cases without one last), then oldest first. Returns (query, order)."""
    step, due_at, overdue = clock_columns(policy, now)
    inner = select(Case.id.label("case_id"), step, due_at, overdue).where(*where).subquery("clock")
    query = select(inner.c.case_id, inner.c.step, inner.c.due_at, inner.c.overdue)
    order = (case((inner.c.overdue, 0), else_=1), inner.c.due_at.is_(None), inner.c.due_at, inner.c.case_id)
    return query, order


def due_text(due_at: datetime | None) -> dict:
    """How a deadline is shown: the instant, its CST text, and the CST day it falls in (the last day of a
    limit in days)."""
    if due_at is None:
        return {"due_at": None, "due_at_cst": "", "due_on_cst": None}
    return {"due_at": due_at, "due_at_cst": clock.cst_text(due_at),
            "due_on_cst": clock.cst_day(due_at - timedelta(microseconds=1))}

