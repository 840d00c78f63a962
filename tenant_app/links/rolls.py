"""Rolls of partner departments: the dry run of an upload (rows checked, nothing written but the upload and its
errors), the confirmation (a new dated version, set-based insert of its rows, the previous version no longer
current, a match run queued after commit), versions and results.

A department uploads its own rolls; the administration's staff, administrators and viewers of the department's
unit or above read its versions. The matched children's fields are never shown to a department: its results are
its own rows with their status, score and the matched child's village code.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache

from sqlalchemy import and_, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from hierarchy.citus_schema import via_results
from hierarchy.models import Unit
from sync import queues
from sync.jobs import enqueue
from tenant_app import clock
from tenant_app.children.excel import BadWorkbook
from tenant_app.children.idcard import mask_id
from tenant_app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l, both_languages
from tenant_app.links import enums as E
from tenant_app.links import parsing, sqlcheck
from tenant_app.links.keys import name_key
from tenant_app.links.models import MatchRun, RollMatch, RollRow, RollStagedRow, RollUpload

ERRORS_SHOWN = 50
ERRORS_KEPT = 10_000  # errors stored with a dry run (and in its error sheet); all are counted
CHUNK = 2_000
STALE_AFTER = timedelta(days=1)  # an unconfirmed dry run older than this is purged
READERS = ("admin", "staff", "viewer", "department")
NOT_YOURS = _l("只有本部门可以操作本部门的名册")
HAS_ERRORS = _l("名册有错误，请改正后重新上传")
VERSION_CHANGED = _l("名册版本已变化，请重新上传")
STAGE_LOST = _l("校验结果已失效，请重新上传")


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


def _villages(session, dept_unit: str) -> set[str]:
    """The active villages of the department's subtree (a province's: some 50,000 codes)."""
    return set(session.scalars(select(Unit.code).where(
        Unit.code >= dept_unit, Unit.code < dept_unit + ":", Unit.level == 5, Unit.retired.is_(False))))


class _Stager:
    """The valid rows of a dry run into roll_staged_rows. PostgreSQL: streamed with COPY into a temporary table
    (COPY cannot write a table under row-level security; INSERT can, its policy checking every row) and moved
    with one INSERT ... SELECT; SQLite: executemany in batches."""

    BLOCK = 5_000

    def __init__(self, session, up: RollUpload):
        self.session, self.up, self.count, self.pending = session, up, 0, []
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.table = f"roll_stage_in_{up.id}"
        self.copy = self._copy_cm = None
        if self.pg:
            connection = session.connection()
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {self.table} (line integer, student_no text, id_number text, name text, "
                "name_pinyin text, sex text, birth_date date, birth_swapped date, area_code text, details text) "
                "ON COMMIT DROP")
            self._cursor = connection.connection.driver_connection.cursor()
            self._copy_cm = self._cursor.copy(f"COPY {self.table} FROM STDIN")
            self.copy = self._copy_cm.__enter__()

    def add(self, r: dict) -> None:
        self.count += 1
        if self.pg:  # psycopg formats and escapes the row (in C)
            self.copy.write_row((r["line"], r["student_no"], r["id_number"], r["name"], r["name_pinyin"], r["sex"],
                                 r["birth_date"], r["birth_swapped"], r["area_code"], _json(r["details"])))
            return
        self.pending.append(r)
        if len(self.pending) >= self.BLOCK:
            self._flush()

    def _flush(self) -> None:
        rows, self.pending = self.pending, []
        if rows:
            up = self.up
            self.session.execute(insert(RollStagedRow), [
                {**r, "region_code": up.dept_unit, "province_code": up.dept_unit[:2], "dept_unit": up.dept_unit,
                 "dept_kind": up.dept_kind, "upload_id": up.id} for r in rows])

    def _end_copy(self) -> None:
        if self._copy_cm is not None:
            cm, self._copy_cm = self._copy_cm, None
            cm.__exit__(None, None, None)
            self._cursor.close()

    def finish(self) -> int:
        """Move the staged rows into roll_staged_rows; their count."""
        self._flush()
        if self.pg:
            self._end_copy()
            up = self.up
            connection = self.session.connection()
            moved = connection.execute(text(
                f"INSERT INTO roll_staged_rows ({_ROW_COLUMNS}) SELECT :unit, :unit, :kind, :upload, line, "
                "student_no, id_number, name, name_pinyin, sex, birth_date, birth_swapped, area_code, "
                f"CAST(details AS json), :province FROM {self.table}{via_results(connection)}"),
                {"unit": up.dept_unit, "kind": up.dept_kind, "upload": up.id, "province": up.dept_unit[:2]})
            if moved.rowcount != self.count:  # nothing may conflict (one row per line of the file)
                raise RuntimeError(f"{self.count - moved.rowcount} staged roll rows conflicted")
            connection.exec_driver_sql(f"DROP TABLE {self.table}")
        return self.count

    def abandon(self) -> None:
        """Rows with errors: nothing is staged (what was copied goes with the temporary table)."""
        self.pending = []
        if self.pg:
            self._end_copy()
            self.session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")


_JSON_CACHE: dict = {}


def _json(details: dict) -> str:
    key = tuple(details.items())
    try:
        text_ = _JSON_CACHE.get(key)
    except TypeError:  # an unhashable value
        return json.dumps(details, ensure_ascii=False)
    if text_ is None:
        text_ = json.dumps(details, ensure_ascii=False)
        if len(_JSON_CACHE) < 100_000:
            _JSON_CACHE[key] = text_
    return text_


_ROW_COLUMNS = ("region_code, dept_unit, dept_kind, upload_id, line, student_no, id_number, name, name_pinyin, sex, "
                "birth_date, birth_swapped, area_code, details, province_code")


def purge_stale(session, *, older_than: timedelta = STALE_AFTER) -> int:
    """Remove unconfirmed dry runs (their staged rows too) created more than `older_than` ago, within the
    session's scope (a department: its own); how many."""
    before = clock.now() - older_than
    stale = list(session.scalars(select(RollUpload.id).where(RollUpload.status != "confirmed",
                                                             RollUpload.created_at < before)))
    for start in range(0, len(stale), CHUNK):
        ids = stale[start:start + CHUNK]
        session.execute(delete(RollStagedRow).where(RollStagedRow.upload_id.in_(ids))
                        .execution_options(synchronize_session=False))
        session.execute(delete(RollUpload).where(RollUpload.id.in_(ids), RollUpload.status != "confirmed")
                        .execution_options(synchronize_session=False))
    return len(stale)


def purge_stale_job() -> dict:
    """The job (all-tenants scope, daily from the worker): every department's stale dry runs."""
    from tenant_app.db import db

    with db.session_scope() as session:
        return {"purged": purge_stale(session)}


def dry_run(session, actor, roll_kind: str, filename: str, content) -> RollUpload:
    """Check every row (`content`: bytes or a seekable binary file, read as a stream when a CSV); store the
    upload with its errors and, when there are none, stage its rows for confirmation (roll_staged_rows).
    Nothing is written to the roll. The department's dry runs left unconfirmed for a day are purged first."""
    require_department(actor)
    if roll_kind not in E.DEPT_ROLLS.get(actor.org_kind, ()):
        raise ValidationFailed(_l("本部门不能上传此类名册"), errors={"roll_kind": [_l("本部门不能上传此类名册")]})
    try:
        raw_rows = parsing.iter_rows(roll_kind, content, filename)
    except BadWorkbook as exc:
        raise ValidationFailed(exc.args[0], errors={"file": [exc.args[0]]}) from None
    purge_stale(session)
    dept_unit = actor.region_code
    villages = _villages(session, dept_unit)
    counties = frozenset(v[:6] for v in villages) if len(dept_unit) < 6 else frozenset()
    up = RollUpload(region_code=dept_unit, dept_unit=dept_unit, dept_kind=actor.org_kind, roll_kind=roll_kind,
                    status="checked", filename=(filename or "")[:200], total_rows=0, error_count=0, errors=[],
                    user_id=actor.id, is_current=False,
                    base_version=current_version(session, dept_unit, actor.org_kind, roll_kind))
    session.add(up)
    session.flush()
    if roll_kind == "school" and not isinstance(content, bytes | bytearray):
        checked = sqlcheck.school_csv(session, up, content, counties, villages, parsing.check_row)
        if checked is not None:  # the file was read and checked by PostgreSQL
            problems = checked["problems"]
            errors = [_error(roll_kind, row, field, m) for row, field, m in problems[:ERRORS_KEPT]]
            up.status, up.total_rows, up.error_count, up.errors = (
                "invalid" if problems else "checked"), checked["total"], len(problems), errors
            session.flush()
            return up
        raw_rows = parsing.iter_rows(roll_kind, content, filename)  # read again from the start, in Python
    stager = _Stager(session, up)
    errors, error_count, total, seen = [], 0, 0, {}
    check_row, school = parsing.check_row, roll_kind == "school"
    fast = parsing.fast_school_row if school else None
    add, swapped = stager.add, lru_cache(maxsize=50_000)(_swapped)
    try:
        for raw in raw_rows:
            total += 1
            values = fast(raw, dept_unit, counties) if fast is not None else None
            if values is None:  # not an ordinary row: checked field by field, errors worded
                values, found = check_row(roll_kind, raw, dept_unit, villages, counties)
            else:
                found = None
            if not found:
                key = values["id_number"] or (values["student_no"] if school else None)
                if key:
                    previous = seen.get(key)
                    seen[key] = raw["_row"]
                    if previous is not None:
                        found = {"id_number" if values["id_number"] else "student_no": [
                            _l("与第%(row)s行重复", row=previous)]}
            if found:
                for field, messages in found.items():
                    error_count += len(messages)
                    if len(errors) < ERRORS_KEPT:
                        errors.extend(_error(roll_kind, raw["_row"], field, m) for m in messages)
            elif not error_count:
                values["name_pinyin"] = name_key(values["name"])
                values["birth_swapped"] = swapped(values["birth_date"])
                add(values)
    except BadWorkbook as exc:  # the request's transaction is rolled back: no upload, nothing staged
        stager.abandon()
        raise ValidationFailed(exc.args[0], errors={"file": [exc.args[0]]}) from None
    if error_count:
        stager.abandon()
    else:
        stager.finish()
    up.status, up.total_rows, up.error_count, up.errors = (
        "invalid" if error_count else "checked"), total, error_count, errors[:ERRORS_KEPT]
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
    try:
        with session.begin_nested():
            up.version, up.is_current, up.status, up.confirmed_at = current + 1, True, "confirmed", now
            session.flush()
    except IntegrityError:
        raise Conflict(VERSION_CHANGED, errors={"version": [VERSION_CHANGED]}) from None
    # In the order of the file (the rows' ids follow it); on Citus through the coordinator (via_results).
    moved = session.execute(text(
        f"INSERT INTO roll_rows ({_ROW_COLUMNS}) SELECT {_ROW_COLUMNS} FROM roll_staged_rows "
        f"WHERE province_code = :province AND upload_id = :upload ORDER BY line{via_results(session.connection())}"),
        {"upload": up.id, "province": up.dept_unit[:2]}).rowcount
    if moved != up.total_rows:  # the unlogged staging table lost them (a crash): the dry run must be redone
        raise Conflict(STAGE_LOST, errors={"file": [STAGE_LOST]})
    session.execute(delete(RollStagedRow).where(RollStagedRow.upload_id == up.id)
                    .execution_options(synchronize_session=False))
    run = MatchRun(region_code=up.dept_unit, dept_unit=up.dept_unit, dept_kind=up.dept_kind, upload_id=up.id,
                   status="queued", rows_total=moved, rows_done=0, linked=0, grey=0)
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
             # The province too: on a Citus coordinator the two tables then join on their distribution column.
             .outerjoin(RollMatch, and_(RollMatch.province_code == RollRow.province_code,
                                        RollMatch.upload_id == RollRow.upload_id, RollMatch.row_id == RollRow.id))
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
