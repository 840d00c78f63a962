"""Worklists (核查清单): the discrepancies between the departments' current rolls and the child records, one list
per kind and village, computed set-based in SQL (one INSERT … SELECT per list over a subtree's range of codes).

1. `dropout`: active records aged 6-15 (CST) in an area a current school roll covers, not enrolled on any of its
   rows they are matched to (linked or confirmed): not on a roll, or dropped out, suspended or transferred.
2. `unregistered`: household-register rows of a village, under 16, whose parents both live away, or one away
   and the other on the current disability register, with no record of that ID number in the province.
3. `no_hukou`: active records marked unregistered, or in an area a current household register covers and on
   none of its rows.
4. `assistance`: active children in difficulty or de-facto unsupported, in an area a current assistance roster
   covers, matched to no row of the benefit they qualify for (links.enums.QUALIFYING).
5. `mismatch`: active records matched to a current household-register row whose name, birth date or sex differ.

A current roll covers an area when its department's unit is the area's ancestor or lies inside it. Open items
are recomputed (deleted and listed again); an item in a verification task stays as it is until answered, and an
answered one is kept for the outcome figures. The job runs in the province's scope (the rolls of a city's or
the province's departments belong to those units) with every statement bounded to the unit's subtree. It runs
after a match run, a grey-band confirmation, the county's "recompute", and for its village alone after a record
is edited by hand (tenant_app.links.refresh).
"""

from __future__ import annotations

from sqlalchemy import and_, func, select, text

from hierarchy.codes import CODE_LENGTHS, Level, level_of
from hierarchy.models import Unit
from sync import queues
from sync.indicators import years_before
from sync.jobs import enqueue
from tenant_app import clock
from tenant_app.children.idcard import mask_id
from tenant_app.children.models import Child
from tenant_app.errors import Forbidden, NotFound
from tenant_app.i18n import _l
from tenant_app.links import enums as E
from tenant_app.links.models import RollUpload, WorklistItem
from tenant_app.stats.services import visible_unit

PER_PAGE = 50
READERS = ("admin", "staff", "viewer")
LINKED = "m.status IN ('linked', 'confirmed')"
# Every join and look-up names the province too (`{province}`: the outer row's own province column): on a Citus
# coordinator a correlation or a join between distributed tables must hold their distribution column.
NOT_IN_TASK = ("NOT EXISTS (SELECT 1 FROM worklist_items w WHERE w.province_code = {province} "
               "AND w.region_code = {code} AND w.list_kind = '{kind}' AND w.subject_key = {key} "
               "AND w.status = 'in_task')")
COLUMNS = ("region_code, list_kind, subject_key, child_id, row_id, name, sex, birth_date, id_number, reason, status, "
           "answer_note, computed_at, version, province_code")
# Any conflict is the open item's unique key (region_code, list_kind, subject_key WHERE status <> 'answered'): no
# target named, so that the clause also fits a Citus coordinator's key, which holds province_code too.
CONFLICT = "ON CONFLICT DO NOTHING"


def require_reader(actor) -> None:
    if actor.role not in READERS:
        raise Forbidden(_l("核查清单仅供民政工作人员查看"))


def can_refresh(actor) -> bool:
    return actor.role in ("staff", "admin") and level_of(actor.region_code) <= Level.county


# --- computing ---------------------------------------------------------------------------------------------

def _j(pg: bool, column: str, field: str) -> str:
    return f"({column} ->> '{field}')" if pg else f"CAST(json_extract({column}, '$.{field}') AS TEXT)"


def _ids(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def _covered(column: str, units: list[str], lo: str) -> str:
    """`column` (a village code) lies in an area one of the departments' units covers."""
    if any(lo.startswith(u) for u in units):
        return "1 = 1"
    parts = [f"({column} >= '{u}' AND {column} < '{u}:')" for u in units if u.isdigit()]
    return "(" + " OR ".join(parts) + ")" if parts else "1 = 0"


def current_rolls(session, unit_code: str) -> dict[str, list[tuple[int, str]]]:
    """{roll kind: [(upload id, department unit)]} of the current versions that concern the unit's subtree."""
    found: dict[str, list[tuple[int, str]]] = {k: [] for k in E.ROLL_KINDS}
    rows = session.execute(select(RollUpload.id, RollUpload.dept_unit, RollUpload.roll_kind).where(
        RollUpload.is_current.is_(True))).all()
    for row in rows:
        if unit_code.startswith(row.dept_unit) or row.dept_unit.startswith(unit_code):
            found[row.roll_kind].append((row.id, row.dept_unit))
    return found


def _statements(pg: bool, rolls: dict, lo: str) -> dict[str, str]:
    school, household = rolls["school"], rolls["household"]
    assistance, disability = rolls["assistance"], rolls["disability"]
    in_range = "{col} >= :lo AND {col} < :hi"
    c_range = in_range.format(col="c.region_code")
    m_range = in_range.format(col="m.region_code")
    values = "'open', '', :now, 1"
    out = {}
    status = _j(pg, "r.details", "status")
    out["dropout"] = f"""
    INSERT INTO worklist_items ({COLUMNS})
    SELECT c.region_code, 'dropout', 'c' || c.id, c.id, NULL, c.name, c.sex, c.birth_date, c.id_number,
           CASE WHEN s.child_id IS NULL THEN 'not_on_roll' ELSE s.worst END,
           {values}, c.province_code
    FROM children c
    LEFT JOIN (SELECT m.province_code, m.child_id, max(CASE WHEN {status} = 'enrolled' THEN 1 ELSE 0 END) AS enrolled,
                      min({status}) AS worst
               FROM roll_matches m JOIN roll_rows r ON r.province_code = m.province_code AND r.id = m.row_id
               WHERE {m_range} AND {LINKED} AND m.upload_id IN ({_ids(u for u, _ in school)})
               GROUP BY m.province_code, m.child_id) s ON s.province_code = c.province_code AND s.child_id = c.id
    WHERE {c_range} AND c.status = 'active' AND c.birth_date <= :born_6 AND c.birth_date > :born_16
      AND {_covered('c.region_code', [d for _, d in school], lo)} AND coalesce(s.enrolled, 0) = 0
      AND {NOT_IN_TASK.format(province='c.province_code', code='c.region_code', kind='dropout', key="'c' || c.id")}
    {CONFLICT}"""
    address = _j(pg, "r.details", "address_code")
    away = {p: f"{_j(pg, 'r.details', p + '_away')} IN ('true', '1')" for p in ("father", "mother")}
    disabled_ids = f"SELECT d.id_number FROM roll_rows d WHERE d.upload_id IN ({_ids(u for u, _ in disability)})"
    unable = {p: (f"{_j(pg, 'r.details', p + '_id_number')} IN ({disabled_ids})" if disability else "1 = 0")
              for p in ("father", "mother")}
    out["unregistered"] = f"""
    INSERT INTO worklist_items ({COLUMNS})
    SELECT x.addr, 'unregistered', 'r' || x.id_number, NULL, x.id, x.name, x.sex, x.birth_date, x.id_number,
           CASE WHEN x.fa = 1 AND x.ma = 1 THEN 'both_away' ELSE 'one_away_other_unable' END,
           {values}, x.province_code
    FROM (SELECT r.province_code, r.id, r.id_number, r.name, r.sex, r.birth_date, {address} AS addr,
                 CASE WHEN {away['father']} THEN 1 ELSE 0 END AS fa,
                 CASE WHEN {away['mother']} THEN 1 ELSE 0 END AS ma,
                 CASE WHEN {unable['father']} THEN 1 ELSE 0 END AS fu,
                 CASE WHEN {unable['mother']} THEN 1 ELSE 0 END AS mu,
                 row_number() OVER (PARTITION BY r.id_number ORDER BY r.id DESC) AS rn
          FROM roll_rows r
          WHERE r.upload_id IN ({_ids(u for u, _ in household)}) AND {address} >= :lo AND {address} < :hi
            AND r.id_number IS NOT NULL AND r.birth_date > :born_16 AND r.province_code = substr({address}, 1, 2)) x
    WHERE x.rn = 1 AND ((x.fa = 1 AND x.ma = 1) OR (x.fa = 1 AND x.mu = 1) OR (x.ma = 1 AND x.fu = 1))
      AND NOT EXISTS (SELECT 1 FROM children ch WHERE ch.province_code = x.province_code
                      AND ch.id_number = x.id_number)
      AND {NOT_IN_TASK.format(province='x.province_code', code='x.addr', kind='unregistered',
                              key="'r' || x.id_number")}
    {CONFLICT}"""
    out["no_hukou"] = f"""
    INSERT INTO worklist_items ({COLUMNS})
    SELECT c.region_code, 'no_hukou', 'c' || c.id, c.id, NULL, c.name, c.sex, c.birth_date, c.id_number,
           CASE WHEN NOT c.hukou_registered THEN 'recorded_unregistered' ELSE 'not_on_register' END,
           {values}, c.province_code
    FROM children c
    LEFT JOIN (SELECT DISTINCT m.province_code, m.child_id FROM roll_matches m
               WHERE {m_range} AND {LINKED} AND m.upload_id IN ({_ids(u for u, _ in household)})) h
      ON h.province_code = c.province_code AND h.child_id = c.id
    WHERE {c_range} AND c.status = 'active'
      AND (NOT c.hukou_registered OR ({_covered('c.region_code', [d for _, d in household], lo)}
                                      AND h.child_id IS NULL))
      AND {NOT_IN_TASK.format(province='c.province_code', code='c.region_code', kind='no_hukou', key="'c' || c.id")}
    {CONFLICT}"""
    benefit = _j(pg, "r.details", "benefit")
    sums = ", ".join(f"sum(CASE WHEN {benefit} = '{b}' THEN 1 ELSE 0 END) AS b_{b}" for b in E.BENEFITS)
    satisfied = " ".join(f"WHEN '{expected}' THEN {' + '.join(f'b.b_{b}' for b in accepted)}"
                         for expected, accepted in E.QUALIFYING.items())
    out["assistance"] = f"""
    INSERT INTO worklist_items ({COLUMNS})
    SELECT c.region_code, 'assistance', 'c' || c.id, c.id, NULL, c.name, c.sex, c.birth_date, c.id_number,
           c.expected,
           {values}, c.province_code
    FROM (SELECT c.*, CASE WHEN c.is_de_facto_unsupported THEN 'de_facto_unsupported'
                           WHEN c.difficulty_subcategory = 'orphan' THEN 'tekun'
                           WHEN c.difficulty_subcategory IN ('poor_family', 'illness_disability') THEN 'dibao'
                           ELSE 'any' END AS expected
          FROM children c WHERE {c_range} AND c.status = 'active'
            AND (c.is_in_difficulty OR c.is_de_facto_unsupported)
            AND {_covered('c.region_code', [d for _, d in assistance], lo)}) c
    LEFT JOIN (SELECT m.province_code, m.child_id, {sums}
               FROM roll_matches m JOIN roll_rows r ON r.province_code = m.province_code AND r.id = m.row_id
               WHERE {m_range} AND {LINKED} AND m.upload_id IN ({_ids(u for u, _ in assistance)})
               GROUP BY m.province_code, m.child_id) b ON b.province_code = c.province_code AND b.child_id = c.id
    WHERE coalesce(CASE c.expected {satisfied} END, 0) = 0
      AND {NOT_IN_TASK.format(province='c.province_code', code='c.region_code', kind='assistance',
                              key="'c' || c.id")}
    {CONFLICT}"""
    differs = ("rtrim(CASE WHEN c.name <> r.name THEN 'name ' ELSE '' END "
               "|| CASE WHEN c.birth_date <> r.birth_date THEN 'birth_date ' ELSE '' END "
               "|| CASE WHEN c.sex <> r.sex THEN 'sex' ELSE '' END)")
    out["mismatch"] = f"""
    INSERT INTO worklist_items ({COLUMNS})
    SELECT x.region_code, 'mismatch', 'c' || x.child_id, x.child_id, x.row_id, x.name, x.sex, x.birth_date,
           x.id_number, x.reason,
           {values}, x.province_code
    FROM (SELECT c.province_code, c.region_code, c.id AS child_id, r.id AS row_id, r.name, r.sex, r.birth_date,
                 r.id_number,
                 {differs} AS reason, row_number() OVER (PARTITION BY c.id ORDER BY m.id DESC) AS rn
          FROM roll_matches m JOIN roll_rows r ON r.province_code = m.province_code AND r.id = m.row_id
          JOIN children c ON c.province_code = m.province_code AND c.id = m.child_id
          WHERE {m_range} AND {LINKED} AND m.upload_id IN ({_ids(u for u, _ in household)})
            AND c.status = 'active'
            AND (c.name <> r.name OR c.birth_date <> r.birth_date OR c.sex <> r.sex)) x
    WHERE x.rn = 1 AND {NOT_IN_TASK.format(province='x.province_code', code='x.region_code', kind='mismatch',
                                           key="'c' || x.child_id")}
    {CONFLICT}"""
    return out


def lock(session, unit_code: str) -> None:
    """Recomputing and putting items into tasks take turns within a province (both are rare; the lock ends
    with the transaction), so that a campaign never moves items a recompute is replacing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"worklists:{unit_code[:2]}"})


def compute(session, unit_code: str) -> dict[str, int]:
    """Recompute the open items of the unit's subtree: {list kind: items listed}. Flushes nothing else."""
    lock(session, unit_code)
    pg = session.get_bind().dialect.name == "postgresql"
    lo, hi = unit_code, unit_code + ":"
    today = clock.today_cst()
    params = {"lo": lo, "hi": hi, "now": clock.now(), "born_6": years_before(today, 6),
              "born_16": years_before(today, 16)}
    if not pg:
        params = {k: (v.isoformat() if hasattr(v, "isoformat") and k != "now" else v) for k, v in params.items()}
        params["now"] = clock.now().astimezone(clock.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    session.execute(text("DELETE FROM worklist_items WHERE region_code >= :lo AND region_code < :hi "
                         "AND status = 'open'"), {"lo": lo, "hi": hi})
    rolls = current_rolls(session, unit_code)
    counts = {}
    for kind, statement in _statements(pg, rolls, lo).items():
        needs = {"dropout": "school", "unregistered": "household", "mismatch": "household",
                 "assistance": "assistance"}.get(kind)
        if needs and not rolls[needs]:
            counts[kind] = 0
            continue
        counts[kind] = session.execute(text(statement), params).rowcount
    return counts


def refresh_job(unit_code: str) -> dict:
    """The job (queue `links`, the province's scope): the unit's subtree recomputed in one transaction."""
    from tenant_app.db import db

    with db.session_scope() as session:
        return compute(session, unit_code)


def enqueue_refresh(unit_code: str, redis_url: str | None = None):
    """After commit: recompute a unit's worklists (inline without Redis)."""
    from sync.outbox import configured_redis_url

    url = redis_url if redis_url is not None else configured_redis_url()
    return enqueue("tenant_app.links.worklists.refresh_job", unit_code,
                   job_id=f"worklists-{unit_code}-{clock.now().timestamp():.0f}", scope_code=unit_code[:2],
                   queue=queues.LINKS, redis_url=url)


def request_refresh(session, actor, unit_code: str) -> None:
    require_reader(actor)
    unit = visible_unit(session, actor, unit_code)
    if not can_refresh(actor) or unit.level > Level.county:
        raise Forbidden(_l("只有县级及以上工作人员可以重新生成核查清单"))


# --- reading -----------------------------------------------------------------------------------------------

def _pending():
    return WorklistItem.status.in_(("open", "in_task"))


def overview(session, actor, unit_code: str, *, list_kind: str | None = None, page: int = 1,
             per_page: int = PER_PAGE) -> dict:
    """A unit above the villages: per village (a county or township) or per child unit (a city or province),
    the items still to verify on each list; units without any are left out."""
    require_reader(actor)
    unit = visible_unit(session, actor, unit_code)
    n = CODE_LENGTHS[Level.village] if unit.level >= Level.county else CODE_LENGTHS[Level(unit.level + 1)]
    code = func.substr(WorklistItem.region_code, 1, n)
    query = (select(code.label("code"), WorklistItem.list_kind, func.count().label("n"))
             .where(WorklistItem.region_code >= unit.code, WorklistItem.region_code < unit.code + ":", _pending()))
    if list_kind:
        query = query.where(WorklistItem.list_kind == list_kind)
    by_unit: dict[str, dict[str, int]] = {}
    for row in session.execute(query.group_by(code, WorklistItem.list_kind)):
        by_unit.setdefault(row.code, dict.fromkeys(E.LIST_KINDS, 0))[row.list_kind] = row.n
    codes = sorted(by_unit)
    totals = {k: sum(v[k] for v in by_unit.values()) for k in E.LIST_KINDS}
    shown = codes[(page - 1) * per_page: page * per_page]
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(shown))).all()) if shown else {}
    rows = [{"code": c, "name": names.get(c, ""), "counts": by_unit[c], "total": sum(by_unit[c].values())}
            for c in shown]
    return {"code": unit.code, "name": unit.name, "level": unit.level, "totals": totals, "rows": rows,
            "total": len(codes), "page": page, "per_page": per_page}


ITEM_COLUMNS = (WorklistItem.id, WorklistItem.region_code, WorklistItem.list_kind, WorklistItem.child_id,
                WorklistItem.row_id, WorklistItem.name, WorklistItem.sex, WorklistItem.birth_date,
                WorklistItem.id_number, WorklistItem.reason, WorklistItem.status, WorklistItem.campaign_id,
                WorklistItem.task_id, WorklistItem.answer, WorklistItem.answer_note, WorklistItem.answered_at,
                WorklistItem.result_child_id, WorklistItem.computed_at, WorklistItem.version)


def item_dict(row) -> dict:
    data = {c.key: getattr(row, c.key) for c in ITEM_COLUMNS}
    data["village_code"] = data.pop("region_code")
    data["id_number"] = mask_id(data["id_number"])
    data["reasons"] = [r for r in (data["reason"] or "").split() if r]
    for key in ("record_name", "record_sex", "record_birth_date"):
        data[key] = getattr(row, key, None)
    return data


def item_query():
    return (select(*ITEM_COLUMNS, Child.name.label("record_name"), Child.sex.label("record_sex"),
                   Child.birth_date.label("record_birth_date"))
            .outerjoin(Child, and_(Child.province_code == WorklistItem.province_code,
                                   Child.id == WorklistItem.child_id)))


def village_lists(session, actor, village_code: str, *, list_kind: str | None = None, answered: bool = False,
                  page: int = 1, per_page: int = PER_PAGE) -> dict:
    """A village's lists: the count of each (to verify, and answered), and one list's page of items, oldest
    first. Bounded: one grouped count and one page on the village's index range."""
    require_reader(actor)
    unit = visible_unit(session, actor, village_code)
    if unit.level != Level.village:
        raise NotFound(_l("核查对象清单按村（居）查看"))
    counts = {k: {"pending": 0, "answered": 0} for k in E.LIST_KINDS}
    for row in session.execute(select(WorklistItem.list_kind, WorklistItem.status, func.count())
                               .where(WorklistItem.region_code == unit.code)
                               .group_by(WorklistItem.list_kind, WorklistItem.status)):
        counts[row[0]]["answered" if row[1] == "answered" else "pending"] += row[2]
    list_kind = list_kind or next((k for k in E.LIST_KINDS if counts[k]["pending"]), "dropout")
    statuses = ("answered",) if answered else ("open", "in_task")
    rows = session.execute(item_query().where(WorklistItem.region_code == unit.code,
                                              WorklistItem.list_kind == list_kind,
                                              WorklistItem.status.in_(statuses))
                           .order_by(WorklistItem.id).limit(per_page).offset((page - 1) * per_page)).all()
    total = counts[list_kind]["answered" if answered else "pending"]
    return {"code": unit.code, "name": unit.name, "list_kind": list_kind, "answered": answered, "counts": counts,
            "items": [item_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}
