"""Upward roll-up: recompute stored figures from source rows, level by level, set-based.

Villages are computed from their child, visit and user rows (one pass over the children grouped by village);
every affected ancestor is then computed from its child units' stored rows, one `INSERT … SELECT … GROUP BY …
ON CONFLICT DO UPDATE` per level, each affected unit exactly once per call. Recompute, never increment: the same
call twice gives the same rows, so a retried job is harmless. The current month's snapshot and the open
campaigns' progress are written for the same units.

Campaign progress rows exist only for open campaigns and only for units with tasks in their subtree; rows of a
campaign that is no longer open are dropped at the next recompute (a closed campaign's pages count its tasks).
A campaign row's as_of is the oldest of its inputs, so campaign tracking can tell rows whose overdue counts all
follow today's date and serve them in place of counting the tasks (tenant_app.campaigns.progress).

Everything runs in the caller's transaction (all-tenants scope); the caller commits. PostgreSQL gets
`count(*) FILTER` and array parameters; SQLite (quick start) the portable forms, with identical results.
`recompute_in_memory` / `verify` recompute straight from source rows with a different method (a direct
`GROUP BY` prefix per level, no stored rows) and compare.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from sqlalchemy import bindparam, text

from hierarchy.citus_schema import is_citus
from hierarchy.codes import CODE_LENGTHS, Level, subtree_bounds
from sync import case_figures, link_figures, roster_figures
from sync.indicators import (
    ADDITIVE_KEYS,
    CAMPAIGN_FIELDS,
    CHILD_INDICATORS,
    KEYS,
    UNIT_INDICATORS,
    aggregate_sql,
    parameters,
)
from tenant_app import clock
from tenant_app.visits.models import DEFAULT_INTERVALS

LEVELS_UP = (Level.township, Level.county, Level.city, Level.province)
CHILD_KEYS = tuple(i.key for i in CHILD_INDICATORS)
UNIT_KEYS = tuple(i.key for i in UNIT_INDICATORS)
CASE_KEYS = case_figures.CASE_KEYS


def _values(values: dict[str, str]) -> str:
    """Every indicator in KEYS order (UNION ALL matches columns by position), 0 where `values` has none."""
    return ", ".join(f"{values.get(k, '0')} AS {k}" for k in KEYS)


# --- which units a call touches ------------------------------------------------------------------------

class _Spec:
    """The affected units of one level: all of them, a code range (a subtree), or a list of codes."""

    def __init__(self, kind: str, lo: str = "", hi: str = "", codes: tuple[str, ...] = ()):
        self.kind, self.lo, self.hi, self.codes = kind, lo, hi, codes

    @property
    def empty(self) -> bool:
        return self.kind == "codes" and not self.codes


def _specs(village_codes, unit_codes, subtree: str | None) -> dict[Level, _Spec]:
    if subtree is not None:
        lo, hi = subtree_bounds(subtree)
        return {lvl: (_Spec("range", lo, hi) if CODE_LENGTHS[lvl] >= len(subtree)
                      else _Spec("codes", codes=(subtree[:CODE_LENGTHS[lvl]],))) for lvl in Level}
    if village_codes is None and unit_codes is None:
        return {lvl: _Spec("all") for lvl in Level}
    codes = {c for c in list(village_codes or ()) + list(unit_codes or ()) if c}
    result = {}
    for lvl in Level:
        n = CODE_LENGTHS[lvl]
        result[lvl] = _Spec("codes", codes=tuple(sorted({c[:n] for c in codes if len(c) >= n})))
    return result


_grouped: ContextVar[bool] = ContextVar("shouhu_rollup_grouped", default=False)


@contextmanager
def grouped_form() -> Iterator[None]:
    """The grouped form of the workforce and worklist figures on any server (a Citus coordinator always uses it):
    the tests compare both forms with the same recount."""
    token = _grouped.set(True)
    try:
        yield
    finally:
        _grouped.reset(token)


class _Sql:
    """Dialect-specific fragments and the parameters they bind."""

    def __init__(self, connection):
        self.connection = connection
        self.pg = connection.dialect.name == "postgresql"
        # A Citus coordinator's keys hold the distribution column too (hierarchy.citus_schema).
        self.citus = self.pg and is_citus(connection)
        # The workforce and worklist figures grouped and joined by unit, not sub-selects per unit: Citus refuses
        # sub-selects over distributed tables correlated on anything but the province (sync.roster_figures).
        self.grouped = self.citus or _grouped.get()
        self.params: dict = {}
        self.expanding: set[str] = set()

    def true(self) -> str:
        return "TRUE" if self.pg else "1 = 1"

    def flag(self, condition: str) -> str:
        return f"CASE WHEN {condition} THEN 1 ELSE 0 END"

    def filter(self, column: str, spec: _Spec, name: str, *, prefix: int | None = None) -> str:
        """`column` (a code; its first `prefix` characters when given) belongs to the spec's units."""
        if spec.kind == "all":
            return self.true()
        route = self._province(column, spec, name)
        if spec.kind == "range":
            self.params[f"{name}_lo"], self.params[f"{name}_hi"] = spec.lo, spec.hi
            return f"({column} >= :{name}_lo AND {column} < :{name}_hi{route})"
        expr = f"substr({column}, 1, {prefix})" if prefix else column
        self.params[f"{name}_min"], self.params[f"{name}_max"] = spec.codes[0], spec.codes[-1] + ":"
        # The bounding range lets an index on `column` narrow the scan before the exact membership test.
        bounds = f"{column} >= :{name}_min AND {column} < :{name}_max"
        if self.pg:
            self.params[name] = list(spec.codes)
            return f"({bounds} AND {expr} = ANY(:{name}){route})"
        self.params[name] = list(spec.codes)
        self.expanding.add(name)
        return f"({bounds} AND {expr} IN :{name})"

    def _province(self, column: str, spec: _Spec, name: str) -> str:
        """On Citus, the spec's provinces named on the row's own province column (not the tree's, a reference
        table): a statement over one province's units then runs on its one shard."""
        if not self.citus or column.endswith(".code"):
            return ""
        provinces = sorted({code[:2] for code in ((spec.lo,) if spec.kind == "range" else spec.codes)})
        # As literals, which only digits may be: Citus prunes shards by constants when it plans the statement.
        if not all(len(p) == 2 and p.isdigit() for p in provinces):
            return ""
        own = column.rsplit(".", 1)[0] + ".province_code" if "." in column else "province_code"
        return f" AND {own} IN ({', '.join(repr(p) for p in provinces)})"

    def cst_date(self, column: str) -> str:
        if self.pg:
            return f"CAST(timezone('Asia/Shanghai', {column}) AS DATE)"
        return f"date({column}, '+8 hours')"

    def add_days(self, day: str, days: str) -> str:
        if self.pg:
            return f"({day} + {days})"
        return f"date({day}, '+' || ({days}) || ' days')"

    def run(self, sql: str, **params):
        statement = text(sql)
        if self.expanding:
            statement = statement.bindparams(*(bindparam(n, expanding=True) for n in self.expanding))
        result = self.connection.execute(statement, {**self.params, **params})
        self.params, self.expanding = {}, set()
        return result

    def upsert(self, keys, conflict: str) -> str:
        if not keys:
            return ""
        if self.citus:
            conflict += ", province_code"
        return f"ON CONFLICT ({conflict}) DO UPDATE SET " + ", ".join(f"{k} = excluded.{k}" for k in keys)


# A unit's code and its province as the columns' types, lengths included: Citus passes rows that go through the
# coordinator on to the shards as records of the target's types, and drops a bare cast of text to varchar.
CODE_COLUMNS = "CAST(code AS varchar(12)), CAST(substr(code, 1, 2) AS varchar(2))"


def _stamp(sql: _Sql, as_of):
    # SQLite keeps timestamps as text in SQLAlchemy's own format (UTC, no offset).
    return as_of if sql.pg else as_of.strftime("%Y-%m-%d %H:%M:%S.%f")


def _date_params(sql: _Sql, today: date) -> dict:
    values = parameters(today)
    if sql.pg:
        return values
    return {k: v.isoformat() for k, v in values.items()}


# --- the source relation: one row per child with the date its next visit is due --------------------------

def _source_sql(sql: _Sql, where: str, visits_where: str, found_where: str | None = None) -> str:
    """Children (filtered by `where` on `c.region_code`) with `due_on` by the province's visit intervals,
    the same rule as the visits list: last visit (or the record's creation day in CST) + interval by risk;
    a child an open report found living alone (脱离监护单独居住) and not visited since is due that day."""
    # As the visits list: an unattended child not visited since the record was made is due at once.
    interval = ("CASE WHEN c.unattended AND lv.last_visit_on IS NULL THEN 0 "
                "WHEN c.risk_level = 'high' THEN coalesce(p.high_days, {high}) "
                "WHEN c.risk_level = 'medium' THEN coalesce(p.medium_days, {medium}) "
                "ELSE coalesce(p.low_days, {low}) END").format(**DEFAULT_INTERVALS)
    base = f"coalesce(lv.last_visit_on, {sql.cst_date('c.created_at')})"
    found_on = sql.cst_date("f.found_at")
    due = (f"CASE WHEN f.found_at IS NOT NULL AND (lv.last_visit_on IS NULL OR lv.last_visit_on < {found_on}) "
           f"THEN {found_on} ELSE {sql.add_days(base, interval)} END")
    return f"""
    SELECT c.region_code, c.status, c.is_left_behind, c.is_in_difficulty, c.difficulty_subcategory,
           c.is_de_facto_unsupported, c.birth_date, c.sex, c.guardianship_type, c.schooling, c.hukou_registered,
           c.risk_level, c.unattended, c.exit_reason, c.exited_at, c.guardianship_confirmed_on,
           CASE WHEN c.status = 'active' THEN {due} END AS due_on
    FROM children c
    LEFT JOIN (SELECT v.province_code, v.child_id, max(v.visited_on) AS last_visit_on FROM visits v
               WHERE {visits_where} GROUP BY v.province_code, v.child_id) lv
      ON lv.province_code = c.province_code AND lv.child_id = c.id
    LEFT JOIN (SELECT cc.province_code, cc.child_id, max(cs.reported_at) AS found_at FROM case_children cc
               JOIN cases cs ON cs.province_code = cc.province_code AND cs.id = cc.case_id
               WHERE cs.category = 'living_alone' AND cs.stage IN ({case_figures.OPEN_SQL})
                 AND {found_where or sql.true()}
               GROUP BY cc.province_code, cc.child_id) f ON f.province_code = c.province_code AND f.child_id = c.id
    LEFT JOIN visit_policies p ON p.province_code = c.province_code
    WHERE {where}"""


def _child_aggregates(sql: _Sql) -> str:
    dialect = "postgresql" if sql.pg else "sqlite"
    return ", ".join(f"{aggregate_sql(i, dialect)} AS {i.key}" for i in CHILD_INDICATORS)


def _staff_exists(level: Level) -> str:
    return ("EXISTS (SELECT 1 FROM users us WHERE us.region_code = u.code AND us.role = 'staff' "
            f"AND us.active) AND NOT u.retired AND u.level = {int(level)}")


def _own_unit_values(sql: _Sql) -> dict[str, str]:
    """A unit's own contribution to the unit counts (villages and townships count themselves)."""
    return {
        "villages_total": sql.flag(f"NOT u.retired AND u.level = {int(Level.village)}"),
        "villages_with_director": sql.flag(_staff_exists(Level.village)),
        "townships_total": sql.flag(f"NOT u.retired AND u.level = {int(Level.township)}"),
        "townships_with_supervisor": sql.flag(_staff_exists(Level.township)),
        **roster_figures.own_values(sql),
        **link_figures.own_values(sql),
    }


def _own_unit_joins(sql: _Sql, spec: _Spec, name: str) -> str:
    """What the own values read besides `u` in the grouped form (after `FROM units u`); '' otherwise."""
    if not sql.grouped:
        return ""
    return (roster_figures.joins(sql, sql.filter("ra.region_code", spec, f"{name}r"))
            + link_figures.joins(sql, sql.filter("w.region_code", spec, f"{name}w")))


# --- recompute -----------------------------------------------------------------------------------------

def _villages(sql: _Sql, spec: _Spec, as_of, today: date) -> int:
    if sql.pg and spec.kind != "codes":
        sql.run("DROP TABLE IF EXISTS rollup_villages")
    where = sql.filter("c.region_code", spec, "v5")
    visits_where = sql.filter("v.region_code", spec, "vv5")
    found_where = sql.filter("cc.region_code", spec, "fc5")
    units_where = sql.filter("u.code", spec, "u5")
    own = _own_unit_values(sql)
    columns = ", ".join(KEYS)
    # No join between the aggregate and the units: a UNION ALL of both summed per code is one hash aggregate
    # whatever the planner believes about the freshly written tables.
    children = _values({k: k for k in CHILD_KEYS})
    units = _values({k: own[k] for k in UNIT_KEYS})
    aggregate = (f"SELECT s.region_code, {_child_aggregates(sql)} "
                 f"FROM ({_source_sql(sql, where, visits_where, found_where)}) s GROUP BY s.region_code")
    source = f"({aggregate})"
    if sql.pg and spec.kind != "codes":
        # A scan of many children: PostgreSQL runs the aggregate with parallel workers in a CREATE TABLE AS,
        # never inside an INSERT.
        sql.run(f"CREATE TEMPORARY TABLE rollup_villages ON COMMIT DROP AS {aggregate}", **_date_params(sql, today))
        sql.run("ANALYZE rollup_villages")
        values = {**{k: f"coalesce(a.{k}, 0)" for k in CHILD_KEYS}, **{k: own[k] for k in UNIT_KEYS},
                  **{k: f"coalesce(q.{k}, 0)" for k in CASE_KEYS}}
        # The villages' case figures in a table of their own too: joined as a sub-select, the planner took it for
        # one row and ran it again for every village.
        sql.run("DROP TABLE IF EXISTS rollup_village_cases")
        sql.run("CREATE TEMPORARY TABLE rollup_village_cases ON COMMIT DROP AS "
                + case_figures.rows_sql(sql, spec, CODE_LENGTHS[Level.village], "q5"))
        sql.run("ANALYZE rollup_village_cases")
        units_where = sql.filter("u.code", spec, "u5")
        return sql.run(f"""
        INSERT INTO unit_stats (unit_code, province_code, level, as_of, {columns})
        SELECT u.code, CAST(substr(u.code, 1, 2) AS varchar(2)), u.level, :as_of, {", ".join(values[k] for k in KEYS)}
        FROM units u LEFT JOIN rollup_villages a ON a.region_code = u.code
        LEFT JOIN rollup_village_cases q ON q.code = u.code {_own_unit_joins(sql, spec, "j5")}
        WHERE u.level = {int(Level.village)} AND {units_where}
        {sql.upsert(('level', 'as_of', *KEYS), 'unit_code')}""", as_of=as_of, **_date_params(sql, today)).rowcount
    statement = f"""
    INSERT INTO unit_stats (unit_code, province_code, level, as_of, {columns})
    SELECT {CODE_COLUMNS}, {int(Level.village)}, :as_of, {", ".join(f"sum({k})" for k in KEYS)}
    FROM (SELECT a.region_code AS code, {children}
          FROM {source} a
          UNION ALL
          SELECT u.code, {units} FROM units u {_own_unit_joins(sql, spec, "j5")}
          WHERE u.level = {int(Level.village)} AND {units_where}
          UNION ALL
          SELECT q.code, {_values({k: k for k in CASE_KEYS})}
          FROM ({case_figures.rows_sql(sql, spec, CODE_LENGTHS[Level.village], "q5")}) q) x
    GROUP BY code
    {sql.upsert(('level', 'as_of', *KEYS), 'unit_code')}"""
    return sql.run(statement, as_of=as_of, **_date_params(sql, today)).rowcount


def _level(sql: _Sql, level: Level, spec: _Spec, as_of, today: date) -> int:
    n, below = CODE_LENGTHS[level], Level(level + 1)
    child_where = sql.filter("s.unit_code", spec, f"c{int(level)}", prefix=n)
    units_where = sql.filter("u.code", spec, f"u{int(level)}")
    own = _own_unit_values(sql)
    columns = ", ".join(KEYS)
    units = _values(own)
    # Counts are the sums of the child units' rows; medians are computed from this level's cases.
    summed = _values({k: k for k in ADDITIVE_KEYS})
    medians = case_figures.rows_sql(sql, spec, n, f"q{int(level)}", medians_only=True)
    statement = f"""
    INSERT INTO unit_stats (unit_code, province_code, level, as_of, {columns})
    SELECT {CODE_COLUMNS}, {int(level)}, :as_of, {", ".join(f"sum({k})" for k in KEYS)}
    FROM (SELECT substr(s.unit_code, 1, {n}) AS code, {summed} FROM unit_stats s
          WHERE s.level = {int(below)} AND {child_where}
          UNION ALL
          SELECT u.code, {units} FROM units u {_own_unit_joins(sql, spec, f"j{int(level)}")}
          WHERE u.level = {int(level)} AND {units_where}
          UNION ALL
          SELECT q.code, {_values({k: k for k in case_figures.MEDIAN_KEYS})} FROM ({medians}) q) x
    GROUP BY code
    {sql.upsert(('level', 'as_of', *KEYS), 'unit_code')}"""
    return sql.run(statement, as_of=as_of, **_date_params(sql, today)).rowcount


def _task_values(sql: _Sql) -> dict[str, str]:
    done = "t.status IN ('submitted', 'approved')"
    return {
        "total": "1",
        "not_started": sql.flag("t.status = 'pending'"),
        "draft": sql.flag("t.status = 'draft'"),
        "submitted": sql.flag("t.status = 'submitted'"),
        "approved": sql.flag("t.status = 'approved'"),
        "returned": sql.flag("t.status = 'returned'"),
        "overdue": sql.flag("t.status IN ('pending', 'draft', 'returned') AND t.due_on < :today"),
        "completed_on_time": sql.flag(f"{done} AND t.submitted_at IS NOT NULL "
                                      f"AND {sql.cst_date('t.submitted_at')} <= t.due_on"),
    }


def _campaigns(sql: _Sql, level: Level, spec: _Spec, as_of, today: date) -> None:
    n = CODE_LENGTHS[level]
    name = f"k{int(level)}"
    # By level, not by length(unit_code): a level's rows are then found through their index under the jobs
    # role's row-level security too (length() is not leakproof; migration 0030).
    sql.run(f"DELETE FROM unit_campaign_stats WHERE level = {int(level)} AND "
            f"{sql.filter('unit_code', spec, name)}")
    fields = ", ".join(CAMPAIGN_FIELDS)
    task_values = _task_values(sql)
    own = ", ".join(f"{task_values[f]} AS {f}" for f in CAMPAIGN_FIELDS)
    # A unit's as_of is the oldest of its inputs: rows summed from child rows computed on an earlier day carry
    # that day, so a reader can tell figures whose overdue counts all follow today's date (campaigns.progress).
    stamp = "CAST(:as_of AS timestamptz)" if sql.pg else ":as_of"
    parts = [f"""SELECT t.region_code AS code, t.campaign_id, {stamp} AS as_of, {own}
                 FROM tasks t JOIN campaigns cp ON cp.province_code = t.province_code AND cp.id = t.campaign_id
                   AND cp.status = 'open'
                 WHERE length(t.region_code) = {n} AND {sql.filter('t.region_code', spec, name + 't')}"""]
    if level != Level.village:
        parts.append(f"""SELECT substr(s.unit_code, 1, {n}) AS code, s.campaign_id, s.as_of, {fields}
                         FROM unit_campaign_stats s
                         WHERE s.level = {int(level) + 1}
                           AND {sql.filter('s.unit_code', spec, name + 's', prefix=n)}""")
    sums = ", ".join(f"sum({f})" for f in CAMPAIGN_FIELDS)
    # The rows were deleted above; on Citus the ON CONFLICT makes the insert go to the shards as INSERTs
    # (hierarchy.citus_schema.via_results).
    sql.run(f"""
    INSERT INTO unit_campaign_stats (unit_code, province_code, campaign_id, level, as_of, {fields})
    SELECT {CODE_COLUMNS}, campaign_id, {int(level)}, min(as_of), {sums} FROM ({' UNION ALL '.join(parts)}) x
    GROUP BY code, campaign_id
    {sql.upsert(('as_of', *CAMPAIGN_FIELDS), 'unit_code, campaign_id') if sql.citus else ''}""",
            as_of=as_of, **_date_params(sql, today))


def _snapshot(sql: _Sql, specs: dict[Level, _Spec], month: date) -> None:
    columns = ", ".join(KEYS)
    wheres = []
    for lvl, spec in specs.items():
        if spec.kind == "all":
            wheres = [sql.true()]
            sql.params.clear()
            sql.expanding.clear()
            break
        if not spec.empty:
            wheres.append(f"(level = {int(lvl)} AND {sql.filter('unit_code', spec, f'm{int(lvl)}')})")
    if not wheres:
        return
    sql.run(f"""
    INSERT INTO unit_stats_monthly (unit_code, province_code, month, level, as_of, {columns})
    SELECT unit_code, province_code, :month, level, as_of, {columns} FROM unit_stats WHERE {' OR '.join(wheres)}
    {sql.upsert(('level', 'as_of', *KEYS), 'unit_code, month')}""",
            month=month if sql.pg else month.isoformat())


def recompute(connection, village_codes=None, *, unit_codes=None, subtree: str | None = None,
              campaign_only: Iterable[str] = ()) -> dict:
    """Recompute the given villages (and units whose own figures changed, e.g. a township's supervisor), then
    every ancestor of them once, level by level. No codes = every unit (the full rebuild); `subtree` = every unit
    under that code and its ancestors. `campaign_only`: units whose changes feed only the campaigns' progress
    (task writes): their campaign figures and their ancestors' are recomputed, their other figures are left as
    they are. Returns {level name: units written (their figures, unit_stats)}, the as_of and the month."""
    sql = _Sql(connection)
    today = clock.today_cst()
    now = clock.now()
    as_of = _stamp(sql, now)
    month = today.replace(day=1)
    campaign_only = list(campaign_only)
    if campaign_only:
        if subtree is not None:
            raise ValueError("campaign_only goes with codes, not with a subtree")
        village_codes, unit_codes = list(village_codes or ()), list(unit_codes or ())
    specs = _specs(village_codes, unit_codes, subtree)
    campaign_specs = _specs(village_codes + campaign_only, unit_codes, None) if campaign_only else specs
    written = {}
    # Campaigns closed since the last run leave the stored progress. Their ids first (a small table): a DELETE
    # with the sub-select walked every stored row under the policy's range on each drain; by id it uses the index.
    closed = [row[0] for row in connection.execute(text("SELECT id FROM campaigns WHERE status <> 'open'"))]
    if closed:
        connection.execute(text("DELETE FROM unit_campaign_stats WHERE campaign_id IN :ids")
                           .bindparams(bindparam("ids", expanding=True)), {"ids": closed})
    for level in (Level.village, *LEVELS_UP):  # each level from the one below it, so upwards
        if not specs[level].empty:
            written[level.name] = (_villages(sql, specs[level], as_of, today) if level == Level.village
                                   else _level(sql, level, specs[level], as_of, today))
        if not campaign_specs[level].empty:
            _campaigns(sql, level, campaign_specs[level], as_of, today)
    _snapshot(sql, specs, month)
    return {"units": written, "as_of": now, "month": month}


def rebuild(connection, unit_code: str | None = None) -> dict:
    """Recompute everything under `unit_code` (all units when None) and the ancestors above it."""
    if unit_code is None:
        return recompute(connection)
    return recompute(connection, subtree=unit_code)


# --- the independent recount and the comparison ------------------------------------------------------------

def _levels_from(unit_code: str | None) -> list[Level]:
    return [lvl for lvl in Level if unit_code is None or CODE_LENGTHS[lvl] >= len(unit_code)]


def recompute_in_memory(connection, unit_code: str | None = None) -> dict[str, dict[str, int]]:
    """Every unit of the subtree (all units when None) with its figures, straight from the source rows: one
    `GROUP BY` prefix per level over children, units and users; stored figures are not read."""
    sql = _Sql(connection)
    today = clock.today_cst()
    spec = _Spec("range", *subtree_bounds(unit_code)) if unit_code else _Spec("all")
    result: dict[str, dict[str, int]] = {}
    for row in sql.run(f"SELECT u.code FROM units u WHERE {sql.filter('u.code', spec, 'a')}"):
        result[row.code] = dict.fromkeys(KEYS, 0)
    for lvl in _levels_from(unit_code):
        n = CODE_LENGTHS[lvl]
        source = _source_sql(sql, sql.filter("c.region_code", spec, "c"), sql.filter("v.region_code", spec, "v"))
        rows = sql.run(f"SELECT substr(s.region_code, 1, {n}) AS code, {_child_aggregates(sql)} "
                       f"FROM ({source}) s GROUP BY substr(s.region_code, 1, {n})", **_date_params(sql, today))
        for row in rows:
            if row.code in result:
                result[row.code].update({k: int(getattr(row, k)) for k in CHILD_KEYS})
        own = _own_unit_values(sql)
        rows = sql.run(f"SELECT substr(u.code, 1, {n}) AS code, "
                       + ", ".join(f"sum({own[k]}) AS {k}" for k in UNIT_KEYS)
                       + f" FROM units u {_own_unit_joins(sql, spec, 'j')} "
                       f"WHERE length(u.code) >= {n} AND {sql.filter('u.code', spec, 'u')} "
                       f"GROUP BY substr(u.code, 1, {n})", **_date_params(sql, today))
        for row in rows:
            if row.code in result:
                result[row.code].update({k: int(getattr(row, k)) for k in UNIT_KEYS})
        for row in sql.run(case_figures.rows_sql(sql, spec, n, "q")):
            if row.code in result:
                result[row.code].update({k: int(getattr(row, k)) for k in CASE_KEYS})
    return result


def campaign_stats_in_memory(connection, unit_code: str | None = None) -> dict[tuple[str, int], dict[str, int]]:
    """Open campaigns' progress per (unit, campaign) of the subtree, straight from the tasks."""
    sql = _Sql(connection)
    spec = _Spec("range", *subtree_bounds(unit_code)) if unit_code else _Spec("all")
    values = _task_values(sql)
    result = {}
    for lvl in _levels_from(unit_code):
        n = CODE_LENGTHS[lvl]
        rows = sql.run(
            f"SELECT substr(t.region_code, 1, {n}) AS code, t.campaign_id, "
            + ", ".join(f"sum({values[f]}) AS {f}" for f in CAMPAIGN_FIELDS)
            + " FROM tasks t JOIN campaigns cp ON cp.province_code = t.province_code AND cp.id = t.campaign_id "
            "AND cp.status = 'open' "
            f"WHERE length(t.region_code) >= {n} AND {sql.filter('t.region_code', spec, 't')} "
            f"GROUP BY substr(t.region_code, 1, {n}), t.campaign_id", **_date_params(sql, clock.today_cst()))
        for row in rows:
            result[(row.code, row.campaign_id)] = {f: int(getattr(row, f)) for f in CAMPAIGN_FIELDS}
    return result


def verify(connection, unit_code: str | None = None) -> list[tuple[str, str, int | None, int]]:
    """Every (unit, indicator, stored, expected) that differs in the subtree; a unit without a stored row has
    stored = None. Campaign figures appear as 'campaign:<id>:<field>'."""
    sql = _Sql(connection)
    expected = recompute_in_memory(connection, unit_code)
    spec = _Spec("range", *subtree_bounds(unit_code)) if unit_code else _Spec("all")
    stored = {row.unit_code: row for row in
              sql.run(f"SELECT * FROM unit_stats WHERE {sql.filter('unit_code', spec, 's')}")}
    problems = []
    for code in sorted(expected):
        row = stored.get(code)
        for key in KEYS:
            have = None if row is None else int(getattr(row, key))
            if have != expected[code][key]:
                problems.append((code, key, have, expected[code][key]))
    expected_c = campaign_stats_in_memory(connection, unit_code)
    stored_c = {(row.unit_code, row.campaign_id): row for row in
                sql.run(f"SELECT * FROM unit_campaign_stats WHERE {sql.filter('unit_code', spec, 'k')}")}
    for code, campaign_id in sorted(set(expected_c) | set(stored_c)):
        want = expected_c.get((code, campaign_id), dict.fromkeys(CAMPAIGN_FIELDS, 0))
        row = stored_c.get((code, campaign_id))
        for field in CAMPAIGN_FIELDS:
            have = None if row is None else int(getattr(row, field))
            if have != want[field]:
                problems.append((code, f"campaign:{campaign_id}:{field}", have, want[field]))
    return problems
