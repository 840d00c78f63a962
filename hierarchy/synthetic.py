"""Synthetic provinces for benchmarks: replicate a real region tree under new, consistent codes."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from hierarchy.loader import LEVEL_FILES

_HEADERS = {
    "provinces.csv": ["code", "name"],
    "cities.csv": ["code", "name", "provinceCode"],
    "areas.csv": ["code", "name", "cityCode", "provinceCode"],
    "streets.csv": ["code", "name", "areaCode", "provinceCode", "cityCode"],
    "villages.csv": ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"],
}


def _read(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [(row["code"].strip(), row["name"].strip()) for row in csv.DictReader(fh)]


def build_synthetic_province(
    source_dir: Path,
    out_dir: Path,
    villages_target: int = 52000,
    province_code: str = "41",
    name: str = "合成省",
) -> Path:
    """Write a synthetic province into `out_dir` (created if needed) and return `out_dir`.

    Every city of `source_dir` (e.g. the Shaoguan tree) is copied again and again, each copy a new city
    41NN keeping the county/township/village suffixes of the original, until `villages_target` villages
    are written; the last copy is cut short. With Shaoguan (1468 villages a copy) the default gives about
    36 cities, 360 counties, 4,000 townships and 52,000 villages: about 56,000 units.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    if len(province_code) != 2 or not province_code.isdigit():
        raise ValueError(f"province code must be two digits: {province_code!r}")
    cities = _read(source_dir / "cities.csv")
    counties = _read(source_dir / "areas.csv")
    townships = _read(source_dir / "streets.csv")
    villages = _read(source_dir / "villages.csv")
    if not cities or not villages:
        raise ValueError(f"{source_dir} lacks cities.csv or villages.csv rows")

    children = defaultdict(list)
    for code, child_name in counties + townships + villages:
        children[code[: {6: 4, 9: 6, 12: 9}[len(code)]]].append((code, child_name))

    out_dir.mkdir(parents=True, exist_ok=True)
    out = {spec.filename: [] for spec in LEVEL_FILES}
    out["provinces.csv"].append([province_code, name])
    written = 0
    city_number = 0
    while written < villages_target:
        for source_city, city_name in cities:
            if written >= villages_target:
                break
            city_number += 1
            if city_number > 99:
                raise ValueError("villages_target needs more than 99 cities; use a bigger source tree")
            city = f"{province_code}{city_number:02d}"
            out["cities.csv"].append([city, f"{city_name}{city_number}", province_code])
            for source_county, county_name in children[source_city]:
                if written >= villages_target:
                    break
                county = city + source_county[4:]
                out["areas.csv"].append([county, county_name, city, province_code])
                for source_township, township_name in children[source_county]:
                    if written >= villages_target:
                        break
                    township = county + source_township[6:]
                    out["streets.csv"].append([township, township_name, county, province_code, city])
                    for source_village, village_name in children[source_township]:
                        if written >= villages_target:
                            break
                        village = township + source_village[9:]
                        out["villages.csv"].append(
                            [village, village_name, township, province_code, city, county]
                        )
                        written += 1

    for filename, rows in out.items():
        with (out_dir / filename).open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(_HEADERS[filename])
            writer.writerows(rows)
    return out_dir
