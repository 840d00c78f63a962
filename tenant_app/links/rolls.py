"""Rolls of partner departments: the dry run of an upload (rows checked, nothing written but the upload and its
errors), the confirmation (a new dated version, set-based insert of its rows, the previous version no longer
current, a match run queued after commit), versions and results.

A department uploads its own rolls; the administration's staff, administrators and viewers of the department's
unit or above read its versions. The matched children's fields are never shown to a department: its results are
its own rows with their status, score and the matched child's village code.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hierarchy.models import Unit
from sync import queues
from sync.jobs import enqueue
from tenant_app import clock
from tenant_app.children.excel import BadWorkbook
from tenant_app.children.idcard import mask_id
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l, both_languages
from tenant_app.links import enums as E
from tenant_app.links import parsing
from tenant_app.links.keys import name_key
from tenant_app.links.models import MatchRun, RollMatch, RollRow, RollUpload

ERRORS_SHOWN = 50
CHUNK = 2_000
READERS = ("admin", "staff", "viewer", "department")
NOT_YOURS = _l("只有本部门可以操作本部门的名册")
HAS_ERRORS = _l("名册有错误，请改正后重新上传")
VERSION_CHANGED = _l("名册版本已变化，请重新上传")


def summary(up: RollUpload, run: MatchRun | None = None) -> dict:
    return {"id": up.id, "dept_unit": up.dept_unit, "dept_kind": up.dept_kind, "roll_kind": up.roll_kind,
            "status": up.status, "version": up.version, "base_version": up.base_version,
            "is_current": up.is_current, "filename": up.filename, "total_rows": up.total_rows,
            "error_count": up.error_count, "errors": (up.errors or [])[:ERRORS_SHOWN],
            "created_at": up.created_at, "confirmed_at": up.confirmed_at,
            "run": run_summary(run) if run is not None else None}


def run_summary(run: MatchRun) -> dict:
    return {"id": run.id, "upload_id": run.upload_id, "status": run.status, "rows_total": run.rows_total,
            "rows_done": run.rows_done, "linked": run.linked, "grey": run.grey, "created_at": run.created_at,
            "finished_at": run.finished_at}


def require_reader(actor) -> None:
    if actor.role not in READERS:
        raise Forbidden(_l("权限不足"))


def require_department(actor) -> None:
    if not actor.is_department:
        raise Forbidden(NOT_YOURS)


def current_version(session, dept_unit: str, dept_kind: str, roll_kind: str) -> int:
    return session.scalar(select(func.coalesce(func.max(RollUpload.version), 0)).where(
        RollUpload.dept_unit == dept_unit, RollUpload.dept_kind == dept_kind,
        RollUpload.roll_kind == roll_kind)) or 0


def _error(kind: str, row: int, field: str, message) -> dict:
    return {"row": row, "column": parsing.header_of(kind, field), "field": field, "message": both_languages(message)}


def _swapped(born: date | None) -> date | None:
    if born is None or born.day > 12 or born.day == born.month:
        return None
    try:
        return date(born.year, born.day, born.month)
    except ValueError:
        return None


def _villages(session, dept_unit: str, rows: list[dict]) -> set[str]:
    codes = sorted({r.get("address_code") or "" for r in rows} - {""})
    wanted = [c for c in codes if c.startswith(dept_unit) and len(c) == 12]
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        found.update(session.scalars(select(Unit.code).where(Unit.code.in_(wanted[start:start + CHUNK]),
                                                             Unit.retired.is_(False))))
    return found


def dry_run(session, actor, roll_kind: str, filename: str, content: bytes) -> RollUpload:
    """Check every row; store the upload with its errors and, when there are none, its rows for confirmation."""
    require_department(actor)
    if roll_kind not in E.DEPT_ROLLS.get(actor.org_kind, ()):
        raise ValidationFailed(_l("本部门不能上传此类名册"), errors={"roll_kind": [_l("本部门不能上传此类名册")]})
    try:
        raw_rows = parsing.read_rows(roll_kind, content, filename)
    except BadWorkbook as exc:
        raise ValidationFailed(exc.args[0], errors={"file": [exc.args[0]]}) from None
    villages = _villages(session, actor.region_code, raw_rows)
    staged, errors, seen = [], [], {}
    for raw in raw_rows:
        values, found = parsing.check_row(roll_kind, raw, actor.region_code, villages)
        key = values["id_number"] or (values["student_no"] if roll_kind == "school" else None)
        if key and not found:
            if key in seen:
                found["id_number" if values["id_number"] else "student_no"] = [
                    _l("与第%(row)s行重复", row=seen[key])]
            seen[key] = raw["_row"]
        for field, messages in found.items():
            errors.extend(_error(roll_kind, raw["_row"], field, m) for m in messages)
        if not found:
            staged.append({**values, "birth_date": values["birth_date"].isoformat() if values["birth_date"] else None})
    up = RollUpload(region_code=actor.region_code, dept_unit=actor.region_code, dept_kind=actor.org_kind,
                    roll_kind=roll_kind, status="invalid" if errors else "checked", filename=(filename or "")[:200],
                    total_rows=len(raw_rows), error_count=len(errors), errors=errors,
                    staged=None if errors else staged, user_id=actor.id, is_current=False,
                    base_version=current_version(session, actor.region_code, actor.org_kind, roll_kind))
    session.add(up)
    session.flush()
    return up


def get_upload(session, actor, upload_id: int) -> RollUpload:
    require_reader(actor)
    up = session.get(RollUpload, upload_id)
    if up is None:
        raise NotFound(_l("名册不存在"))
    return up


def confirm(session, actor, upload_id: int, version: int) -> tuple[RollUpload, MatchRun]:
    """Make a checked upload the department's current version (`version`: the current version the dry run
    saw; another version confirmed since is a conflict). Its rows go in set-based; a match run is created."""
    require_department(actor)
    up = get_upload(session, actor, upload_id)
    if up.status == "confirmed":
        raise Conflict(_l("该名册已确认"), errors={"version": [_l("该名册已确认")]})
    if up.status == "invalid":
        raise ValidationFailed(HAS_ERRORS, errors={"file": [HAS_ERRORS]})
    current = current_version(session, up.dept_unit, up.dept_kind, up.roll_kind)
    if version != current or up.base_version != current:
        raise Conflict(VERSION_CHANGED, errors={"version": [VERSION_CHANGED]})
    now = clock.now()
    same_roll = and_(RollUpload.dept_unit == up.dept_unit, RollUpload.dept_kind == up.dept_kind,
                     RollUpload.roll_kind == up.roll_kind, RollUpload.is_current.is_(True))
    session.execute(update(RollUpload).where(same_roll).values(is_current=False)
                    .execution_options(synchronize_session=False))
    rows = [{"region_code": up.dept_unit, "dept_unit": up.dept_unit, "dept_kind": up.dept_kind,
             "upload_id": up.id, "line": r["line"], "student_no": r["student_no"], "id_number": r["id_number"],
             "name": r["name"], "name_pinyin": name_key(r["name"]), "sex": r["sex"],
             "birth_date": date.fromisoformat(r["birth_date"]) if r["birth_date"] else None,
             "area_code": r["area_code"], "details": r["details"]} for r in up.staged or []]
    for row in rows:
        row["birth_swapped"] = _swapped(row["birth_date"])
    try:
        with session.begin_nested():
            up.version, up.is_current, up.status, up.confirmed_at, up.staged = current + 1, True, "confirmed", now, None
            session.flush()
    except IntegrityError:
        raise Conflict(VERSION_CHANGED, errors={"version": [VERSION_CHANGED]}) from None
    for start in range(0, len(rows), CHUNK):  # multi-row INSERTs, a chunk at a time
        session.execute(insert(RollRow), rows[start:start + CHUNK])
    run = MatchRun(region_code=up.dept_unit, dept_unit=up.dept_unit, dept_kind=up.dept_kind, upload_id=up.id,
                   status="queued", rows_total=len(rows), rows_done=0, linked=0, grey=0)
    session.add(run)
    session.flush()
    return up, run


def enqueue_match(run: MatchRun, redis_url: str | None):
    """After commit: match the run's version (inline without Redis)."""
    return enqueue("tenant_app.links.matching.run_match", run.id, job_id=f"links-match-{run.id}",
                   scope_code=run.dept_unit, queue=queues.LINKS, redis_url=redis_url)


def list_uploads(session, actor, *, roll_kind: str | None = None, page: int = 1, per_page: int = 20):
    require_reader(actor)
    query = select(RollUpload)
    if roll_kind:
        query = query.where(RollUpload.roll_kind == roll_kind)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(RollUpload.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return list(items), total


def latest_run(session, upload_id: int) -> MatchRun | None:
    return session.scalars(select(MatchRun).where(MatchRun.upload_id == upload_id)
                           .order_by(MatchRun.id.desc()).limit(1)).first()


def get_run(session, actor, run_id: int) -> MatchRun:
    require_reader(actor)
    run = session.get(MatchRun, run_id)
    if run is None:
        raise NotFound(_l("匹配任务不存在"))
    return run


RESULT_STATUSES = (*E.MATCH_STATUSES, "unmatched")


def results(session, actor, upload_id: int, *, status: str | None = None, page: int = 1, per_page: int = 20):
    """The version's rows with their match: status, score, method and the child's village code; nothing else of
    the child. Readers above the department's unit see the same."""
    up = get_upload(session, actor, upload_id)
    query = (select(RollRow.id, RollRow.line, RollRow.name, RollRow.student_no, RollRow.id_number,
                    RollMatch.id.label("match_id"), RollMatch.status, RollMatch.score, RollMatch.method,
                    RollMatch.region_code.label("village_code"))
             .outerjoin(RollMatch, and_(RollMatch.upload_id == RollRow.upload_id, RollMatch.row_id == RollRow.id))
             .where(RollRow.upload_id == up.id))
    if status == "unmatched":
        query = query.where(RollMatch.id.is_(None))
    elif status:
        query = query.where(RollMatch.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(RollRow.line).offset((page - 1) * per_page).limit(per_page))
    # ID numbers masked, as in every list (a "G" student number carries one).
    return [{**r._asdict(), "id_number": mask_id(r.id_number), "student_no": _masked_student_no(r.student_no),
             "status": r.status or "unmatched"} for r in rows], total


def _masked_student_no(value: str) -> str:
    return value[0] + mask_id(value[1:]) if len(value) == 19 and value[0] == "G" else value
