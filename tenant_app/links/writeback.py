"""What a link tells about a record, written to the record through its history, set-based (PostgreSQL).

For the linked and confirmed matches of a roll version (at the end of its match run) or of one match (confirmed
in the grey band), one statement per roll kind updates the records and inserts their history entries (action
`link`, by no user: the department's roll) from the rows it changed (`UPDATE … RETURNING` in a CTE):

- school roll, status enrolled: the school's name; the schooling level decoded from the grade when the record
  has none (小学/…年级 primary, 初中/七-九年级 junior, 高中 senior, 职高/中职 vocational);
- household register: the record is registered (`hukou_registered`);
- assistance roster: the benefit joins the record's assistance (特困 tekun, 低保 dibao, 临时救助 temporary; the
  de-facto unsupported children's allowance as "other").

Dropped-out, suspended and transferred school rows change nothing here: those are the worklists' to verify. The
changed villages get an outbox row each. SQLite (the quick start) has no write-back.
"""

from __future__ import annotations

from sqlalchemy import select, text

from sync.outbox import record_bulk
from tenant_app import clock

STATUSES = "m.status IN ('linked', 'confirmed')"
GRADE = """CASE WHEN g LIKE '%职%' THEN 'vocational' WHEN g LIKE '%高%' THEN 'senior'
  WHEN g LIKE '%初%' OR g LIKE '%七%' OR g LIKE '%八%' OR g LIKE '%九%' THEN 'junior'
  WHEN g LIKE '%年级%' OR g LIKE '%小%' THEN 'primary' END"""
# The history rows are read from the UPDATE's RETURNING alone, which carries the changed record and the values the
# change came from: joining the updated rows back to their source would be a join of two CTE scans, which the
# planner, seeing the matches just written as a handful of rows, runs as a nested loop (hours at a million rows).
HISTORY = """
INSERT INTO child_changes (child_id, region_code, province_code, version, action, changed_by_id, changed_at, changes,
                           snapshot)
SELECT (upd.rec).id, (upd.rec).region_code, (upd.rec).province_code, (upd.rec).version, 'link', NULL,
       :now, {changes}, row_to_json(upd.rec)
FROM upd
RETURNING region_code"""
STAMP = "version = c.version + 1, updated_at = :now, updated_by_id = NULL"
# A roll's matches, rows and records lie in its department's province (`:province`), named in every join: on a
# Citus coordinator each statement then joins its tables on their distribution column.
ROW_OF_MATCH = "r.province_code = m.province_code AND r.id = m.row_id"
CHILD_OF_MATCH = "c.province_code = m.province_code AND c.id = m.child_id"

SCHOOL = f"""
WITH src AS (
  SELECT DISTINCT ON (c.id) c.id, c.school_name AS old_school, c.schooling AS old_schooling,
         left(coalesce(r.details ->> 'school', ''), 100) AS school,
         (SELECT {GRADE} FROM (SELECT coalesce(r.details ->> 'grade', '') AS g) AS gg) AS level
  FROM roll_matches m JOIN roll_rows r ON {ROW_OF_MATCH} JOIN children c ON {CHILD_OF_MATCH}
  WHERE {{where}} AND {STATUSES} AND c.status = 'active' AND r.details ->> 'status' = 'enrolled'
  ORDER BY c.id, m.id DESC),
chg AS (
  SELECT src.*, CASE WHEN school <> '' THEN school ELSE old_school END AS new_school,
         coalesce(old_schooling, level) AS new_schooling FROM src),
upd AS (
  UPDATE children c SET school_name = chg.new_school, schooling = chg.new_schooling, {STAMP}
  FROM chg WHERE c.province_code = :province AND c.id = chg.id
    AND (chg.new_school <> chg.old_school OR chg.new_schooling IS DISTINCT FROM chg.old_schooling)
  RETURNING c AS rec, chg.old_school, chg.new_school, chg.old_schooling, chg.new_schooling)""" + HISTORY.format(
    changes="""json_strip_nulls(json_build_object(
    'school_name', CASE WHEN upd.new_school <> upd.old_school THEN json_build_array(upd.old_school, upd.new_school) END,
    'schooling', CASE WHEN upd.new_schooling IS DISTINCT FROM upd.old_schooling
                      THEN json_build_array(upd.old_schooling, upd.new_schooling) END))""")

HOUSEHOLD = f"""
WITH upd AS (
  UPDATE children c SET hukou_registered = true, {STAMP}
  WHERE c.province_code = :province
    AND c.id IN (SELECT m.child_id FROM roll_matches m WHERE {{where}} AND {STATUSES})
    AND c.status = 'active' AND NOT c.hukou_registered
  RETURNING c AS rec)""" + HISTORY.format(
    changes="json_build_object('hukou_registered', json_build_array(false, true))")

ASSISTANCE = f"""
WITH src AS (
  SELECT c.id, c.assistance AS old,
         (SELECT json_agg(v ORDER BY v) FROM (
            SELECT jsonb_array_elements_text(coalesce(c.assistance, '[]')::jsonb) AS v
            UNION SELECT unnest(array_agg(CASE r.details ->> 'benefit' WHEN 'dibao' THEN 'dibao'
                                           WHEN 'tekun' THEN 'tekun' WHEN 'temporary' THEN 'temporary'
                                           ELSE 'other' END))) AS vs) AS new
  FROM roll_matches m JOIN roll_rows r ON {ROW_OF_MATCH} JOIN children c ON {CHILD_OF_MATCH}
  WHERE {{where}} AND {STATUSES} AND c.status = 'active'
  GROUP BY c.id),
upd AS (
  UPDATE children c SET assistance = src.new, {STAMP}
  FROM src WHERE c.province_code = :province AND c.id = src.id
    AND NOT (coalesce(src.old, '[]')::jsonb @> src.new::jsonb)
  RETURNING c AS rec, src.old)""" + HISTORY.format(
    changes="json_build_object('assistance', json_build_array(upd.old, (upd.rec).assistance))")

BY_KIND = {"school": SCHOOL, "household": HOUSEHOLD, "assistance": ASSISTANCE}


def write_back(session, roll_kind: str, *, upload_id: int | None = None, match_id: int | None = None) -> int:
    """Write what the matches of a version (or one match) tell to their records; the records changed."""
    statement = BY_KIND.get(roll_kind)
    if statement is None or session.get_bind().dialect.name != "postgresql":
        return 0
    where, params = ("m.upload_id = :key", {"key": upload_id}) if match_id is None else ("m.id = :key",
                                                                                         {"key": match_id})
    from tenant_app.links.models import RollMatch, RollUpload

    if match_id is None:
        province = session.scalar(select(RollUpload.province_code).where(RollUpload.id == upload_id))
    else:
        province = session.scalar(select(RollMatch.province_code).where(RollMatch.id == match_id))
    where = f"m.province_code = :province AND {where}"
    params["province"] = province
    codes = session.execute(text(statement.format(where=where)), {**params, "now": clock.now()}).scalars().all()
    if codes:
        record_bulk(session, codes, "children")
    return len(codes)


def after_decision(match_id: int, unit_code: str) -> dict:
    """The job after a grey match is confirmed (the province's scope: the roll may be a city's or the
    province's): the record written, then the county's worklists recomputed."""
    from tenant_app.db import db
    from tenant_app.links import worklists
    from tenant_app.links.models import RollMatch, RollUpload

    with db.session_scope() as session:
        match = session.get(RollMatch, match_id)
        changed = 0
        if match is not None and match.status == "confirmed":
            kind = session.get(RollUpload, match.upload_id).roll_kind
            changed = write_back(session, kind, match_id=match.id)
        lists = worklists.compute(session, unit_code)
    return {"changed": changed, "lists": lists}
