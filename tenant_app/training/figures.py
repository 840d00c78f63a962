"""Training figures of any unit: of the directors and supervisors in post today in its subtree, how many
attended at least one course ending this CST year (the share trained), and the hours credited for those
courses per person in post. One statement over the subtree, whatever its size.

A person is in post when an appointment holds today (appointed on or before today, not yet left); the unit of
the appointment places them in the subtree. The end date is read from the attendance row, so a course
organised above the unit counts though the unit cannot read the course itself.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from hierarchy.codes import subtree_bounds
from tenant_app import clock
from tenant_app.workforce import access

POSTS = ("director", "supervisor")

SQL = """
SELECT ra.post,
       count(*) AS in_post,
       count(*) FILTER (WHERE h.hours IS NOT NULL) AS trained,
       coalesce(sum(h.hours), 0) AS hours
FROM roster_appointments ra
LEFT JOIN (SELECT t.person_id, sum(t.hours_credited) AS hours FROM training_attendance t
           WHERE t.attended AND t.course_ends_on >= :year_start AND t.course_ends_on < :next_year_start
           GROUP BY t.person_id) h ON h.person_id = ra.person_id
WHERE ra.region_code >= :lo AND ra.region_code < :hi AND ra.appointed_on <= :today
  AND (ra.left_on IS NULL OR ra.left_on > :today)
GROUP BY ra.post
"""


def _portable(sql: str, dialect: str) -> str:
    if dialect == "postgresql":
        return sql
    return sql.replace("count(*) FILTER (WHERE h.hours IS NOT NULL)",
                       "coalesce(sum(CASE WHEN h.hours IS NOT NULL THEN 1 ELSE 0 END), 0)")


def _ratio(part: int, whole: int, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def compute(connection, code: str, today: date | None = None) -> dict:
    """{"unit_code", "year", per post and "total": {"in_post", "trained", "share_trained", "hours",
    "hours_per_person"}} for the subtree of `code` (the connection's scope decides what it may read)."""
    today = today or clock.today_cst()
    lo, hi = subtree_bounds(code)
    params = {"lo": lo, "hi": hi, "today": today, "year_start": date(today.year, 1, 1),
              "next_year_start": date(today.year + 1, 1, 1)}
    if connection.dialect.name != "postgresql":
        params = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}
    rows = connection.execute(text(_portable(SQL, connection.dialect.name)), params).all()
    found = {r.post: (int(r.in_post), int(r.trained), int(r.hours)) for r in rows}
    result: dict = {"unit_code": code, "year": today.year}
    totals = [0, 0, 0]
    for post in POSTS:
        in_post, trained, hours = found.get(post, (0, 0, 0))
        totals = [totals[0] + in_post, totals[1] + trained, totals[2] + hours]
        result[post] = _entry(in_post, trained, hours)
    result["total"] = _entry(*totals)
    return result


def _entry(in_post: int, trained: int, hours: int) -> dict:
    return {"in_post": in_post, "trained": trained, "share_trained": _ratio(trained, in_post), "hours": hours,
            "hours_per_person": _ratio(hours, in_post, 2)}


def for_unit(session, actor, unit: str | None) -> dict:
    """The figures of a unit of the caller's subtree (default: the caller's own); 404 outside it."""
    code = (unit or actor.region_code).strip()
    access.get_unit(session, actor, code)
    return compute(session.connection(), code)
