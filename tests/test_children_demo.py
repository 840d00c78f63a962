"""Synthetic child records: valid, unique, consistent with the rules, in active villages, with the intended mix."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import create_engine, func, select, text

from hierarchy.codes import Level
from hierarchy.models import Unit
from hierarchy.scope import Scope, apply_db_scope, scoped
from tenant_app.children import idcard
from tenant_app.children.demo import COLUMNS, generate_children
from tenant_app.children.models import Child
from tenant_app.children.validation import age_on, derive, today_cst, validate_child

CITY = "4402"  # Shaoguan: 10 counties, ~1,470 villages
N = 2000
REGIONS = __import__("pathlib").Path(__file__).resolve().parent.parent / "hierarchy" / "data"


def _rows(connection, unit: str) -> list[dict]:
    with connection.begin_nested():
        apply_db_scope(connection, Scope(all_tenants=True))
        rows = connection.execute(select(Child.__table__).where(Child.region_code >= unit,
                                                                Child.region_code < unit + ":"))
        return [dict(row._mapping) for row in rows]


def _active_villages(connection, unit: str) -> set[str]:
    with connection.begin_nested():
        apply_db_scope(connection, Scope(all_tenants=True))
        return set(connection.scalars(select(Unit.code).where(
            Unit.level == int(Level.village), Unit.retired.is_(False), Unit.code >= unit, Unit.code < unit + ":")))


def check_rows(rows: list[dict], villages: set[str], ref: date) -> None:
    """Everything that must hold for every generated row (both backends)."""
    numbers = [r["id_number"] for r in rows if r["id_number"] is not None]
    assert len(numbers) == len(set(numbers)), "ID numbers must be unique"
    assert len(numbers) >= len(rows) * 0.99
    for r in rows:
        assert r["region_code"] in villages
        assert r["province_code"] == r["region_code"][:2]
        assert 0 <= age_on(r["birth_date"], ref) <= 15
        number = r["id_number"]
        if number is None:
            assert r["hukou_registered"] is False or r["hukou_registered"] == 0
            continue
        assert idcard.id_number_problems(number, legacy_allowed=False, today=ref) == []
        assert number[:6] == r["region_code"][:6]
        assert idcard.birth_date_of(number) == r["birth_date"]
        assert idcard.sex_of(number) == r["sex"]
        for who in ("father", "mother", "guardian"):
            adult = r[f"{who}_id_number"]
            if adult:
                assert idcard.id_number_problems(adult, legacy_allowed=True, today=ref) == []
        assert r["status"] == "active" and r["version"] == 1
        assert r["created_at"] is not None and r["updated_at"] is not None


def check_rules(rows: list[dict], ref: date, sample: int = 500) -> None:
    """The children validation accepts the rows, and their derived values are what derive() gives."""
    for r in rows[:sample]:
        data = dict(r)
        assert validate_child(data, ref) == {}, (validate_child(data, ref), data)
        for key, value in derive(data).items():
            assert data[key] == value, (key, data)
        if r["unattended"]:
            assert r["risk_level"] == "high" and r["guardianship_type"] == "unattended"
        if r["is_in_difficulty"]:
            assert r["difficulty_subcategory"]


def check_mix(rows: list[dict]) -> None:
    n = len(rows)
    share = lambda key: sum(1 for r in rows if r[key]) / n  # noqa: E731
    assert 0.70 <= share("is_left_behind") <= 0.90
    assert 0.10 <= share("is_in_difficulty") <= 0.30
    assert 0.01 <= share("is_de_facto_unsupported") <= 0.06
    assert 0.001 <= share("unattended") <= 0.04
    males = sum(1 for r in rows if r["sex"] == "male") / n
    assert 0.47 <= males <= 0.57
    ages = Counter(age_on(r["birth_date"], today_cst()) for r in rows)
    assert set(ages) == set(range(16))
    risks = Counter(r["risk_level"] for r in rows)
    assert risks["low"] > risks["medium"] > risks["high"] > 0
    assert len({r["region_code"] for r in rows}) > 0.5 * min(n, 1000)


def test_generate_in_postgresql(db_connection):
    ref = today_cst()
    before = len(_rows(db_connection, CITY))
    assert generate_children(db_connection, N, CITY, seed=7) == N
    rows = _rows(db_connection, CITY)
    assert len(rows) == before + N
    check_rows(rows, _active_villages(db_connection, CITY), ref)
    check_rules(rows, ref)
    check_mix(rows)
    # Nothing outside the unit.
    with db_connection.begin_nested():
        apply_db_scope(db_connection, Scope(all_tenants=True))
        outside = db_connection.scalar(select(func.count()).select_from(Child).where(
            (Child.region_code < CITY) | (Child.region_code >= CITY + ":")))
    assert outside == 0


def test_a_second_run_keeps_id_numbers_unique_and_restores_the_scope(db_connection):
    village = sorted(_active_villages(db_connection, "440203"))[0]
    with scoped(Scope.unit("440203")), db_connection.begin_nested():
        apply_db_scope(db_connection, Scope.unit("440203"))
        generate_children(db_connection, 300, village, seed=1)
        # The same seed again: the sequence numbers continue after those stored (the unique key holds).
        generate_children(db_connection, 300, village, seed=1)
        assert db_connection.scalar(text("SELECT current_setting('app.scope', true)")) == "440203"
        counts = db_connection.execute(text(
            "SELECT count(*), count(DISTINCT id_number), count(DISTINCT region_code) FROM children")).one()
    assert counts[0] == 600 and counts[1] >= 594 and counts[2] == 1


def test_the_list_query_sees_the_generated_children(db_connection):
    from types import SimpleNamespace

    from tenant_app.children import services
    from tenant_app.db import db

    generate_children(db_connection, 200, "440203", seed=3)
    actor = SimpleNamespace(id=None, region_code="440203", role="staff")
    with scoped(Scope.unit("440203")):
        session = db.new_session()
        rows, total = services.list_children(session, actor, page=1, per_page=50)
        session.close()
    assert total >= 200 and len(rows) == 50
    assert all(r.region_code.startswith("440203") for r in rows)


def test_refuses_an_invalid_or_empty_unit(db_connection):
    with pytest.raises(ValueError):
        generate_children(db_connection, 10, "4402x")
    with pytest.raises(ValueError, match="no active villages"):
        generate_children(db_connection, 10, "459999")
    assert generate_children(db_connection, 0, CITY) == 0


def test_columns_cover_the_model():
    # The confirmation's signing day is recorded once the paper is signed (tenant_app.printing.confirmation),
    # never generated: new records have none.
    assert set(COLUMNS) == {c.name for c in Child.__table__.columns} - {"id", "guardianship_confirmed_on"}


def test_generate_in_sqlite(tmp_path):
    from hierarchy.loader import load_regions
    from tenant_app.migrate import upgrade

    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    upgrade(url)
    engine = create_engine(url)
    ref = today_cst()
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            load_regions(connection, [REGIONS / "shaoguan"])
            assert generate_children(connection, 600, "440203", seed=11) == 600
            assert generate_children(connection, 100, "440203", seed=11) == 100
        with engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(select(Child.__table__))]
            villages = {code for code in connection.scalars(select(Unit.code).where(
                Unit.level == 5, Unit.retired.is_(False), Unit.code.like("440203%")))}
        assert len(rows) == 700
        check_rows(rows, villages, ref)
        check_rules(rows, ref)
        assert isinstance(rows[0]["income_sources"], list)
    finally:
        engine.dispose()
