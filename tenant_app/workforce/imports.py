"""Importing the roster from Excel: a dry run that writes nothing but the import's error list, then, on
confirmation, the rows re-checked and every valid one inserted in one transaction, set-based (a person and
their open appointment per row).

Each row registers a person at a village (children's director) or township (supervisor) of the importer's
subtree and appoints them from `任职日期`. A row is refused with its field when a cell breaks a rule of the
form, when its ID number or unit repeats an earlier row, when the ID number is already on the province's roster
within the importer's subtree, or when the unit's post is already held.
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.errors import Conflict, NotFound, ValidationFailed
from tenant_app.i18n import _l, both_languages
from tenant_app.workforce import access, excel, validation
from tenant_app.workforce.models import Appointment, RosterImport, RosterPerson

MAX_ROWS = 60_000
ERRORS_SHOWN = 50
CHUNK = 5_000


def summary(imp: RosterImport) -> dict:
    return {"id": imp.id, "status": imp.status, "filename": imp.filename, "total_rows": imp.total_rows,
            "error_count": imp.error_count, "valid_count": imp.valid_count, "applied_count": imp.applied_count,
            "message": imp.message, "errors": (imp.errors or [])[:ERRORS_SHOWN], "created_at": imp.created_at}


def _error(row: int, field: str, message) -> dict:
    return {"row": row, "column": excel.FIELD_HEADER.get(field, field), "field": field,
            "message": both_languages(message)}


def _chunks(values: list):
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _lookups(session, actor, codes: set[str], numbers: set[str]):
    """Units of the file in the importer's subtree, held posts, ID numbers already registered: set-based."""
    lo, hi = actor.region_code, actor.region_code + ":"
    units, held, registered = {}, set(), set()
    wanted = sorted(c for c in codes if c.startswith(actor.region_code))
    for chunk in _chunks(wanted):
        units.update({r.code: r.retired for r in session.execute(
            select(Unit.code, Unit.retired).where(Unit.code.in_(chunk)))})
        held.update(session.scalars(select(Appointment.region_code).where(
            Appointment.region_code.in_(chunk), Appointment.left_on.is_(None))))
    for chunk in _chunks(sorted(numbers)):
        registered.update(session.scalars(select(RosterPerson.id_number).where(
            RosterPerson.region_code >= lo, RosterPerson.region_code < hi,
            RosterPerson.province_code == actor.region_code[:2], RosterPerson.id_number.in_(chunk))))
    return units, held, registered


def check_rows(session, actor, raw_rows: list[dict]):
    """Validate every row as the API would. Returns (valid [values], errors [dict])."""
    today = clock.today_cst()
    parsed_rows = []
    for raw in raw_rows:
        values, cell_errors = excel.parse_row(raw)
        values["id_number"] = (values.get("id_number") or "").upper()
        parsed_rows.append((raw["_row"], values, cell_errors))
    units, held, registered = _lookups(session, actor, {v.get("unit_code") or "" for _, v, _ in parsed_rows},
                                       {v["id_number"] for _, v, _ in parsed_rows if v["id_number"]})
    errors, valid, seen_ids, seen_units = [], [], {}, {}
    for number, values, cell_errors in parsed_rows:
        found = dict(cell_errors)
        for field, messages in validation.person_errors(values, today).items():
            found.setdefault(field, messages)
        for field, messages in validation.appointment_errors(values, today).items():
            found.setdefault(field, messages)
        code = values.get("unit_code") or ""
        if access.post_of(code) is None or code not in units or len(code) <= len(actor.region_code):
            found.setdefault("unit_code", [_l("须为本辖区内村（居）12位或乡镇（街道）9位代码")])
        elif units[code]:
            found.setdefault("unit_code", [_l("该单位已撤销")])
        elif code in held:
            found.setdefault("unit_code", [_l("该单位已有在任人员，请先登记其离任")])
        elif code in seen_units:
            found.setdefault("unit_code", [_l("与第%(row)s行单位重复", row=seen_units[code])])
        if "id_number" not in found:
            if values["id_number"] in registered:
                found["id_number"] = [_l("该身份证号已在本省名册登记")]
            elif values["id_number"] in seen_ids:
                found["id_number"] = [_l("与第%(row)s行身份证号重复", row=seen_ids[values["id_number"]])]
        if "unit_code" not in found:
            seen_units[code] = number
        if "id_number" not in found:
            seen_ids[values["id_number"]] = number
        if found:
            errors += [_error(number, f, m) for f, ms in found.items() for m in ms]
        else:
            valid.append(values)
    order = list(excel.FIELD_HEADER)
    errors.sort(key=lambda e: (e["row"], order.index(e["field"]) if e["field"] in order else 99))
    return valid, errors


def dry_run(session, actor, filename: str, content: bytes) -> RosterImport:
    """Read and check every row; store the upload with its error list. Nothing else is written."""
    access.require_manage(actor)
    try:
        raw_rows = excel.read_rows(content, MAX_ROWS)
    except excel.BadWorkbook as exc:
        raise ValidationFailed(exc.args[0], errors={"file": [exc.args[0]]}) from None
    valid, errors = check_rows(session, actor, raw_rows)
    now = clock.now()
    imp = RosterImport(region_code=actor.region_code, user_id=actor.id, filename=(filename or "")[:200],
                       status="validated", total_rows=len(raw_rows), error_count=len(errors),
                       valid_count=len(valid), applied_count=0, errors=errors, content=content, message="",
                       created_at=now, updated_at=now)
    session.add(imp)
    session.flush()
    return imp


def get_import(session, actor, import_id: int) -> RosterImport:
    imp = session.scalars(select(RosterImport).where(RosterImport.id == import_id)).first()
    if imp is None or imp.user_id != actor.id:
        raise NotFound(_l("没有该导入记录"))
    return imp


def confirm(session, actor, import_id: int) -> RosterImport:
    """Apply a validated import: the rows re-checked, the valid ones inserted at once. If anything changed since
    the dry run, nothing is written and the import fails with the new errors."""
    access.require_manage(actor)
    imp = get_import(session, actor, import_id)
    claimed = session.execute(update(RosterImport).where(RosterImport.id == imp.id,
                                                         RosterImport.status == "validated")
                              .values(status="applied", updated_at=clock.now())
                              .execution_options(synchronize_session=False))
    if claimed.rowcount != 1 or imp.valid_count == 0:
        raise Conflict(_l("该导入当前不能确认"), status_now=imp.status)
    valid, errors = check_rows(session, actor, excel.read_rows(imp.content, MAX_ROWS))
    if len(valid) != imp.valid_count or len(errors) != imp.error_count:
        session.execute(update(RosterImport).where(RosterImport.id == imp.id).values(
            status="failed", errors=errors, error_count=len(errors), valid_count=len(valid),
            message=both_languages(_l("数据在试运行后发生变化，未导入任何记录，请重新上传")))
            .execution_options(synchronize_session=False))
        session.refresh(imp)
        return imp
    try:
        with session.begin_nested():
            count = insert_roster(session, actor, valid)
    except IntegrityError:
        raise Conflict(_l("有身份证号或岗位已被他人登记，未导入任何记录，请重新上传")) from None
    session.execute(update(RosterImport).where(RosterImport.id == imp.id).values(applied_count=count)
                    .execution_options(synchronize_session=False))
    session.refresh(imp)
    return imp


def _ids(session, table: str, n: int) -> list[int]:
    return session.scalars(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                                "FROM generate_series(1, :n)"), {"n": n}).all()


def insert_roster(session, actor, rows: list[dict]) -> int:
    """Bulk insert of people and their appointments: ids drawn from the sequences, then two executemany
    INSERTs (pipelined on PostgreSQL), never an ORM flush per row."""
    if not rows:
        return 0
    now = clock.now()
    person_ids = _ids(session, "roster_people", len(rows))
    appointment_ids = _ids(session, "roster_appointments", len(rows))
    stamps = {"version": 1, "created_by_id": actor.id, "updated_by_id": actor.id, "created_at": now,
              "updated_at": now}
    people = [{"id": pid, "region_code": r["unit_code"], "province_code": r["unit_code"][:2], "name": r["name"],
               "sex": r["sex"], "id_number": r["id_number"], "phone": r["phone"],
               "qualifications": r.get("qualifications") or "", "user_id": None, **stamps}
              for pid, r in zip(person_ids, rows, strict=True)]
    appointments = [{"id": aid, "region_code": r["unit_code"], "province_code": r["unit_code"][:2], "person_id": pid,
                     "post": access.post_of(r["unit_code"]), "employment": r["employment"],
                     "other_post": r.get("other_post") or "", "appointed_on": r["appointed_on"], "left_on": None,
                     "leave_reason": "", **stamps}
                    for aid, pid, r in zip(appointment_ids, person_ids, rows, strict=True)]
    session.execute(RosterPerson.__table__.insert(), people)
    session.execute(Appointment.__table__.insert(), appointments)
    # The roster figures of the units filled (sync.roster_figures), as the ORM's writes would note them.
    from sync.outbox import record_bulk

    record_bulk(session, [r["unit_code"] for r in rows], "roster")
    return len(rows)
