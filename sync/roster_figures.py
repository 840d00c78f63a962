"""Roster and training indicators for the roll-up (sync.rollup): a unit's own contribution, as SQL over the
units row `u`, summed up the tree like the other unit counts.

A village counts itself as having a director in post when an appointment to its director post holds today
(appointed on or before today, not yet left), else as vacant, with its days vacant: since the last holder left,
or, never filled, since the unit was loaded (tenant_app.workforce.vacancies, the same rule). A township does the
same with its supervisor. The holder of the post counts as trained this year when they attended a course that
ends in this CST year, and brings the hours credited for those courses. Retired units count nothing.

Parameters: :today, :year_start and :next_year_start (sync.indicators.parameters).
"""

from __future__ import annotations

from hierarchy.codes import Level

POST_OF_LEVEL = {Level.village: "director", Level.township: "supervisor"}
IN_POST_KEYS = {Level.village: "directors_in_post", Level.township: "supervisors_in_post"}
VACANT_KEYS = {Level.village: "villages_vacant", Level.township: "townships_vacant"}
ROSTER_KEYS = ("directors_in_post", "supervisors_in_post", "villages_vacant", "townships_vacant", "vacancy_days",
               "trained_this_year", "training_hours")


def _holding(level: Level) -> str:
    """The post's appointments of unit `u` that hold today (alias `ra`)."""
    return (f"ra.region_code = u.code AND ra.post = '{POST_OF_LEVEL[level]}' AND ra.appointed_on <= :today "
            "AND (ra.left_on IS NULL OR ra.left_on > :today)")


def _of_level(level: Level) -> str:
    return f"NOT u.retired AND u.level = {int(level)}"


def _days_since(sql, day: str) -> str:
    if sql.pg:
        return f"(:today - {day})"
    return f"CAST(julianday(:today) - julianday({day}) AS INTEGER)"


def own_values(sql) -> dict[str, str]:
    """{indicator: SQL expression over `u`} for the roster and training indicators."""
    values: dict[str, list[str]] = {key: [] for key in ROSTER_KEYS}
    this_year = ("t.attended AND t.course_ends_on >= :year_start AND t.course_ends_on < :next_year_start")
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
                   f"WHERE {_holding(level)} AND {this_year})")
        values["trained_this_year"].append(sql.flag(f"{unit} AND {trained}"))
        hours = (f"(SELECT coalesce(sum(t.hours_credited), 0) FROM roster_appointments ra JOIN training_attendance t "
                 f"ON t.province_code = ra.province_code AND t.person_id = ra.person_id "
                 f"WHERE {_holding(level)} AND {this_year})")
        values["training_hours"].append(f"CASE WHEN {unit} THEN {hours} ELSE 0 END")
    return {key: " + ".join(parts) if len(parts) > 1 else parts[0] for key, parts in values.items()}
