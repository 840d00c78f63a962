"""The dashboard's worklist outcomes (horizontal links): dropouts back in school, children put on record, household
registrations and assistance enrolments found through the rolls this year, with their change since last month and
a month-by-month trend table. Nothing here reads the worklists: only stored figures."""

from __future__ import annotations

from sync.indicators import GROUPS
from sync.link_figures import LINK_KEYS
from tenant_app.stats import dashboard as D
from tenant_app.stats.case_panel import _months


def panel(figures: dict[str, int], history: list[dict], locale: str) -> dict:
    return {
        "title": GROUPS["link_outcomes"][1 if locale == "en" else 0],
        "cards": D.cards(figures, history, locale, keys=LINK_KEYS),
        "trend": {"columns": [{"key": k, "label": D.label(k, locale)} for k in LINK_KEYS],
                  "rows": [{"month": month, "values": [values.get(k, 0) for k in LINK_KEYS]}
                           for month, values in _months(history, figures)]},
    }
