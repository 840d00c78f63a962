"""Outcome indicators of the worklists (tenant_app.links.worklists) for the roll-up (sync.rollup): a village's
own contribution, as SQL over the units row `u`, summed up the tree like the other unit counts.

Counted from the answered worklist items of the village answered this CST year (`answered_on`, a CST date):
a suspected dropout found in school ("corrected": the record now shows a school level), a child of the household
register put on record ("added"), a household registration done ("corrected" on the list of records without
one) and an assistance enrolment ("corrected" on the list of children not on the roster they qualify for).
Recomputed from the items every time, never incremented.

Parameters: :year_start and :next_year_start (sync.indicators.parameters).

As sync.roster_figures: a sub-select per village, or (`sql.grouped`) the items grouped by village and joined.
"""

from __future__ import annotations

from hierarchy.codes import Level

# indicator: (list, answer)
OUTCOMES = {
    "links_back_to_school": ("dropout", "corrected"),
    "links_put_on_record": ("unregistered", "added"),
    "links_household_registered": ("no_hukou", "corrected"),
    "links_assistance_enrolled": ("assistance", "corrected"),
}
LINK_KEYS = tuple(OUTCOMES)


def condition(list_kind: str, answer: str, alias: str = "w") -> str:
    return (f"{alias}.list_kind = '{list_kind}' AND {alias}.status = 'answered' AND {alias}.answer = '{answer}' "
            f"AND {alias}.answered_on >= :year_start AND {alias}.answered_on < :next_year_start")


def joins(sql, items_where: str) -> str:
    """The grouped form's join after `units u`: each village's outcomes (`lf`); `items_where` narrows `w`."""
    counts = ", ".join(f"sum({sql.flag(condition(*pair))}) AS {key}" for key, pair in OUTCOMES.items())
    return f"""
    LEFT JOIN (SELECT w.region_code, {counts} FROM worklist_items w WHERE {items_where}
               GROUP BY w.province_code, w.region_code) lf ON lf.region_code = u.code"""


def own_values(sql) -> dict[str, str]:
    """{indicator: SQL expression over `u`}: a village counts its own items; other units count nothing."""
    village = f"NOT u.retired AND u.level = {int(Level.village)}"
    if sql.grouped:
        return {key: f"CASE WHEN {village} THEN coalesce(lf.{key}, 0) ELSE 0 END" for key in OUTCOMES}
    return {key: (f"CASE WHEN {village} THEN (SELECT count(*) FROM worklist_items w WHERE w.region_code = u.code "
                  f"AND {condition(*pair)}) ELSE 0 END") for key, pair in OUTCOMES.items()}
