"""The dashboard's protection-case section: the case figures of the stored roll-up with their change since last
month, the outcomes, the reporting delay, and a month-by-month trend table (from the monthly snapshots), plus
the share of left-behind children with a signed entrusted guardianship confirmation.

Medians are stored in minutes and shown in hours. Nothing here reads cases: only stored figures.
"""

from __future__ import annotations

from tenant_app.clock import today_cst
from tenant_app.stats import dashboard as D

CASE_CARDS = ("case_reports", "cases_open", "cases_overdue", "cases_escalated")
CASE_ALERTS = frozenset({"cases_overdue", "cases_escalated"})
MEDIANS = ("case_accept_minutes_median", "case_measure_minutes_median")
OUTCOME_KEYS = ("outcome_guardianship_arranged", "outcome_temporary_placements", "outcome_back_to_school",
                "outcome_household_registered", "outcome_assistance_enrolled", "outcome_guardianship_revoked")
DELAY_KEYS = ("case_delay_0_3", "case_delay_4_14", "case_delay_15_30", "case_delay_31_over")
STAGE_KEYS = ("cases_open_reported", "cases_open_accepted", "cases_open_emergency", "cases_open_assessment",
              "cases_open_help_plan", "cases_open_follow_up")
TREND_KEYS = ("case_reports", "cases_open", "cases_overdue", *OUTCOME_KEYS)
TREND_MONTHS = 6


def hours_text(minutes: int | None) -> str:
    """A median in minutes shown in hours (one decimal); a dash when there is none yet."""
    if not minutes:
        return "—"
    return f"{minutes / 60:.1f}"


def _months(history: list[dict], figures: dict[str, int]) -> list[tuple[str, dict]]:
    by_month = {p["month"]: p["indicators"] for p in history}
    by_month[today_cst().strftime("%Y-%m")] = figures  # the running month: the current figures
    return sorted(by_month.items())[-TREND_MONTHS:]


def panel(figures: dict[str, int], history: list[dict], locale: str) -> dict:
    cards = D.cards(figures, history, locale, keys=CASE_CARDS)
    for card in cards:
        card["alert"] = card["key"] in CASE_ALERTS
    months = _months(history, figures)
    left_behind, confirmed = figures.get("left_behind", 0), figures.get("guardianship_confirmed", 0)
    return {
        "cards": cards,
        "outcomes": D.cards(figures, history, locale, keys=OUTCOME_KEYS),
        "medians": [{"key": k, "label": D.label(k, locale), "hours": hours_text(figures.get(k))} for k in MEDIANS],
        "delay": [{"key": k, "label": D.label(k, locale), "value": figures.get(k, 0)} for k in DELAY_KEYS],
        "stages": [{"key": k, "label": D.label(k, locale), "value": figures.get(k, 0)} for k in STAGE_KEYS],
        "trend": {"columns": [{"key": k, "label": D.label(k, locale)} for k in TREND_KEYS],
                  "rows": [{"month": month, "values": [values.get(k, 0) for k in TREND_KEYS]}
                           for month, values in months]},
        "confirmed": {"key": "guardianship_confirmed", "label": D.label("guardianship_confirmed", locale),
                      "covered": confirmed, "total": left_behind,
                      "rate_text": D.percent_value_text(D.coverage_percent(confirmed, left_behind)),
                      "percent": D.coverage_percent(confirmed, left_behind) or 0},
    }
