"""hierarchy.loader on PostgreSQL and SQLite, with the shared Shaoguan and Liesan trees."""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hierarchy.codes import Level
from hierarchy.loader import LEVEL_FILES, RegionLoadError, load_regions
from hierarchy.models import Base, Unit
from hierarchy.synthetic import build_synthetic_province

POSTGRES_ADMIN_URL = os.environ.get(
    "SHOUHU_TEST_PG_URL", "postgresql+psycopg://postgres@localhost/postgres"
)
# The official Shaoguan and Liesan CSVs ship with the package (hierarchy/data).
SHARED_REGIONS = Path(
    os.environ.get("SHOUHU_SHARED_REGIONS") or Path(__file__).resolve().parents[1] / "hierarchy" / "data"
)
SHAOGUAN = SHARED_REGIONS / "shaoguan"
LIESAN = SHARED_REGIONS / "liesan"

EXPECTED = {
    "shaoguan": {
        Level.province: 1,
        Level.city: 1,
        Level.county: 10,
        Level.township: 112,
        Level.village: 1468,
    },
    "liesan": {Level.province: 1, Level.city: 1, Level.county: 1, Level.township: 8, Level.village: 64},
}
units = Unit.__table__


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_engine():
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shouhu_test_loader_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {exc}", pytrace=False)
    engine = create_engine(make_url(POSTGRES_ADMIN_URL).set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, tmp_path):
    if request.param == "postgresql":
        engine = request.getfixturevalue("postgres_engine")
        Base.metadata.drop_all(engine, tables=[units])
        Base.metadata.create_all(engine, tables=[units])
        yield engine
        Base.metadata.drop_all(engine, tables=[units])
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'units.db'}")
        Base.metadata.create_all(engine, tables=[units])
        yield engine
        engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def shared_regions_present():
    if not (SHAOGUAN / "villages.csv").is_file() or not (LIESAN / "villages.csv").is_file():
        pytest.fail(
            f"shared region data not found under {SHARED_REGIONS}; set SHOUHU_SHARED_REGIONS", pytrace=False
        )


# --- helpers ----------------------------------------------------------------------------------------


def load(engine, *directories):
    with engine.begin() as connection:
        return load_regions(connection, list(directories))


def snapshot(engine) -> dict[str, tuple]:
    with engine.connect() as connection:
        return {row.code: tuple(row) for row in connection.execute(select(units).order_by(units.c.code))}


def level_counts(engine, prefix: str = "", retired: bool | None = False) -> dict[Level, int]:
    query = select(units.c.level, units.c.code, units.c.retired).where(units.c.code.startswith(prefix))
    counts = {level: 0 for level in Level}
    with engine.connect() as connection:
        for level, _code, is_retired in connection.execute(query):
            if retired is None or bool(is_retired) == retired:
                counts[Level(level)] += 1
    return counts


def csv_row_counts(directory: Path) -> dict[Level, int]:
    counts = {}
    for spec in LEVEL_FILES:
        with (directory / spec.filename).open(encoding="utf-8-sig", newline="") as fh:
            counts[spec.level] = sum(1 for _ in csv.DictReader(fh))
    return counts


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, list(reader)


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def get_unit(engine, code: str):
    with engine.connect() as connection:
        return connection.execute(select(units).where(units.c.code == code)).one_or_none()


# --- tests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tree", ["shaoguan", "liesan"])
def test_counts_per_level(engine, tree):
    directory = SHARED_REGIONS / tree
    assert csv_row_counts(directory) == EXPECTED[tree]
    report = load(engine, directory)
    assert report.read == EXPECTED[tree]
    assert report.inserted == EXPECTED[tree]
    assert sum(report.renamed.values()) == sum(report.retired.values()) == sum(report.revived.values()) == 0
    assert level_counts(engine, retired=None) == EXPECTED[tree]
    with engine.connect() as connection:
        rows = connection.execute(select(units)).all()
    for row in rows:
        assert row.level == {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}[len(row.code)]
        assert row.parent_code == (
            None if row.level == 1 else row.code[: {2: 2, 3: 4, 4: 6, 5: 9}[row.level]]
        )
        assert row.retired is False and row.retired_at is None
        assert row.created_at.tzinfo is not None and row.updated_at.tzinfo is not None


def test_idempotent_reload(engine):
    load(engine, SHAOGUAN)
    before = snapshot(engine)
    report = load(engine, SHAOGUAN)
    assert report.changed == 0
    assert report.read == EXPECTED["shaoguan"]
    assert snapshot(engine) == before  # updated_at untouched too


def test_rename_retire_revive(engine, tmp_path):
    load(engine, SHAOGUAN)
    header, villages = read_rows(SHAOGUAN / "villages.csv")
    renamed_code, dropped_code = villages[0][0], villages[1][0]
    original = get_unit(engine, renamed_code)
    dropped_name = villages[1][1]

    modified = copy_tree(SHAOGUAN, tmp_path / "modified")
    changed = [list(row) for row in villages]
    changed[0][1] = "改名后村民委员会"
    del changed[1]
    write_rows(modified / "villages.csv", header, changed)

    report = load(engine, modified)
    assert report.renamed == {**dict.fromkeys(Level, 0), Level.village: 1}
    assert report.retired == {**dict.fromkeys(Level, 0), Level.village: 1}
    assert sum(report.inserted.values()) == sum(report.revived.values()) == 0

    unit = get_unit(engine, renamed_code)
    assert unit.name == "改名后村民委员会"
    assert unit.updated_at > original.updated_at
    assert unit.created_at == original.created_at

    gone = get_unit(engine, dropped_code)
    assert gone is not None, "a retired unit keeps its row"
    assert gone.retired is True and gone.retired_at is not None
    assert gone.name == dropped_name
    assert level_counts(engine, retired=None) == EXPECTED["shaoguan"]

    # Retiring again is a no-op.
    assert load(engine, modified).changed == 0

    # Put it back: revived.
    report = load(engine, SHAOGUAN)
    assert report.revived == {**dict.fromkeys(Level, 0), Level.village: 1}
    assert report.renamed[Level.village] == 1  # the first village gets its old name back
    assert sum(report.inserted.values()) == sum(report.retired.values()) == 0
    back = get_unit(engine, dropped_code)
    assert back.retired is False and back.retired_at is None
    assert level_counts(engine) == EXPECTED["shaoguan"]


def test_bad_code_length_refused(engine, tmp_path):
    load(engine, LIESAN)
    before = snapshot(engine)
    bad = copy_tree(SHAOGUAN, tmp_path / "bad")
    header, rows = read_rows(bad / "streets.csv")
    rows[4][0] = rows[4][0] + "7"  # 10 digits in the township file: line 6 (header is line 1)
    rows[9][0] = "44020A001"  # non-digits: line 11
    write_rows(bad / "streets.csv", header, rows)

    with pytest.raises(RegionLoadError) as caught:
        load(engine, bad)
    message = str(caught.value)
    assert f"{bad / 'streets.csv'}:6:" in message
    assert f"{bad / 'streets.csv'}:11:" in message
    assert "township" in message and "9 digits" in message
    assert snapshot(engine) == before


def test_missing_parent_refused(engine, tmp_path):
    bad = copy_tree(SHAOGUAN, tmp_path / "orphan")
    header, rows = read_rows(bad / "streets.csv")
    orphan_parent = rows[0][2]
    # Drop the county of the first townships: they (and their villages) lose their parent.
    area_header, areas = read_rows(bad / "areas.csv")
    write_rows(bad / "areas.csv", area_header, [a for a in areas if a[0] != orphan_parent])

    with pytest.raises(RegionLoadError) as caught:
        load(engine, bad)
    message = str(caught.value)
    assert f"{bad / 'streets.csv'}:2: code {rows[0][0]}: parent {orphan_parent}" in message
    assert len(caught.value.errors) >= 1
    assert snapshot(engine) == {}

    # Prefix and parent column must agree too.
    bad2 = copy_tree(SHAOGUAN, tmp_path / "mismatch")
    header, villages = read_rows(bad2 / "villages.csv")
    villages[2][2] = villages[2][2][:-1] + ("9" if villages[2][2][-1] != "9" else "8")
    write_rows(bad2 / "villages.csv", header, villages)
    with pytest.raises(RegionLoadError) as caught:
        load(engine, bad2)
    assert f"{bad2 / 'villages.csv'}:4:" in str(caught.value)
    assert "not its prefix" in str(caught.value)
    assert snapshot(engine) == {}


def test_parent_may_come_from_existing_units(engine, tmp_path):
    load(engine, SHAOGUAN)
    extra = tmp_path / "extra"
    extra.mkdir()
    header, villages = read_rows(SHAOGUAN / "villages.csv")
    township = villages[0][2]
    new_code = township + "999"
    write_rows(extra / "villages.csv", header, [[new_code, "新增村民委员会", *villages[0][2:]]])
    report = load(engine, extra)  # no provinces.csv: additive, retires nothing
    assert report.inserted[Level.village] == 1
    assert sum(report.retired.values()) == 0
    assert get_unit(engine, new_code).parent_code == township
    assert level_counts(engine)[Level.village] == EXPECTED["shaoguan"][Level.village] + 1


def test_two_provinces_side_by_side(engine, tmp_path):
    report = load(engine, SHAOGUAN, LIESAN)
    both = {level: EXPECTED["shaoguan"][level] + EXPECTED["liesan"][level] for level in Level}
    assert report.inserted == both
    assert level_counts(engine) == both
    assert load(engine, LIESAN).changed == 0  # loading one alone does not retire the other
    assert load(engine, SHAOGUAN).changed == 0

    # Liesan loses a township (and its villages): only Liesan units retire.
    shrunk = copy_tree(LIESAN, tmp_path / "liesan")
    header, streets = read_rows(shrunk / "streets.csv")
    dropped = streets[-1][0]
    write_rows(shrunk / "streets.csv", header, streets[:-1])
    v_header, villages = read_rows(shrunk / "villages.csv")
    kept = [v for v in villages if v[2] != dropped]
    write_rows(shrunk / "villages.csv", v_header, kept)
    report = load(engine, shrunk)
    assert report.retired[Level.township] == 1
    assert report.retired[Level.village] == len(villages) - len(kept) > 0
    assert level_counts(engine, "44") == EXPECTED["shaoguan"]
    assert level_counts(engine, "44", retired=True) == dict.fromkeys(Level, 0)
    assert level_counts(engine, "34", retired=True)[Level.township] == 1

    # Separate runs into one database work the same way.
    assert load(engine, LIESAN).revived[Level.township] == 1
    assert level_counts(engine) == both


def test_pseudo_levels(engine, tmp_path):
    tree = tmp_path / "pseudo"
    tree.mkdir()
    write_rows(tree / "provinces.csv", ["code", "name"], [["44", "广东省"], ["41", "河南省"]])
    write_rows(
        tree / "cities.csv",
        ["code", "name", "provinceCode"],
        [["4419", "东莞市", "44"], ["4190", "省直辖县级行政区划", "41"]],
    )
    write_rows(
        tree / "areas.csv",
        ["code", "name", "cityCode", "provinceCode"],
        [["441900", "东莞市", "4419", "44"], ["419001", "济源市", "4190", "41"]],
    )
    write_rows(
        tree / "streets.csv",
        ["code", "name", "areaCode", "provinceCode", "cityCode"],
        [
            ["441900003", "东城街道", "441900", "44", "4419"],
            ["419001001", "沁园街道", "419001", "41", "4190"],
        ],
    )
    write_rows(
        tree / "villages.csv",
        ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
        [
            ["441900003001", "东城社区居民委员会", "441900003", "44", "4419", "441900"],
            ["419001001001", "沁园社区居民委员会", "419001001", "41", "4190", "419001"],
        ],
    )
    report = load(engine, tree)
    assert report.inserted == dict.fromkeys(Level, 2)
    dongguan_city, dongguan_county = get_unit(engine, "4419"), get_unit(engine, "441900")
    assert dongguan_city.name == dongguan_county.name == "东莞市"
    assert (dongguan_city.level, dongguan_county.level) == (Level.city, Level.county)
    assert dongguan_county.parent_code == "4419"
    assert get_unit(engine, "4190").name == "省直辖县级行政区划"
    assert get_unit(engine, "419001").parent_code == "4190"
    assert load(engine, tree).changed == 0


def test_synthetic_province_loads(engine, tmp_path):
    directory = build_synthetic_province(SHAOGUAN, tmp_path / "synthetic", villages_target=3000)
    counts = csv_row_counts(directory)
    assert counts[Level.village] == 3000 and counts[Level.province] == 1
    report = load(engine, directory)
    assert report.inserted == counts
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM units WHERE code LIKE '41%'")).scalar() == sum(
            counts.values()
        )
