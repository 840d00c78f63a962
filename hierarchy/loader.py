"""Load official division CSVs (统计用区划代码) into the `units` table, set-based and idempotent.

A region directory holds up to five files, one per level::

    provinces.csv  code,name
    cities.csv     code,name,provinceCode
    areas.csv      code,name,cityCode,provinceCode                      (counties)
    streets.csv    code,name,areaCode,provinceCode,cityCode             (townships)
    villages.csv   code,name,streetCode,provinceCode,cityCode,areaCode

`load_regions` reads every row of every directory into memory and validates it (code length and
digits for the file's level, parent column equal to the code's prefix, parent present in this run
or already active in the table, no conflicting duplicates). Only when nothing is wrong does it
write: the rows go into a temporary staging table (COPY on PostgreSQL with psycopg, executemany
elsewhere) and a handful of set-based statements apply them:

* insert units that are new;
* rename units whose name changed;
* revive retired units that reappear;
* retire every active unit of a province listed in this run's provinces.csv whose code is absent
  from the run's files.

Nothing is ever deleted. Loading the same files twice changes nothing (not even `updated_at`).
A directory without province rows is an additive load: it never retires anything.
"""

from __future__ import annotations

import csv
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    SmallInteger,
    String,
    Table,
    and_,
    any_,
    exists,
    false,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    update,
)

from hierarchy.citus_schema import is_citus
from hierarchy.codes import CODE_LENGTHS, Level
from hierarchy.models import Unit, code_column_type, utcnow

MAX_ERRORS = 50
NAME_MAX_LENGTH = 100


@dataclass(frozen=True)
class LevelFile:
    level: Level
    filename: str
    parent_column: str | None
    # Columns naming an ancestor by code: each must be the matching prefix of the row's code.
    ancestor_columns: tuple[str, ...]


LEVEL_FILES: tuple[LevelFile, ...] = (
    LevelFile(Level.province, "provinces.csv", None, ()),
    LevelFile(Level.city, "cities.csv", "provinceCode", ("provinceCode",)),
    LevelFile(Level.county, "areas.csv", "cityCode", ("provinceCode", "cityCode")),
    LevelFile(Level.township, "streets.csv", "areaCode", ("provinceCode", "cityCode", "areaCode")),
    LevelFile(
        Level.village, "villages.csv", "streetCode", ("provinceCode", "cityCode", "areaCode", "streetCode")
    ),
)
_ANCESTOR_LENGTHS = {
    "provinceCode": CODE_LENGTHS[Level.province],
    "cityCode": CODE_LENGTHS[Level.city],
    "areaCode": CODE_LENGTHS[Level.county],
    "streetCode": CODE_LENGTHS[Level.township],
}


class RegionLoadError(ValueError):
    """The region files were refused; nothing was written. `errors` lists "path:line: problem"."""

    def __init__(self, errors: Sequence[str], total: int | None = None):
        self.errors = list(errors)
        self.total = total if total is not None else len(self.errors)
        lines = [f"region files refused ({self.total} problem{'s' if self.total != 1 else ''}):"]
        lines += [f"  {e}" for e in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  ... and {self.total - len(self.errors)} more")
        super().__init__("\n".join(lines))


def _zero_counts() -> dict[Level, int]:
    return {level: 0 for level in Level}


@dataclass
class LoadReport:
    """Per-level counts of one `load_regions` run."""

    directories: list[Path] = field(default_factory=list)
    provinces: list[str] = field(default_factory=list)  # provinces whose absent units were retired
    touched: list[str] = field(default_factory=list)  # the provinces (2-digit codes) the run's rows belong to
    read: dict[Level, int] = field(default_factory=_zero_counts)
    inserted: dict[Level, int] = field(default_factory=_zero_counts)
    renamed: dict[Level, int] = field(default_factory=_zero_counts)
    retired: dict[Level, int] = field(default_factory=_zero_counts)
    revived: dict[Level, int] = field(default_factory=_zero_counts)
    elapsed: float = 0.0

    @property
    def changed(self) -> int:
        return sum(
            sum(counts.values()) for counts in (self.inserted, self.renamed, self.retired, self.revived)
        )

    def totals(self) -> dict[str, int]:
        return {
            kind: sum(getattr(self, kind).values())
            for kind in ("read", "inserted", "renamed", "retired", "revived")
        }

    def as_dict(self) -> dict:
        return {
            "directories": [str(d) for d in self.directories],
            "provinces": list(self.provinces),
            **{
                kind: {level.name: n for level, n in getattr(self, kind).items()}
                for kind in ("read", "inserted", "renamed", "retired", "revived")
            },
            "elapsed": self.elapsed,
        }

    def __str__(self) -> str:
        kinds = ("read", "inserted", "renamed", "retired", "revived")
        rows = [f"{'level':<10}" + "".join(f"{k:>10}" for k in kinds)]
        for level in Level:
            rows.append(f"{level.name:<10}" + "".join(f"{getattr(self, k)[level]:>10}" for k in kinds))
        totals = self.totals()
        rows.append(f"{'total':<10}" + "".join(f"{totals[k]:>10}" for k in kinds))
        rows.append(f"elapsed {self.elapsed:.3f} s")
        return "\n".join(rows)


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.total = 0

    def add(self, path: Path, line: int, problem: str) -> None:
        self.total += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(f"{path}:{line}: {problem}")

    def __bool__(self) -> bool:
        return self.total > 0


# A validated row: code, name, level, parent code, file index, line number.
_Row = tuple[str, str, int, str | None, int, int]


def _read_file(
    path: Path, spec: LevelFile, file_index: int, errors: _Errors, rows: dict[str, _Row], sources: list[Path]
) -> int:
    """Validate one CSV file into `rows` (keyed by code); return the number of data rows read."""
    level = spec.level
    length = CODE_LENGTHS[level]
    parent_length = CODE_LENGTHS[Level(level - 1)] if level > Level.province else 0
    read = 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            errors.add(path, 1, "empty file (no header)")
            return 0
        header = [h.strip() for h in header]
        required = ["code", "name", *spec.ancestor_columns]
        missing = [c for c in required if c not in header]
        if missing:
            errors.add(path, 1, f"header lacks column(s) {', '.join(missing)}")
            return 0
        i_code, i_name = header.index("code"), header.index("name")
        i_parent = header.index(spec.parent_column) if spec.parent_column else -1
        others = [
            (column, header.index(column), _ANCESTOR_LENGTHS[column])
            for column in spec.ancestor_columns
            if column != spec.parent_column
        ]
        width = len(header)
        for line, record in enumerate(reader, start=2):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            read += 1
            if len(record) < width:
                errors.add(path, line, f"expected {width} fields, found {len(record)}")
                continue
            code = record[i_code].strip()
            name = record[i_name].strip()
            if len(code) != length or not code.isascii() or not code.isdigit():
                errors.add(
                    path, line, f"code {code!r} does not fit level {level.name} ({length} digits expected)"
                )
                continue
            if not name:
                errors.add(path, line, f"code {code}: empty name")
                continue
            if len(name) > NAME_MAX_LENGTH:
                errors.add(path, line, f"code {code}: name longer than {NAME_MAX_LENGTH} characters")
                continue
            parent = None
            if i_parent >= 0:
                parent = record[i_parent].strip()
                if parent != code[:parent_length]:
                    errors.add(
                        path,
                        line,
                        f"code {code}: parent {spec.parent_column} {parent!r} is not its prefix "
                        f"{code[:parent_length]!r}",
                    )
                    continue
            bad = False
            for column, index, prefix_length in others:
                value = record[index].strip()
                if value != code[:prefix_length]:
                    errors.add(
                        path,
                        line,
                        f"code {code}: {column} {value!r} is not its prefix {code[:prefix_length]!r}",
                    )
                    bad = True
                    break
            if bad:
                continue
            previous = rows.get(code)
            if previous is not None:
                if previous[1] != name:
                    errors.add(
                        path,
                        line,
                        f"code {code} already given as {previous[1]!r} at "
                        f"{sources[previous[4]]}:{previous[5]} (now {name!r})",
                    )
                continue  # an identical repeat (e.g. the same province in two directories) is harmless
            rows[code] = (code, name, int(level), parent, file_index, line)
    return read


def _read_directories(directories: Sequence[Path], report: LoadReport, errors: _Errors):
    rows: dict[str, _Row] = {}
    sources: list[Path] = []
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            errors.add(directory, 0, "not a directory")
            continue
        found = False
        for spec in LEVEL_FILES:
            path = directory / spec.filename
            if not path.is_file():
                continue
            found = True
            sources.append(path)
            report.read[spec.level] += _read_file(path, spec, len(sources) - 1, errors, rows, sources)
        if not found:
            errors.add(directory, 0, f"no region files ({', '.join(s.filename for s in LEVEL_FILES)})")
    return rows, sources


def _chunks(items: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_parents(
    connection: Connection,
    rows: dict[str, _Row],
    sources: list[Path],
    provinces: set[str],
    errors: _Errors,
) -> None:
    """A parent must be in this run's files, or be an active unit that this run will not retire."""
    missing: dict[str, list[_Row]] = {}
    for row in rows.values():
        parent = row[3]
        if parent is not None and parent not in rows:
            missing.setdefault(parent, []).append(row)
    if not missing:
        return
    units = Unit.__table__
    found: set[str] = set()
    for chunk in _chunks(sorted(missing)):
        found.update(
            connection.execute(
                select(units.c.code).where(units.c.code.in_(chunk), not_(units.c.retired))
            ).scalars()
        )
    for parent in sorted(missing):
        # An existing parent of a province loaded in this run would itself be retired by this run.
        if parent in found and parent[:2] not in provinces:
            continue
        reason = "would be retired by this run" if parent in found else "is neither in the files nor in units"
        for code, _name, _level, _parent, file_index, line in missing[parent]:
            errors.add(sources[file_index], line, f"code {code}: parent {parent} {reason}")


def _staging_table(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        Column("code", code_column_type(), primary_key=True),
        Column("name", String(NAME_MAX_LENGTH), nullable=False),
        Column("level", SmallInteger, nullable=False),
        Column("parent_code", code_column_type()),
        prefixes=["TEMPORARY"],
    )


def _fill_staging(connection: Connection, stage: Table, rows: dict[str, _Row]) -> None:
    driver_connection = connection.connection.driver_connection
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        with driver_connection.cursor() as cursor:
            with cursor.copy(f'COPY "{stage.name}" (code, name, level, parent_code) FROM STDIN') as copy:
                for code, name, level, parent, _f, _l in rows.values():
                    copy.write_row((code, name, level, parent))
            # Temporary tables are never auto-analysed; give the planner real row counts.
            cursor.execute(f'ANALYZE "{stage.name}"')
        return
    batch = [
        {"code": code, "name": name, "level": level, "parent_code": parent}
        for code, name, level, parent, _f, _l in rows.values()
    ]
    connection.execute(insert(stage), batch)


def _count(result, counts: dict[Level, int]) -> None:
    for level, n in Counter(result.scalars()).items():
        counts[Level(level)] += n


def _apply_by_list(connection: Connection, stage: Table, in_scope, now, report: LoadReport) -> None:
    """Renames, revivals and retirements as load_regions makes them, by lists of codes read beforehand."""
    units = Unit.__table__
    renamed = connection.execute(select(stage.c.code, stage.c.name).join(units, units.c.code == stage.c.code)
                                 .where(units.c.name != stage.c.name)).all()
    for code, name in renamed:  # a few per load: the tree's names rarely change
        result = connection.execute(update(units).where(units.c.code == code).values(name=name, updated_at=now)
                                    .returning(units.c.level))
        _count(result, report.renamed)
    revived = connection.scalars(select(stage.c.code).join(units, units.c.code == stage.c.code)
                                 .where(units.c.retired == true())).all()
    if revived:
        result = connection.execute(update(units).where(units.c.code == any_(list(revived)), units.c.retired == true())
                                    .values(retired=False, retired_at=None, updated_at=now).returning(units.c.level))
        _count(result, report.revived)
    if in_scope is not None:
        absent = connection.scalars(select(units.c.code).where(
            in_scope, units.c.retired == false(), ~exists().where(stage.c.code == units.c.code))).all()
        if absent:
            result = connection.execute(update(units).where(units.c.code == any_(list(absent)))
                                        .values(retired=True, retired_at=now, updated_at=now)
                                        .returning(units.c.level))
            _count(result, report.retired)


def load_regions(connection: Connection, directories: Sequence[Path]) -> LoadReport:
    """Load the region directories into `units` on `connection` (the caller owns the transaction).

    Raises `RegionLoadError` (writing nothing) when any row is refused.
    """
    started = time.perf_counter()
    report = LoadReport(directories=[Path(d) for d in directories])
    errors = _Errors()
    if not directories:
        raise RegionLoadError(["no region directories given"])

    rows, sources = _read_directories(report.directories, report, errors)
    provinces = {code for code, row in rows.items() if row[2] == Level.province}
    if not errors:
        _check_parents(connection, rows, sources, provinces, errors)
    if errors:
        raise RegionLoadError(errors.items, errors.total)
    report.provinces = sorted(provinces)
    report.touched = sorted({code[:2] for code in rows})

    units = Unit.__table__
    stage = _staging_table(f"units_stage_{uuid.uuid4().hex[:12]}")
    stage.create(connection)
    _fill_staging(connection, stage, rows)
    del rows

    now = utcnow()
    now_value = literal(now, type_=units.c.updated_at.type)

    # New units.
    result = connection.execute(
        insert(units)
        .from_select(
            ["code", "name", "level", "parent_code", "retired", "retired_at", "created_at", "updated_at"],
            select(
                stage.c.code,
                stage.c.name,
                stage.c.level,
                stage.c.parent_code,
                false(),
                null(),
                now_value,
                now_value,
            ).where(~exists().where(units.c.code == stage.c.code)),
        )
        .returning(units.c.level)
    )
    _count(result, report.inserted)

    in_scope = or_(*(and_(units.c.code >= code, units.c.code < code + ":") for code in sorted(provinces))) \
        if provinces else None
    if connection.dialect.name == "postgresql" and is_citus(connection):
        # `units` is a reference table there: an UPDATE may not read the session's temporary table, a SELECT
        # may. The codes (and new names) are read first, then changed by list.
        _apply_by_list(connection, stage, in_scope, now, report)
        stage.drop(connection)
        report.elapsed = time.perf_counter() - started
        return report

    # Renamed units (retired or not).
    result = connection.execute(
        update(units)
        .where(units.c.code == stage.c.code, units.c.name != stage.c.name)
        .values(name=stage.c.name, updated_at=now)
        .returning(units.c.level)
    )
    _count(result, report.renamed)

    # Retired units that reappear.
    result = connection.execute(
        update(units)
        .where(units.c.code == stage.c.code, units.c.retired == true())
        .values(retired=False, retired_at=None, updated_at=now)
        .returning(units.c.level)
    )
    _count(result, report.revived)

    # Active units of this run's provinces that are absent from its files.
    if provinces:
        result = connection.execute(
            update(units)
            .where(
                in_scope,
                units.c.retired == false(),
                ~exists().where(stage.c.code == units.c.code),
            )
            .values(retired=True, retired_at=now, updated_at=now)
            .returning(units.c.level)
        )
        _count(result, report.retired)

    stage.drop(connection)
    report.elapsed = time.perf_counter() - started
    return report
