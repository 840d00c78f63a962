"""The indicators of the assessment (考核), how each figure becomes a 0-100 sub-score, and the total.

Sub-scores:
- "rate" indicators: a share ×100 (directors and supervisors in post today, campaign tasks completed, completed
  on time, training coverage); "vacancy_days" and "case_overdue" are a share of the bad kind, scored
  100 × (1 − share): vacancy days over the post-days of the period, overdue steps over the open cases.
- "relative" indicators, where lower is better and no natural maximum exists (overdue visits per 100 children,
  unattended children per 100 children, the median minutes to accept a case): scored against the best and the
  worst unit of the set assessed, 100 × (worst − value) / (worst − best); 100 for every unit when all are equal.
- A figure with nothing to measure (no tasks due in the period, no children, no case reported, no open case,
  no post to fill) has no sub-score: the unit's total is over the weights of the indicators it has, so the
  weights of the others are shared out in proportion. An indicator whose source does not exist (training
  before the training tables) is left out the same way, for every unit, and the result says so.

Total = Σ weight × sub-score / Σ weight over the sub-scores present (0-100); a sub-score's contribution is its
weighted share of that total. Ranks: by total, highest first; equal totals (to 0.01) share a rank (1, 1, 3).
Pure Python: the figures come from tenant_app.assessment.figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_app.i18n import N_


@dataclass(frozen=True)
class Indicator:
    key: str
    label_zh: str  # a message id: shown through gettext
    unit_zh: str
    kind: str  # "rate" | "relative"
    label_en: str


INDICATORS = (
    Indicator("roster_coverage", N_("儿童主任和督导员在岗率"), N_("比例"), "rate", "Directors and supervisors in post"),
    Indicator("vacancy_days", N_("岗位空缺天数"), N_("天"), "rate", "Vacancy days"),
    Indicator("training_coverage", N_("培训覆盖率"), N_("比例"), "rate", "Training coverage"),
    Indicator("campaign_completion", N_("工作任务完成率"), N_("比例"), "rate", "Campaign tasks completed"),
    Indicator("campaign_on_time", N_("工作任务按时完成率"), N_("比例"), "rate", "Campaign tasks on time"),
    Indicator("visits_overdue", N_("每百名儿童逾期走访数"), N_("人次"), "relative", "Overdue visits per 100 children"),
    Indicator("unattended", N_("每百名儿童中无人监护儿童数"), N_("人"), "relative",
              "Unattended children per 100 children"),
    Indicator("case_response", N_("个案受理用时中位数"), N_("分钟"), "relative", "Median minutes to acceptance"),
    Indicator("case_overdue", N_("个案环节超时率"), N_("比例"), "rate", "Overdue case steps"),
)
KEYS = tuple(i.key for i in INDICATORS)
BY_KEY = {i.key: i for i in INDICATORS}
DEFAULT_WEIGHTS = {"roster_coverage": 15, "vacancy_days": 10, "training_coverage": 10, "campaign_completion": 15,
                   "campaign_on_time": 10, "visits_overdue": 15, "unattended": 10, "case_response": 10,
                   "case_overdue": 5}
assert sum(DEFAULT_WEIGHTS.values()) == 100 and set(DEFAULT_WEIGHTS) == set(KEYS)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def values(f: dict) -> dict[str, tuple[float | None, float | None]]:
    """{key: (figure shown, sub-score for "rate" kinds / None for "relative" ones)} from a unit's raw counts."""
    out: dict[str, tuple[float | None, float | None]] = {}
    coverage = _share(f["filled"], f["post_units"])
    out["roster_coverage"] = (coverage, None if coverage is None else 100 * coverage)
    vacant = _share(f["vacancy_days"], f["post_days"])
    out["vacancy_days"] = (f["vacancy_days"], None if vacant is None else 100 * (1 - vacant))
    trained = _share(f["trained"], f["training_people"])
    out["training_coverage"] = (trained, None if trained is None else 100 * trained)
    done = _share(f["completed"], f["tasks"])
    out["campaign_completion"] = (done, None if done is None else 100 * done)
    on_time = _share(f["on_time"], f["completed"])
    out["campaign_on_time"] = (on_time, None if on_time is None else 100 * on_time)
    per100 = None if not f["children"] else 100 * f["visits_overdue"] / f["children"]
    out["visits_overdue"] = (per100, None)
    per100 = None if not f["children"] else 100 * f["unattended"] / f["children"]
    out["unattended"] = (per100, None)
    out["case_response"] = (f["accept_median"], None)
    overdue = _share(f["overdue_steps"], f["open_cases"])
    out["case_overdue"] = (overdue, None if overdue is None else 100 * (1 - overdue))
    return out


def score_set(figures: dict[str, dict], weights: dict[str, int], available: set[str]) -> dict[str, dict]:
    """{code: {"scores": {key: sub-score or None}, "values": {key: figure}, "contributions": {key: points},
    "total": 0-100 or None}} for every unit of the set, then "rank" on each."""
    found = {code: values(f) for code, f in figures.items()}
    scores: dict[str, dict[str, float | None]] = {code: {} for code in figures}
    for ind in INDICATORS:
        if ind.key not in available:
            for code in figures:
                scores[code][ind.key] = None
            continue
        if ind.kind == "rate":
            for code in figures:
                scores[code][ind.key] = found[code][ind.key][1]
            continue
        present = [v[ind.key][0] for v in found.values() if v[ind.key][0] is not None]
        best, worst = (min(present), max(present)) if present else (None, None)
        for code in figures:
            value = found[code][ind.key][0]
            if value is None:
                scores[code][ind.key] = None
            elif worst == best:
                scores[code][ind.key] = 100.0
            else:
                scores[code][ind.key] = 100 * (worst - value) / (worst - best)
    result = {}
    for code in figures:
        s = scores[code]
        weight_sum = sum(weights[k] for k in KEYS if s[k] is not None)
        contributions = {k: (weights[k] * s[k] / weight_sum if s[k] is not None and weight_sum else None)
                         for k in KEYS}
        total = round(sum(c for c in contributions.values() if c is not None), 2) if weight_sum else None
        result[code] = {"values": {k: found[code][k][0] for k in KEYS},
                        "scores": {k: None if s[k] is None else round(s[k], 2) for k in KEYS},
                        "contributions": {k: None if c is None else round(c, 2) for k, c in contributions.items()},
                        "weight_sum": weight_sum, "total": total}
    rank(result)
    return result


def rank(result: dict[str, dict]) -> None:
    """Competition ranking by total, highest first; a unit without a total ranks last."""
    ordered = sorted(result, key=lambda c: (result[c]["total"] is None, -(result[c]["total"] or 0), c))
    previous, position = object(), 0
    for index, code in enumerate(ordered, start=1):
        total = result[code]["total"]
        if total != previous:
            position, previous = index, total
        result[code]["rank"] = position
