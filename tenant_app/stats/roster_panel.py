"""The dashboard's roster section: directors and supervisors in post, vacant units and their days vacant, the
people in post trained this year and their hours, with their change since last month and a month-by-month trend
table (from the monthly snapshots). Nothing here reads the roster: only stored figures."""

from __future__ import annotations

from sync.indicators import GROUPS, INDICATORS
from tenant_app.stats import dashboard as D
from tenant_app.stats.case_panel import _months

ROSTER_KEYS = tuple(i.key for i in INDICATORS if i.group in ("roster", "training"))
ALERTS = frozenset({"villages_vacant", "townships_vacant"})


def panel(figures: dict[str, int], history: list[dict], locale: str) -> dict:
    cards = D.cards(figures, history, locale, keys=ROSTER_KEYS)
    for card in cards:
        card["alert"] = card["key"] in ALERTS
    in_post = figures.get("directors_in_post", 0) + figures.get("supervisors_in_post", 0)
    trained = figures.get("trained_this_year", 0)
    percent = D.coverage_percent(trained, in_post)
    title = " · ".join(GROUPS[g][1 if locale == "en" else 0] for g in ("roster", "training"))
    return {
        "title": title,
        "cards": cards,
        "trained": {"covered": trained, "total": in_post, "rate_text": D.percent_value_text(percent),
                    "percent": percent or 0,
                    "hours_per_person": f"{figures.get('training_hours', 0) / in_post:.1f}" if in_post else "—"},
        "trend": {"columns": [{"key": k, "label": D.label(k, locale)} for k in ROSTER_KEYS],
                  "rows": [{"month": month, "values": [values.get(k, 0) for k in ROSTER_KEYS]}
                           for month, values in _months(history, figures)]},
    }
