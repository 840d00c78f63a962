"""Importing child records from Excel: a dry run (a job) that writes nothing but the error list, then, on
confirmation, a job that re-validates and inserts the valid rows in one transaction, set-based."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from hierarchy.models import Base, Unit, code_column_type, utcnow
from hierarchy.province import province_code_column
from hierarchy.scope import current_scope
from sync import queues
from sync.jobs import enqueue
from sync.outbox import record_bulk
from tenant_app.children import access, excel, probes, services
from tenant_app.children.models import Child, ChildChange
from tenant_app.children.validation import derive, today_cst, validate_child
from tenant_app.errors import Conflict, NotFound, RateLimited, ValidationFailed
from tenant_app.i18n import _l, both_languages
from tenant_app.links.refresh import note_villages

STATUSES = ("uploaded", "validating", "validated", "applying", "applied", "failed")
MAX_ROWS = 50_000
PROGRESS_EVERY = 200
ERRORS_SHOWN = 50
COLUMNS = Child.__table__.columns


class ChildImport(Base):
    """One uploaded workbook and its dry run / apply progress; region_code is the importer's unit."""

    __tablename__ = "child_imports"
    __province_source__ = "region_code"
    province_code: Mapped[str] = province_code_column()
    __scope_column__ = "region_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(code_column_type(), ForeignKey("units.code"))
    user_id: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="uploaded")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    valid_count: Mapped[int] = mapped_column(Integer, default=0)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(String(500), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    rows: Mapped[list | None] = mapped_column(JSON)  # the parsed rows, stored by the dry run for the apply
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_child_imports_region_code_created_at", "region_code", "created_at"),)


def summary(imp: ChildImport) -> dict:
    return {"id": imp.id, "status": imp.status, "filename": imp.filename, "total_rows": imp.total_rows,
            "rows_done": imp.rows_done, "error_count": imp.error_count, "valid_count": imp.valid_count,
            "applied_count": imp.applied_count, "message": imp.message,
            "errors": (imp.errors or [])[:ERRORS_SHOWN], "created_at": imp.created_at}


# --- request side -----------------------------------------------------------------------------------

def start_dry_run(session, actor, filename: str, content: bytes) -> ChildImport:
    """Store the upload (the caller commits, then calls `enqueue_validate`).

    The request checks only that the upload is a workbook (its zip directory); the rows are counted by the job,
    as it reads them (excel.read_rows), however many the file declares.
    """
    access.require_create(actor)
    try:
        excel.check_container(content)
    except excel.BadWorkbook as exc:
        raise ValidationFailed(exc.args[0], errors={"file": [exc.args[0]]}) from None
    imp = ChildImport(region_code=actor.region_code, user_id=actor.id, filename=(filename or "")[:200],
                      status="uploaded", total_rows=0, rows_done=0, errors=[], content=content)
    session.add(imp)
    session.flush()
    return imp


def get_import(session, actor, import_id: int) -> ChildImport:
    imp = session.scalars(select(ChildImport).where(ChildImport.id == import_id)).first()
    if imp is None or imp.user_id != actor.id:
        raise NotFound(_l("没有该导入记录"))
    return imp


def request_confirm(session, actor, import_id: int) -> ChildImport:
    """Mark a validated import for applying (the caller commits, then calls `enqueue_apply`)."""
    access.require_create(actor)
    imp = get_import(session, actor, import_id)
    if imp.status != "validated":
        raise Conflict(_l("该导入当前不能确认"),
                       status_now=imp.status)
    if imp.valid_count == 0:
        raise Conflict(_l("没有可导入的有效行"))
    # Conditional, so two confirmations at once apply the import once.
    claimed = session.execute(update(ChildImport).where(ChildImport.id == imp.id, ChildImport.status == "validated")
                              .values(status="applying", rows_done=0, updated_at=utcnow())
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise Conflict(_l("该导入当前不能确认"))
    session.refresh(imp)
    return imp


def enqueue_validate(imp_id: int, unit_code: str, redis_url: str | None):
    return enqueue("tenant_app.children.imports.validate_import", imp_id, job_id=f"child-import-validate-{imp_id}",
                   scope_code=unit_code, queue=queues.IMPORTS, redis_url=redis_url)


def enqueue_apply(imp_id: int, unit_code: str, redis_url: str | None):
    return enqueue("tenant_app.children.imports.apply_import", imp_id, job_id=f"child-import-apply-{imp_id}",
                   scope_code=unit_code, queue=queues.IMPORTS, redis_url=redis_url)


# --- checking rows ----------------------------------------------------------------------------------

def _error(row: int, field: str, message: str) -> dict:
    column = excel.FIELD_HEADER.get(field, field)
    return {"row": row, "column": column, "field": field, "message": both_languages(message)}


class ProbesThrottled(Exception):
    """The dry run found more ID numbers registered outside the caller's subtree than the user may still be
    told about (tenant_app.children.probes)."""


def _existing_ids(session, actor, numbers: list[str], record_probes: bool) -> dict[str, str]:
    """{id_number: message} for numbers already registered in the province (any village).

    Numbers within the caller's subtree say where; outside it they say only that they are registered, each
    such hit is audited and counted like a hit of the form, and a file with more of them than the user's
    budget left is refused whole (ProbesThrottled): no row says which numbers were found.
    """
    found: dict[str, str] = {}
    if not numbers:
        return found
    province = actor.region_code[:2]
    budget = probes.require_answer(session, actor) if record_probes else None
    hits = []
    with access.narrow_scope(session, province):
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start:start + 1000]
            hits += session.execute(select(Child.id, Child.id_number, Child.region_code).where(
                Child.province_code == province, Child.id_number.in_(chunk))).all()
    scope = current_scope()
    inside = [h for h in hits if scope.covers(h.region_code)]
    outside = [h for h in hits if not scope.covers(h.region_code)]
    codes = {h.region_code for h in inside}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))} if codes else {}
    for hit in inside:
        found[hit.id_number] = services.inside_message(session, hit.region_code, hit.id, units)
    if outside and record_probes:
        probes.record(session, actor, [(h.id, h.region_code) for h in outside], "import")
        if len(outside) > budget.left:
            raise ProbesThrottled(probes.THROTTLED)
    for hit in outside:
        found[hit.id_number] = probes.OUTSIDE_MESSAGE
    return found


def check_rows(session, actor, raw_rows: list[dict], progress=None, ref: date | None = None,
               record_probes: bool = True):
    """Validate every row like the API's create. Returns (valid [(row, values)], errors [dict]).

    `record_probes`: count the numbers found outside the caller's subtree against the user's budget (the dry
    run); the apply re-checks the rows the dry run already counted, and does not count them again.
    """
    ref = ref or today_cst()
    errors: list[dict] = []
    candidates: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    total = len(raw_rows)
    for index, raw in enumerate(raw_rows, start=1):
        number = raw["_row"]
        parsed, cell_errors = excel.parse_row(raw)
        row_errors = [_error(number, f, m) for f, ms in cell_errors.items() for m in ms]
        village = (parsed.pop("village_code", None) or actor.region_code).strip()
        if village != actor.region_code:
            row_errors.append(_error(number, "village_code",
                                     _l("只能在本村建档")))
        values = {**services.DEFAULTS, **services._clean(parsed)}
        for field, value in parsed.items():  # what the API's schema and the form check before the database does
            length = getattr(COLUMNS[field].type, "length", None) if field in COLUMNS else None
            if isinstance(value, str) and length and len(value) > length:
                cell_errors[field] = [_l("最多 %(n)s 个字", n=length)]
                row_errors.append(_error(number, field, cell_errors[field][0]))
        for field, messages in validate_child(values, ref).items():
            if field in cell_errors:
                continue
            row_errors += [_error(number, field, m) for m in messages]
        id_number = values.get("id_number")
        if id_number and not any(e["field"] == "id_number" for e in row_errors):
            if id_number in seen:
                row_errors.append(_error(number, "id_number",
                                         _l("与第%(row)s行身份证号重复", row=seen[id_number])))
            else:
                seen[id_number] = number
        if row_errors:
            errors += row_errors
        else:
            values.update(derive(values))
            candidates.append((number, values))
        if progress is not None and (index % PROGRESS_EVERY == 0 or index == total):
            progress(index)
    existing = _existing_ids(session, actor, [v["id_number"] for _, v in candidates if v.get("id_number")],
                             record_probes)
    valid = []
    for number, values in candidates:
        if values.get("id_number") in existing:
            errors.append(_error(number, "id_number", existing[values["id_number"]]))
        else:
            valid.append((number, values))
    errors.sort(key=lambda e: (e["row"], list(excel.FIELD_HEADER).index(e["field"])
                               if e["field"] in excel.FIELD_HEADER else 999))
    return valid, errors


# --- jobs -------------------------------------------------------------------------------------------

def _set(import_id: int, **values) -> None:
    """Update the import in its own short transaction, so progress is visible while the job runs."""
    from tenant_app.db import db

    values.setdefault("updated_at", utcnow())
    with db.session_scope() as s:
        s.execute(update(ChildImport).where(ChildImport.id == import_id).values(**values))


def _load(session, import_id: int):
    from tenant_app.auth.models import User

    imp = session.get(ChildImport, import_id)
    if imp is None:
        raise NotFound(f"child import {import_id} not found in scope {current_scope()}")
    actor = session.get(User, imp.user_id)
    return imp, actor


def validate_import(import_id: int) -> dict:
    """The dry run: every row checked, the errors stored; nothing written to children.

    A file that is not a workbook, lacks the headers or has too many rows, and a dry run that finds too many
    numbers registered outside the caller's subtree, end as "failed" with the reason: retrying cannot help.
    """
    from tenant_app.db import db

    _set(import_id, status="validating", rows_done=0)
    try:
        with db.session_scope(commit=False) as session:
            imp, actor = _load(session, import_id)
            raw_rows = excel.read_rows(imp.content, MAX_ROWS)
            _set(import_id, total_rows=len(raw_rows))
            valid, errors = check_rows(session, actor, raw_rows,
                                       progress=lambda done: _set(import_id, rows_done=done))
    except (excel.BadWorkbook, ProbesThrottled, RateLimited) as exc:
        message = both_languages(exc.detail if isinstance(exc, RateLimited) else exc.args[0])
        _set(import_id, status="failed", message=message[:500], errors=[], error_count=0, valid_count=0)
        return {"failed": message}
    except Exception as exc:
        _set(import_id, status="failed", message=both_languages(_l("校验失败：%(error)s", error=exc))[:500])
        raise
    _set(import_id, status="validated", rows_done=len(raw_rows), total_rows=len(raw_rows), errors=errors,
         error_count=len(errors), valid_count=len(valid), rows=raw_rows, message="")
    return {"valid": len(valid), "errors": len(errors)}


def _snapshot(values: dict) -> dict:
    return {c.key: services._jsonable(values.get(c.key)) for c in Child.__table__.columns}


def apply_import(import_id: int) -> dict:
    """Re-validate and insert the valid rows in ONE transaction; anything wrong, nothing written."""
    from tenant_app.db import db

    try:
        with db.session_scope() as session:
            imp, actor = _load(session, import_id)
            if imp.status != "applying":  # a retry after the import was applied or failed: nothing to do
                return {"applied": 0, "status": imp.status}
            access.require_create(actor)
            raw_rows = imp.rows if imp.rows is not None else excel.read_rows(imp.content, MAX_ROWS)
            valid, errors = check_rows(session, actor, raw_rows,
                                       progress=lambda done: _set(import_id, rows_done=done), record_probes=False)
            if len(errors) != imp.error_count or len(valid) != imp.valid_count:
                raise ChangedSinceDryRun(errors)
            count = insert_children(session, actor, [values for _, values in valid])
            session.execute(update(ChildImport).where(ChildImport.id == import_id).values(
                status="applied", applied_count=count, rows_done=len(raw_rows), message="",
                updated_at=utcnow()))
    except ChangedSinceDryRun as exc:
        _set(import_id, status="failed", errors=exc.errors, error_count=len(exc.errors),
             message=both_languages(_l("数据在试运行后发生变化，未导入任何记录，请重新上传")))
        return {"applied": 0}
    except IntegrityError:
        _set(import_id, status="failed",
             message=both_languages(_l("有身份证号已被他人登记，未导入任何记录，请重新上传")))
        return {"applied": 0}
    except Exception as exc:
        _set(import_id, status="failed",
             message=both_languages(_l("导入失败，未导入任何记录：%(error)s", error=exc))[:500])
        raise
    return {"applied": count}


class ChangedSinceDryRun(Exception):
    def __init__(self, errors):
        super().__init__("changed since the dry run")
        self.errors = errors


def insert_children(session, actor, rows: list[dict]) -> int:
    """Bulk insert of children and their first history rows: executemany, not an ORM flush loop.

    The ids are drawn from the sequence first, so neither insert needs RETURNING (on PostgreSQL a plain
    executemany is pipelined and its statement prepared once).
    """
    if not rows:
        return 0
    now = utcnow()
    village = actor.region_code
    columns = [c.key for c in Child.__table__.columns]
    if session.get_bind().dialect.name == "postgresql":
        ids = session.scalars(text("SELECT nextval(pg_get_serial_sequence('children', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": len(rows)}).all()
    else:  # pragma: no cover - the application runs on PostgreSQL
        ids = [None] * len(rows)
    records = []
    for child_id, values in zip(ids, rows, strict=True):
        record = {**values, "id": child_id, "region_code": village, "province_code": village[:2], "version": 1,
                  "created_by_id": actor.id, "updated_by_id": actor.id, "created_at": now, "updated_at": now}
        records.append({key: record.get(key, services.DEFAULTS.get(key)) for key in columns})
    if ids[0] is None:  # pragma: no cover
        ids = session.scalars(insert(Child).returning(Child.id, sort_by_parameter_order=True),
                              [{k: v for k, v in r.items() if k != "id"} for r in records]).all()
        for child_id, record in zip(ids, records, strict=True):
            record["id"] = child_id
    else:
        session.execute(Child.__table__.insert(), records)
    changes = []
    for record, values in zip(records, rows, strict=True):
        changes.append({
            "child_id": record["id"], "region_code": village, "province_code": village[:2], "version": 1,
            "action": "create",
            "changed_by_id": actor.id, "changed_at": now,
            "changes": {k: [None, services._jsonable(v)] for k, v in values.items()
                        if v not in (None, "", [], False)},
            "snapshot": _snapshot(record)})
    session.execute(ChildChange.__table__.insert(), changes)
    record_bulk(session, [village], "children")
    note_villages(session, [village])
    return len(records)
