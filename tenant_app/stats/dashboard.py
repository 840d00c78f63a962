"""What the dashboard pages show, built from the stats services' figures: the key figure cards with their change
since last month, the child units' table and its order, the chart data, staff coverage and campaign progress.

Nothing here reads child rows: the figures come from the stored roll-up (`tenant_app.stats.services`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from hierarchy.codes import Level
from sync.indicators import BY_KEY
from tenant_app.clock import CST, today_cst

# The key figures, in the order of the cards. Figures in ALERT are the ones where any number means children
# who need someone to act now.
CARD_KEYS = ("children_total", "left_behind", "in_difficulty", "de_facto_unsupported", "unattended", "dropouts",
             "no_household_registration", "high_risk", "visits_overdue")
ALERT_KEYS = frozenset({"unattended", "dropouts", "no_household_registration", "visits_overdue"})
TREND_KEYS = ("left_behind", "in_difficulty", "unattended", "high_risk", "visits_overdue", "dropouts")
# The child units' table: the key figures, then staff coverage.
TABLE_KEYS = (*CARD_KEYS, "villages_with_director", "villages_total", "townships_with_supervisor")
DERIVED_KEYS = ("director_coverage",)
SORT_KEYS = frozenset(("name", *TABLE_KEYS, *DERIVED_KEYS))
DEFAULT_CHART_KEY = "unattended"
HISTORY_MONTHS = 24

TITLES = {
    Level.province: "全省数据看板", Level.city: "全市数据看板", Level.county: "全县(区)数据看板",
    Level.township: "全乡镇(街道)数据看板", Level.village: "本村(居)数据看板",
}
UNITS_HEADINGS = {
    Level.city: "各市情况", Level.county: "各县(区)情况", Level.township: "各乡镇(街道)情况",
    Level.village: "各村(居)情况",
}


def label(key: str, locale: str) -> str:
    if key == "director_coverage":
        return "Director coverage" if locale == "en" else "儿童主任配备率"
    return BY_KEY[key].label(locale)


def coverage_percent(covered: int, total: int) -> float | None:
    return round(100.0 * covered / total, 1) if total else None


def with_derived(figures: dict[str, int]) -> dict:
    """A unit's figures plus the ones computed from them for the table (a percentage, or None without villages)."""
    out = dict(figures)
    out["director_coverage"] = coverage_percent(figures.get("villages_with_director", 0),
                                                figures.get("villages_total", 0))
    return out


def previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def cards(figures: dict[str, int], history: list[dict] | None, locale: str, keys=CARD_KEYS) -> list[dict]:
    """The key figures with their change since the end of last month (None when last month has no figures)."""
    before = None
    if history is not None:
        wanted = previous_month(today_cst())
        before = next((p["indicators"] for p in history if p["month"] == wanted), None)
    out = []
    for key in keys:
        value = figures.get(key, 0)
        delta = value - before.get(key, 0) if before is not None else None
        out.append({"key": key, "label": label(key, locale), "value": value, "delta": delta,
                    "alert": key in ALERT_KEYS})
    return out


def columns(locale: str, level: Level) -> list[dict]:
    """The table's figure columns for the units below a unit of `level`. A village's row says whether it has a
    director (0 or 1); a township's row whether it has a supervisor; larger units carry counts and a rate."""
    keys = list(TABLE_KEYS)
    if level >= Level.township:
        keys = [k for k in keys if k not in ("villages_total", "townships_with_supervisor")]
    else:
        keys.insert(keys.index("villages_total") + 1, "director_coverage")
    return [{"key": k, "label": label(k, locale), "alert": k in ALERT_KEYS} for k in keys]


def sort_rows(rows: list[dict], sort: str | None, direction: str | None) -> tuple[list[dict], str, str]:
    """The child units in the requested order (the page's fallback without JavaScript); by code by default."""
    if sort not in SORT_KEYS:
        return sorted(rows, key=lambda r: r["code"]), "name", "asc"
    if direction not in ("asc", "desc"):
        direction = "asc" if sort == "name" else "desc"
    reverse = direction == "desc"
    if sort == "name":
        ordered = sorted(rows, key=lambda r: r["code"], reverse=reverse)
    else:
        # Code as the tie-break, always ascending; a unit without the figure (None) goes last either way.
        ordered = sorted(rows, key=lambda r: r["code"])
        present = [r for r in ordered if r["indicators"].get(sort) is not None]
        missing = [r for r in ordered if r["indicators"].get(sort) is None]
        ordered = sorted(present, key=lambda r: r["indicators"][sort], reverse=reverse) + missing
    return ordered, sort, direction


def month_range(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from `first` to `last`, both included."""
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out


def chart_data(history: list[dict], figures: dict[str, int], rows: list[dict] | None, locale: str,
               chart_key: str | None) -> dict:
    """The JSON the page's charts are drawn from: the trend lines and the child units' figures."""
    by_month = {p["month"]: p["indicators"] for p in history}
    this_month = today_cst().strftime("%Y-%m")
    # The running month's snapshot may not be written yet: the current figures stand for it.
    by_month.setdefault(this_month, figures)
    months = month_range(min(by_month), this_month)
    trend = {
        "months": months,
        # A month without a snapshot is a gap in the line (null), not a zero.
        "series": [{"key": k, "name": label(k, locale),
                    "data": [by_month[m].get(k, 0) if m in by_month else None for m in months]}
                   for k in TREND_KEYS],
    }
    units = {"names": [], "codes": [], "indicators": {}, "default": chart_key or DEFAULT_CHART_KEY}
    if rows:
        units["names"] = [r["name"] for r in rows]
        units["codes"] = [r["code"] for r in rows]
        for key in (*TABLE_KEYS, *DERIVED_KEYS):
            units["indicators"][key] = {"name": label(key, locale),
                                        "data": [r["indicators"].get(key) or 0 for r in rows]}
    return {"trend": trend, "units": units}


def coverage(figures: dict[str, int], level: Level, locale: str) -> list[dict]:
    """Villages with a children's director and townships with a supervisor, where the unit has any."""
    out = []
    pairs = [("villages_with_director", "villages_total")]
    if level <= Level.township:
        pairs.append(("townships_with_supervisor", "townships_total"))
    for covered_key, total_key in pairs:
        total = figures.get(total_key, 0)
        if not total:
            continue
        covered = figures.get(covered_key, 0)
        percent = coverage_percent(covered, total)
        out.append({"key": covered_key, "label": label(covered_key, locale), "covered": covered, "total": total,
                    "percent": percent, "rate_text": f"{percent:.1f}%"})
    return out


def percent_text(rate) -> str:
    """A rate (0..1) as a percentage; a dash when there is nothing to rate yet."""
    if rate is None:
        return "—"
    return f"{100.0 * float(rate):.1f}%"


def percent_value_text(percent) -> str:
    """A percentage already in 0..100 (the director coverage column); a dash without villages."""
    return "—" if percent is None else f"{percent:.1f}%"


def bar_width(rate) -> float:
    if rate is None:
        return 0.0
    return max(0.0, min(100.0, round(100.0 * float(rate), 1)))


def as_of_text(as_of: datetime | None) -> str | None:
    """The roll-up's time in China Standard Time."""
    if as_of is None:
        return None
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    return as_of.astimezone(CST).strftime("%Y-%m-%d %H:%M")
