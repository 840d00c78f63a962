"""Roster and training indicators for the roll-up (sync.rollup): a unit's own contribution, as SQL over the
units row `u`, summed up the tree like the other unit counts.

A village counts itself as having a director in post when an appointment to its director post holds today
(appointed on or before today, not yet left), else as vacant, with its days vacant: since the last holder left,
or, never filled, since the unit was loaded (tenant_app.workforce.vacancies, the same rule). A township does the
same with its supervisor. The holder of the post counts as trained this year when they attended a course that
ends in this CST year, and brings the hours credited for those courses. Retired units count nothing.

Parameters: :today, :year_start and :next_year_start (sync.indicators.parameters).

Two forms with the same figures: sub-selects correlated on the unit's code (the single server, by index per unit)
and, when the roll-up asks for them grouped (`sql.grouped`: a Citus coordinator, which refuses correlated
sub-selects over distributed tables), the appointments grouped by unit and post, joined to the units (`joins`).
"""

from __future__ import annotations

from hierarchy.codes import Level

POST_OF_LEVEL = {Level.village: "director", Level.township: "supervisor"}
IN_POST_KEYS = {Level.village: "directors_in_post", Level.township: "supervisors_in_post"}
VACANT_KEYS = {Level.village: "villages_vacant", Level.township: "townships_vacant"}
ROSTER_KEYS = ("directors_in_post", "supervisors_in_post", "villages_vacant", "townships_vacant", "vacancy_days",
               "trained_this_year", "training_hours")


# An appointment `ra` that holds today; an attendance `t` of a course that ends in this CST year.
HOLDS = "ra.appointed_on <= :today AND (ra.left_on IS NULL OR ra.left_on > :today)"
THIS_YEAR = "t.attended AND t.course_ends_on >= :year_start AND t.course_ends_on < :next_year_start"


def _holding(level: Level) -> str:
    """The post's appointments of unit `u` that hold today (alias `ra`)."""
    return f"ra.region_code = u.code AND ra.post = '{POST_OF_LEVEL[level]}' AND {HOLDS}"


def _of_level(level: Level) -> str:
    return f"NOT u.retired AND u.level = {int(level)}"


def _days_since(sql, day: str) -> str:
    if sql.pg:
        return f"(:today - {day})"
    return f"CAST(julianday(:today) - julianday({day}) AS INTEGER)"


def _post_of_unit() -> str:
    return (f"CASE u.level WHEN {int(Level.village)} THEN '{POST_OF_LEVEL[Level.village]}' "
            f"WHEN {int(Level.township)} THEN '{POST_OF_LEVEL[Level.township]}' END")


def joins(sql, appointments_where: str) -> str:
    """The grouped form's joins after `units u`: the posts' appointments of each unit (`rf`: held today, the last
    day a holder left) and their training this year (`rt`); `appointments_where` narrows `ra` to the units."""
    posts = ", ".join(f"'{post}'" for post in POST_OF_LEVEL.values())
    return f"""
    LEFT JOIN (SELECT ra.region_code, ra.post, sum({sql.flag(HOLDS)}) AS holding,
                      max(CASE WHEN ra.left_on <= :today THEN ra.left_on END) AS last_left
               FROM roster_appointments ra WHERE ra.post IN ({posts}) AND {appointments_where}
               GROUP BY ra.province_code, ra.region_code, ra.post) rf
      ON rf.region_code = u.code AND rf.post = {_post_of_unit()}
    LEFT JOIN (SELECT ra.region_code, ra.post, count(*) AS trained, sum(t.hours_credited) AS hours
               FROM roster_appointments ra JOIN training_attendance t
                 ON t.province_code = ra.province_code AND t.person_id = ra.person_id
               WHERE ra.post IN ({posts}) AND {HOLDS} AND {THIS_YEAR} AND {appointments_where}
               GROUP BY ra.province_code, ra.region_code, ra.post) rt
      ON rt.region_code = u.code AND rt.post = {_post_of_unit()}"""


def _grouped_values(sql) -> dict[str, str]:
    unit = f"NOT u.retired AND u.level IN ({int(Level.village)}, {int(Level.township)})"
    holding = "coalesce(rf.holding, 0) > 0"
    days = _days_since(sql, f"coalesce(rf.last_left, {sql.cst_date('u.created_at')})")
    values = {}
    for level in (Level.village, Level.township):
        values[IN_POST_KEYS[level]] = sql.flag(f"{_of_level(level)} AND {holding}")
        values[VACANT_KEYS[level]] = sql.flag(f"{_of_level(level)} AND NOT {holding}")
    values["vacancy_days"] = f"CASE WHEN {unit} AND NOT {holding} AND {days} > 0 THEN {days} ELSE 0 END"
    values["trained_this_year"] = sql.flag(f"{unit} AND coalesce(rt.trained, 0) > 0")
    values["training_hours"] = f"CASE WHEN {unit} THEN coalesce(rt.hours, 0) ELSE 0 END"
    return values


def own_values(sql) -> dict[str, str]:
    """{indicator: SQL expression over `u`} for the roster and training indicators (over `rf` and `rt` too in the
    grouped form)."""
    if sql.grouped:
        return _grouped_values(sql)
    values: dict[str, list[str]] = {key: [] for key in ROSTER_KEYS}
    for level in (Level.village, Level.township):
        unit = _of_level(level)
        holding = f"EXISTS (SELECT 1 FROM roster_appointments ra WHERE {_holding(level)})"
        values[IN_POST_KEYS[level]].append(sql.flag(f"{unit} AND {holding}"))
        values[VACANT_KEYS[level]].append(sql.flag(f"{unit} AND NOT {holding}"))
        last_left = ("(SELECT max(ra.left_on) FROM roster_appointments ra WHERE ra.region_code = u.code "
                     f"AND ra.post = '{POST_OF_LEVEL[level]}' AND ra.left_on <= :today)")
        since = f"coalesce({last_left}, {sql.cst_date('u.created_at')})"
        days = _days_since(sql, since)
        values["vacancy_days"].append(f"CASE WHEN {unit} AND NOT {holding} AND {days} > 0 THEN {days} ELSE 0 END")
        trained = (f"EXISTS (SELECT 1 FROM roster_appointments ra JOIN training_attendance t "
                   f"ON t.province_code = ra.province_code AND t.person_id = ra.person_id "
                   f"WHERE {_holding(level)} AND {THIS_YEAR})")
        values["trained_this_year"].append(sql.flag(f"{unit} AND {trained}"))
        hours = (f"(SELECT coalesce(sum(t.hours_credited), 0) FROM roster_appointments ra JOIN training_attendance t "
                 f"ON t.province_code = ra.province_code AND t.person_id = ra.person_id "
                 f"WHERE {_holding(level)} AND {THIS_YEAR})")
        values["training_hours"].append(f"CASE WHEN {unit} THEN {hours} ELSE 0 END")
    return {key: " + ".join(parts) if len(parts) > 1 else parts[0] for key, parts in values.items()}
