"""Benchmark of child records at province scale: bulk generation and the first page of a county's list.

It writes and commits: run it on a dedicated database (SHOUHU_DATABASE_URL). It refuses a database holding
units of another province than the synthetic one unless told otherwise.

1. Loads the synthetic province (hierarchy.synthetic, ~52,000 villages from Shaoguan) unless it is there.
2. Times `generate_children` of N children spread over the province (one transaction, commit included).
3. Tops one county up to the target count with children concentrated there.
4. VACUUM ANALYZE as the tables' owner (what autovacuum does after a bulk load), when permitted.
5. Times the first page of that county's list through `services.list_children` (the API's query: count and
   first 50 rows, ordered) under the county's scope in a fresh session: median of several runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select, text

from hierarchy.codes import Level
from hierarchy.models import Unit
from hierarchy.scope import Scope, apply_db_scope, job_scope, scoped
from tenant_app.children import demo, services
from tenant_app.children.demo import generate_children
from tenant_app.children.models import Child

BUNDLED_REGIONS = Path(__file__).resolve().parent.parent.parent / "hierarchy" / "data"
PROVINCE = "41"


def _say(echo, key: str, value) -> None:
    echo(f"{key:<28} {value}")


def ensure_province(db, villages: int, echo=print) -> int:
    """Load the synthetic province unless present; return its number of active villages."""
    from hierarchy.loader import load_regions
    from hierarchy.synthetic import build_synthetic_province

    def count() -> int:
        with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            return connection.scalar(select(func.count()).select_from(Unit).where(
                Unit.level == int(Level.village), Unit.retired.is_(False),
                Unit.code >= PROVINCE, Unit.code < PROVINCE + ":"))

    present = count()
    if present:
        _say(echo, "synthetic province", f"{PROVINCE} already loaded ({present} villages)")
        return present
    with tempfile.TemporaryDirectory() as tmp:
        directory = build_synthetic_province(BUNDLED_REGIONS / "shaoguan", Path(tmp), villages_target=villages,
                                             province_code=PROVINCE)
        started = time.perf_counter()
        with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
            apply_db_scope(connection, scope)
            load_regions(connection, [directory])
        _say(echo, "synthetic province loaded", f"{time.perf_counter() - started:.1f} s")
    return count()


def children_in(db, code: str) -> int:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return connection.scalar(text("SELECT count(*) FROM children WHERE region_code >= :lo AND "
                                      "region_code < :hi"), {"lo": code, "hi": code + ":"})


def ensure_children(db, villages: int, children: int, seed: int = 2016, echo=print, say=_say) -> dict:
    """The synthetic province and at least `children` children in it, the missing ones generated set-based (then
    VACUUM ANALYZE): a rerun of a bench finds them. Returns {"villages", "children"}. `say(echo, key, value)`
    prints a line in the calling bench's layout."""
    figures = {"villages": ensure_province(db, villages, echo)}
    have = children_in(db, PROVINCE)
    if have < children:
        started = time.perf_counter()
        with db.engine.begin() as connection:
            generate_children(connection, children - have, PROVINCE, seed)
        say(echo, "generate children", f"{children - have:,} in {time.perf_counter() - started:.1f} s")
        _vacuum(db, echo)
    else:
        say(echo, "children", f"{have:,} already there")
    figures["children"] = children_in(db, PROVINCE)
    return figures


def _other_provinces(db) -> list[str]:
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return list(connection.scalars(select(Unit.code).where(Unit.level == int(Level.province),
                                                               Unit.code != PROVINCE)))


def _county_counts(db) -> list[tuple[str, int]]:
    """Children per county of the synthetic province, most first."""
    county = func.substr(Child.region_code, 1, 6)
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        return [tuple(r) for r in connection.execute(
            select(county, func.count()).where(Child.province_code == PROVINCE).group_by(county)
            .order_by(func.count().desc(), county))]


def _vacuum(db, echo) -> None:
    started = time.perf_counter()
    engine = db.owner_engine().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM (ANALYZE) children"))
        _say(echo, "vacuum analyze", f"{time.perf_counter() - started:.1f} s")
    except Exception as exc:  # noqa: BLE001 - only the owner may; autovacuum will do it later
        _say(echo, "vacuum analyze", f"skipped ({type(exc).__name__}: not the tables' owner?)")
    finally:
        engine.dispose()


def time_list_page(db, county: str, runs: int = 7, per_page: int = 50) -> dict:
    """Milliseconds for the first page of the county's list as the API makes it (query + items)."""
    actor = SimpleNamespace(id=None, region_code=county, role="staff")
    timings = []
    total = None
    for _ in range(runs + 1):
        started = time.perf_counter()
        with scoped(Scope.unit(county)):
            session = db.new_session()
            try:
                rows, total = services.list_children(session, actor, page=1, per_page=per_page, summary=True)
                [services.list_item(row) for row in rows]
            finally:
                session.rollback()
                session.close()
        timings.append((time.perf_counter() - started) * 1000)
    return {"first_ms": timings[0], "median_ms": statistics.median(timings[1:]), "max_ms": max(timings[1:]),
            "rows": len(rows), "total": total}


def bench_children(db, children: int = 1_000_000, county_children: int = 50_000, villages: int = 52_000,
                   seed: int = 2016, allow_other_data: bool = False, echo=print) -> dict:
    if db.engine.dialect.name != "postgresql":
        raise RuntimeError("bench children needs PostgreSQL")
    others = _other_provinces(db)
    if others and not allow_other_data:
        raise RuntimeError(f"this database holds other provinces ({', '.join(others[:5])}); the bench commits "
                           "1M+ rows: use a dedicated database or --allow-other-data")
    figures: dict = {}
    figures["villages"] = ensure_province(db, villages, echo)

    if children:
        started = time.perf_counter()
        with db.engine.begin() as connection:
            generate_children(connection, children, PROVINCE, seed)
        seconds = time.perf_counter() - started
        figures.update(generate_n=children, generate_s=round(seconds, 2), rows_per_s=round(children / seconds))
        _say(echo, "generate children", f"{children:,} in {seconds:.1f} s ({children / seconds:,.0f} rows/s)")
        stats = dict(demo.LAST_STATS)
        figures.update({f"generate_{k}": round(v, 1) for k, v in stats.items()})
        _say(echo, "  of which (s)", ", ".join(f"{k} {v:.1f}" for k, v in stats.items())
             + "  (wait: for rows from Python; copy: into the temporary table; insert: into children)")

    counts = _county_counts(db)
    county, have = counts[len(counts) // 2] if counts else (None, 0)
    if county is None:
        raise RuntimeError("no children in the synthetic province: run with --children > 0")
    best = max(counts, key=lambda c: c[1])
    if best[1] >= county_children:
        county, have = best
    extra = max(0, county_children - have)
    if extra:
        started = time.perf_counter()
        with db.engine.begin() as connection:
            generate_children(connection, extra, county, seed + 1)
        seconds = time.perf_counter() - started
        _say(echo, "county top-up", f"{extra:,} into {county} in {seconds:.1f} s")
    _vacuum(db, echo)

    page = time_list_page(db, county)
    figures.update(county=county, county_children=page["total"], list_first_ms=round(page["first_ms"], 1),
                   list_median_ms=round(page["median_ms"], 1), list_max_ms=round(page["max_ms"], 1))
    with db.engine.begin() as connection, job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        figures["province_children"] = connection.scalar(
            select(func.count()).select_from(Child).where(Child.province_code == PROVINCE))
    _say(echo, "children in province", f"{figures['province_children']:,}")
    _say(echo, "county list", f"{county}: {page['total']:,} children, first page {page['rows']} rows")
    _say(echo, "list page (ms)", f"median {page['median_ms']:.1f}, max {page['max_ms']:.1f}, "
                                  f"first (cold) {page['first_ms']:.1f}")
    return figures
