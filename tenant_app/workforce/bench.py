"""Benchmark of the roster at province scale (PostgreSQL), on a dedicated database.

1. Loads the synthetic province 41 (~52,000 villages, hierarchy.synthetic) unless present.
2. Writes a workbook of N people (default 56,000): a children's director for every village and a supervisor for
   every township, in code order, until N rows.
3. Times the import as a province's staff user does it: the dry run (read the workbook, check every row with
   set-based look-ups, store the import and its errors) and the confirmation (read and check again, then two
   executemany INSERTs of people and appointments, one transaction), each under the province's scope.
4. Times the province's roster summary and the first page of its vacancies.
Everything it creates (the bench user, the import, the people and their appointments) is removed at the end, as
the tables' owner; the synthetic province stays.
"""

from __future__ import annotations

import io
import time
import uuid
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select, text

from hierarchy.codes import Level
from hierarchy.models import Unit
from hierarchy.scope import job_scope
from tenant_app.children.bench import PROVINCE, ensure_province
from tenant_app.children.idcard import check_char
from tenant_app.workforce import excel, imports, units, vacancies


def _say(echo, key: str, value) -> None:
    echo(f"{key:<34} {value}")


def _workbook(codes: list[str]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名册")
    ws.append(excel.HEADERS)
    first = date(1970, 1, 1)
    for i, code in enumerate(codes):
        born = first + timedelta(days=i % 9000)
        male = i % 2 == 0
        seq = (i // 9000) * 2 + (1 if male else 0)
        first17 = PROVINCE + "0102" + born.strftime("%Y%m%d") + f"{seq:03d}"
        ws.append([code, f"人员{i}", "男" if male else "女", first17 + check_char(first17), "13800000000",
                   "兼职" if i % 3 else "专职", "村委委员" if i % 3 else "", "2025-01-01", ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cleanup(db, user_id: int | None) -> None:
    engine = db.owner_engine()
    try:
        with engine.begin() as connection:
            lo, hi = PROVINCE, PROVINCE + ":"
            connection.execute(text("DELETE FROM roster_covers WHERE region_code >= :lo AND region_code < :hi"),
                               {"lo": lo, "hi": hi})
            connection.execute(text("DELETE FROM roster_appointments WHERE region_code >= :lo AND region_code < :hi"),
                               {"lo": lo, "hi": hi})
            connection.execute(text("DELETE FROM roster_reads WHERE region_code >= :lo AND region_code < :hi"),
                               {"lo": lo, "hi": hi})
            connection.execute(text("DELETE FROM roster_people WHERE region_code >= :lo AND region_code < :hi"),
                               {"lo": lo, "hi": hi})
            if user_id is not None:
                connection.execute(text("DELETE FROM roster_imports WHERE user_id = :u"), {"u": user_id})
                connection.execute(text("DELETE FROM api_tokens WHERE user_id = :u"), {"u": user_id})
                connection.execute(text("DELETE FROM users WHERE id = :u"), {"u": user_id})
    finally:
        engine.dispose()


def bench_workforce(db, *, people: int = 56_000, villages: int = 52_000, echo=print) -> dict:
    from tenant_app.auth.models import User

    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("the roster bench needs PostgreSQL")
    ensure_province(db, villages, echo)
    _cleanup(db, None)  # a run interrupted before its end left its people behind
    with job_scope(all_tenants=True), db.session_scope() as session:
        codes = session.scalars(select(Unit.code).where(
            Unit.code >= PROVINCE, Unit.code < PROVINCE + ":", Unit.retired.is_(False),
            Unit.level.in_([int(Level.village), int(Level.township)])).order_by(Unit.code).limit(people)).all()
        user = User(region_code=PROVINCE, username=f"bench_roster_{uuid.uuid4().hex[:8]}", role="staff",
                    password_hash="!", real_name="名册基准", phone="13800000000")
        session.add(user)
        session.flush()
        user_id = user.id
    report: dict = {}
    try:
        started = time.perf_counter()
        content = _workbook(codes)
        _say(echo, "workbook", f"{len(codes):,} rows, {len(content) / 1e6:.1f} MB in "
                               f"{time.perf_counter() - started:.1f} s (not timed below)")
        with job_scope(PROVINCE):
            started = time.perf_counter()
            with db.session_scope() as session:
                imp = imports.dry_run(session, session.get(User, user_id), "bench.xlsx", content)
                imp_id, valid, errors = imp.id, imp.valid_count, imp.error_count
            report["dry_run_s"] = time.perf_counter() - started
            _say(echo, "dry run", f"{report['dry_run_s']:.1f} s ({valid:,} valid, {errors:,} errors)")
            started = time.perf_counter()
            with db.session_scope() as session:
                imp = imports.confirm(session, session.get(User, user_id), imp_id)
                applied = imp.applied_count
            report["apply_s"] = time.perf_counter() - started
            _say(echo, "confirm (check again + insert)", f"{report['apply_s']:.1f} s ({applied:,} people)")
            report["import_s"] = report["dry_run_s"] + report["apply_s"]
            _say(echo, "roster import total", f"{report['import_s']:.1f} s for {applied:,} people (limit 60 s)")
            with db.session_scope() as session:
                actor = session.get(User, user_id)
                counted = session.scalar(select(func.count()).select_from(text("roster_appointments")))
                started = time.perf_counter()
                summary = units.summary(session, actor, PROVINCE)
                report["summary_ms"] = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                _, vacant = vacancies.list_vacancies(session, actor, per_page=50)
                report["vacancies_ms"] = (time.perf_counter() - started) * 1000
            _say(echo, "appointments in the province", f"{counted:,}")
            _say(echo, "province summary", f"{report['summary_ms']:.0f} ms (directors {summary['director']})")
            _say(echo, "province vacancies, first page", f"{report['vacancies_ms']:.0f} ms ({vacant:,} vacant)")
    finally:
        _cleanup(db, user_id)
    return report
