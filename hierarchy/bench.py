"""Benchmark of `load_regions`: wall-clock time and peak memory of loading one region directory.

Every measured load runs in its own transaction that is rolled back (unless `keep=True`), so the
target database is left as it was. Three runs:

1. a plain load, timed with `time.perf_counter` (no tracing overhead), with the growth of the process's
   peak resident set size (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) across it;
2. the same load under `tracemalloc`, giving the peak of memory allocated by Python during the load;
3. a reload of the same directory right after a load in one transaction: the idempotent path.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect

from hierarchy.loader import load_regions
from hierarchy.models import Unit
from hierarchy.scope import Scope, apply_db_scope


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # kilobytes on Linux


def _ensure_units_table(connection) -> None:
    if not inspect(connection).has_table(Unit.__tablename__):
        Unit.__table__.create(connection)
    # The loader writes every tenant's units: an operator's all-tenants scope (no-op off PostgreSQL).
    apply_db_scope(connection, Scope(all_tenants=True))


def bench_regions(database_url_or_engine: str | Engine, directory: Path, keep: bool = False) -> dict:
    """Measure `load_regions(connection, [directory])`; print and return the figures.

    With `keep=True` the first (timed) load is committed instead of rolled back.
    """
    directory = Path(directory)
    own_engine = not isinstance(database_url_or_engine, Engine)
    engine = create_engine(database_url_or_engine, hide_parameters=True) if own_engine else database_url_or_engine
    try:
        # Warm up the connection pool and imports outside the measurements.
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

        # 1. Wall clock and resident set size.
        gc.collect()
        rss_before = _maxrss_bytes()
        with engine.connect() as connection:
            transaction = connection.begin()
            _ensure_units_table(connection)
            started = time.perf_counter()
            report = load_regions(connection, [directory])
            load_seconds = time.perf_counter() - started
            rss_after = _maxrss_bytes()
            commit_started = time.perf_counter()
            if keep:
                transaction.commit()
            else:
                transaction.rollback()
            end_seconds = time.perf_counter() - commit_started

        # 2. Python allocations (tracemalloc slows the load down, so it is timed separately).
        gc.collect()
        with engine.connect() as connection, connection.begin() as transaction:
            _ensure_units_table(connection)
            tracemalloc.start()
            try:
                traced = load_regions(connection, [directory])
                _current, traced_peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            transaction.rollback()

        # 3. Idempotent reload.
        with engine.connect() as connection, connection.begin() as transaction:
            _ensure_units_table(connection)
            load_regions(connection, [directory])
            started = time.perf_counter()
            again = load_regions(connection, [directory])
            reload_seconds = time.perf_counter() - started
            transaction.rollback()
    finally:
        if own_engine:
            engine.dispose()

    totals = report.totals()
    figures = {
        "directory": str(directory),
        "backend": engine.dialect.name,
        "units_read": totals["read"],
        "units_inserted": totals["inserted"],
        "per_level_read": {level.name: n for level, n in report.read.items()},
        "load_seconds": round(load_seconds, 3),
        ("commit_seconds" if keep else "rollback_seconds"): round(end_seconds, 3),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
        "traced_load_seconds": round(traced.elapsed, 3),
        "maxrss_before_mb": round(rss_before / 2**20, 1),
        "maxrss_after_mb": round(rss_after / 2**20, 1),
        "maxrss_delta_mb": round((rss_after - rss_before) / 2**20, 1),
        "reload_seconds": round(reload_seconds, 3),
        "reload_changes": again.changed,
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return figures
