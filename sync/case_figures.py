"""Case indicators for the roll-up (sync.rollup): SQL fragments over cases, their reports and their timelines.

Populations (sync.indicators): "reports" are cases first reported this CST year, "open" the open cases now,
"actions" the timeline entries recorded this CST year, "median" the median minutes from filing to a step
over this year's reports. Counts sum up the tree like child counts; a median does not, so every level computes
its medians from the cases of its subtree (a GROUP BY of a code prefix, as cheap as the counts: a province
has tens of thousands of cases, not millions).

The median is the lower median (the value at position ⌈n/2⌉ in ascending order, PostgreSQL's
`percentile_disc(0.5)`), written with window functions so SQLite computes the same figure.

Whether a step is overdue follows tenant_app.cases.deadlines with each province's own limits: the deadline
expression is compiled once per province with a policy and picked by `cases.province_code`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, time

from sqlalchemy import select

from sync.indicators import CASE_COUNT_INDICATORS, MEDIAN_INDICATORS
from tenant_app import clock
from tenant_app.cases import deadlines
from tenant_app.cases import enums as CE
from tenant_app.cases.models import CasePolicy

COUNT_KEYS = tuple(i.key for i in CASE_COUNT_INDICATORS)
MEDIAN_KEYS = tuple(i.key for i in MEDIAN_INDICATORS)
CASE_KEYS = COUNT_KEYS + MEDIAN_KEYS
OPEN_SQL = CE.sql_in(CE.OPEN_STAGES)
_disabled: ContextVar[bool] = ContextVar("shouhu_case_figures_disabled", default=False)


@contextmanager
def disabled() -> Iterator[None]:
    """The roll-up without its case indicators (zeros): `shouhu bench cases` measures what they cost."""
    token = _disabled.set(True)
    try:
        yield
    finally:
        _disabled.reset(token)


def year_start(today) -> datetime:
    """The instant the current CST year began (UTC)."""
    return datetime.combine(today.replace(month=1, day=1), time(), clock.CST).astimezone(clock.UTC)


def policies(connection) -> dict[str, dict]:
    """Every province's limits that differ from the defaults: {province: policy as deadlines.policy_for}."""
    table = CasePolicy.__table__
    found = {}
    for row in connection.execute(select(table)):
        values = {field: getattr(row, field) for field in deadlines.DEFAULTS}
        values["overrides"] = dict(row.overrides or {})
        found[row.province_code] = values
    return found


def _compiled(connection, expression) -> str:
    return str(expression.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))


def due_sql(connection, factor: int = 1) -> str:
    """The deadline of each case's current step (NULL when its clock does not run), on `cases`."""
    found = policies(connection)
    now = clock.now()

    def due(policy) -> str:
        return _compiled(connection, deadlines.clock_columns(policy, now, factor)[1].element)

    default = due({**deadlines.DEFAULTS, "overrides": {}})
    if not found:
        return default
    branches = " ".join(f"WHEN '{code}' THEN {due(policy)}" for code, policy in sorted(found.items()))
    return f"CASE cases.province_code {branches} ELSE {default} END"


def _stamp(sql, moment: datetime):
    # SQLite keeps timestamps as text in SQLAlchemy's own format (UTC, no offset).
    return moment if sql.pg else moment.astimezone(clock.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _minutes(sql, later: str, earlier: str) -> str:
    if sql.pg:
        return f"CAST(round(extract(epoch FROM ({later} - {earlier})) / 60) AS INTEGER)"
    return f"CAST(round((julianday({later}) - julianday({earlier})) * 1440) AS INTEGER)"


def _days(sql, later: str, earlier: str) -> str:
    if sql.pg:
        return f"({sql.cst_date(later)} - {sql.cst_date(earlier)})"
    return f"CAST(julianday({sql.cst_date(later)}) - julianday({sql.cst_date(earlier)}) AS INTEGER)"


def _json(pg: bool, field: str) -> str:
    if pg:
        return f"(a.data ->> '{field}')"
    return f"json_extract(a.data, '$.{field}')"


def source_sql(sql, where: str) -> str:
    """One row per case matching `where` (on `cases`): the columns the case indicators' conditions use."""
    sql.params["case_year_start"] = _stamp(sql, year_start(clock.today_cst()))
    sql.params["case_now"] = _stamp(sql, clock.now())
    in_year = "cases.reported_at >= :case_year_start"
    return f"""
    SELECT cases.region_code, cases.category, r.reporter_kind, cases.stage, cases.escalation_level,
           {sql.flag(in_year)} AS in_year,
           {_days(sql, 'r.filed_at', 'r.occurred_at')} AS delay_days,
           {_minutes(sql, 'cases.accepted_at', 'cases.reported_at')} AS accept_minutes,
           {_minutes(sql, 'cases.first_measure_at', 'cases.reported_at')} AS measure_minutes,
           {sql.flag(f"({due_sql(sql.connection)}) <= :case_now")} AS overdue
    FROM cases JOIN reports r ON r.province_code = cases.province_code AND r.id = cases.report_id
    WHERE {where}"""


def _condition(indicator) -> str:
    population = {"reports": "in_year = 1", "open": f"stage IN ({OPEN_SQL})"}[indicator.population]
    return f"{population} AND ({indicator.condition})" if indicator.condition else population


def _count(sql, condition: str) -> str:
    if sql.pg:
        return f"count(*) FILTER (WHERE {condition})"
    return f"coalesce(sum(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"


def action_condition(indicator, pg: bool) -> str:
    """An outcome's condition on a timeline entry `a`, its data fields read as the dialect reads JSON."""
    fields = {"kind": _json(pg, "kind"), "done": _json(pg, "done_on"), "measure": _json(pg, "measure"),
              "decided": _json(pg, "decided_on")}
    return indicator.condition.format(**fields)


def _select(values: dict[str, str], keys) -> str:
    return ", ".join(f"{values.get(k, '0')} AS {k}" for k in keys)


def rows_sql(sql, spec, n: int, name: str, *, medians_only: bool = False) -> str:
    """SELECT code, <case keys> for the units of length `n` in `spec` (a sync.rollup._Spec of that level):
    counts and medians from the cases of each unit's subtree, or the medians alone (`medians_only`)."""
    if _disabled.get():
        zeros = ", ".join(f"0 AS {k}" for k in (MEDIAN_KEYS if medians_only else CASE_KEYS))
        return f"SELECT u.code, {zeros} FROM units u WHERE 1 = 0"
    where = sql.filter("cases.region_code", spec, f"{name}c", prefix=n if n < 12 else None)
    code = f"substr(s.region_code, 1, {n})"
    source = source_sql(sql, where)
    parts = []
    if not medians_only:
        case_counts = {i.key: _count(sql, _condition(i)) for i in CASE_COUNT_INDICATORS if i.population != "actions"}
        parts.append(f"SELECT {code} AS code, {_select(case_counts, CASE_KEYS)} FROM case_source s GROUP BY {code}")
        action_where = sql.filter("a.region_code", spec, f"{name}a", prefix=n if n < 12 else None)
        action_counts = {i.key: _count(sql, action_condition(i, sql.pg))
                         for i in CASE_COUNT_INDICATORS if i.population == "actions"}
        parts.append(f"SELECT substr(a.region_code, 1, {n}) AS code, {_select(action_counts, CASE_KEYS)} "
                     f"FROM case_actions a WHERE a.at >= :case_year_start AND {action_where} "
                     f"GROUP BY substr(a.region_code, 1, {n})")
    for indicator in MEDIAN_INDICATORS:
        column = indicator.condition  # the source column whose median it is
        ranked = (f"SELECT {code} AS code, s.{column} AS v, "
                  f"row_number() OVER (PARTITION BY {code} ORDER BY s.{column}) AS rn, "
                  f"count(*) OVER (PARTITION BY {code}) AS cnt "
                  f"FROM case_source s WHERE s.in_year = 1 AND s.{column} IS NOT NULL")
        value = {indicator.key: "max(CASE WHEN m.rn = (m.cnt + 1) / 2 THEN m.v END)"}
        parts.append(f"SELECT m.code, {_select(value, CASE_KEYS)} FROM ({ranked}) m GROUP BY m.code")
    keys = MEDIAN_KEYS if medians_only else CASE_KEYS
    # The source once (a CTE read several times is computed once), then the counts and each median from it.
    return (f"WITH case_source AS ({source}) SELECT code, {', '.join(f'sum({k}) AS {k}' for k in keys)} "
            f"FROM ({' UNION ALL '.join(parts)}) q GROUP BY code")
