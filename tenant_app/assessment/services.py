"""The assessment (考核): a league table of the units of one level under an assessing unit for a period, one
unit's figures with its sub-scores, weights and contributions, its trend per month, and the scheme of weights.

The assessing unit is the caller's unit (or, with `unit`, a unit of its subtree); the units assessed are its
child units, or with `level` every active unit of a lower level in its subtree. Villages assess nobody. Every
figure of the whole set comes from one grouped statement per source (tenant_app.assessment.figures) and the
scores from tenant_app.assessment.indicators. Counts and rates only: no child, no person is named.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hierarchy.codes import CODE_LENGTHS, Level, is_valid_code, level_of
from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.assessment import figures as F
from tenant_app.assessment import indicators as I
from tenant_app.assessment.models import AssessmentScheme
from tenant_app.errors import Forbidden, NotFound, ValidationFailed
from tenant_app.i18n import _l

INVALID = _l("考核参数有误")
NOT_IN_SCOPE = _l("单位不在管辖范围内")
MAX_DAYS = 3660
TRAINING_NOTE = _l("培训台账尚未建立：培训覆盖率不计分，其权重按比例分摊到其他指标")


def training_available(session) -> bool:
    """Whether training records exist in this version (tenant_app.training); until then the indicator is
    left out."""
    try:
        import tenant_app.training.models  # noqa: F401
    except ImportError:
        return False
    return True


def available_keys(session) -> set[str]:
    keys = set(I.KEYS)
    if not training_available(session):
        keys.discard("training_coverage")
    return keys


# --- the scheme ----------------------------------------------------------------------------------------

def scheme_for(session, province: str, year: int) -> tuple[dict[str, int], AssessmentScheme | None]:
    row = session.execute(select(AssessmentScheme).where(AssessmentScheme.province_code == province,
                                                         AssessmentScheme.year == year)).scalar_one_or_none()
    if row is None:
        return dict(I.DEFAULT_WEIGHTS), None
    return {k: int(row.weights.get(k, 0)) for k in I.KEYS}, row


def get_scheme(session, actor, year: int | None = None) -> dict:
    year = year or clock.today_cst().year
    weights, row = scheme_for(session, actor.region_code[:2], year)
    return {"province_code": actor.region_code[:2], "year": year, "weights": weights, "is_default": row is None,
            "updated_by_id": row.updated_by_id if row else None, "updated_at": row.updated_at if row else None,
            "indicators": indicator_list(session)}


def indicator_list(session) -> list[dict]:
    keys = available_keys(session)
    return [{"key": i.key, "label_zh": i.label_zh, "label_en": i.label_en, "kind": i.kind,
             "available": i.key in keys} for i in I.INDICATORS]


def set_scheme(session, actor, data: dict) -> dict:
    """Province staff and admins set their province's weights for a year: integers 0-100 summing to 100."""
    if actor.role not in ("staff", "admin") or level_of(actor.region_code) != Level.province:
        raise Forbidden(_l("仅省级工作人员可设置考核权重"))
    weights = data.get("weights") or {}
    errors: dict = {}
    for key in I.KEYS:
        value = weights.get(key)
        if value is None:
            errors.setdefault(f"weights.{key}", []).append(_l("此项必填"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors.setdefault(f"weights.{key}", []).append(_l("权重须为0至100的整数"))
    unknown = sorted(set(weights) - set(I.KEYS))
    if unknown:
        errors.setdefault("weights", []).append(_l("未知指标：%(keys)s", keys="、".join(unknown)))
    if not errors and sum(weights.values()) != 100:
        errors["weights"] = [_l("各项权重之和须为100（现为%(n)s）", n=sum(weights.values()))]
    year = data.get("year") or clock.today_cst().year
    if errors:
        raise ValidationFailed(_l("考核权重有误"), errors=errors)
    _, row = scheme_for(session, actor.region_code, year)
    if row is None:
        row = AssessmentScheme(province_code=actor.region_code, year=year)
        session.add(row)
    row.weights = {k: weights[k] for k in I.KEYS}
    row.updated_by_id = actor.id
    row.updated_at = clock.now()
    session.flush()
    return get_scheme(session, actor, year)


# --- the period, the assessing unit and the set --------------------------------------------------------

def period(start: date | None, end: date | None) -> tuple[date, date]:
    today = clock.today_cst()
    start = start or today.replace(month=1, day=1)
    end = end or today
    if end < start:
        raise ValidationFailed(INVALID, errors={"period_end": [_l("结束日期不能早于开始日期")]})
    if (end - start).days > MAX_DAYS:
        raise ValidationFailed(INVALID, errors={"period_start": [_l("统计期间不能超过十年")]})
    return start, end


def assessing_unit(session, actor, unit: str | None) -> Unit:
    code = (unit or actor.region_code).strip()
    if not is_valid_code(code) or not code.startswith(actor.region_code):
        raise NotFound(NOT_IN_SCOPE)
    found = session.execute(select(Unit).where(Unit.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFound(NOT_IN_SCOPE)
    if found.level >= int(Level.village):
        raise Forbidden(_l("村（社区）没有下级单位可考核"))
    return found


def assessed_level(assessing: Unit, level: int | None) -> int:
    if level is None:
        return assessing.level + 1
    if not assessing.level < level <= int(Level.village):
        raise ValidationFailed(INVALID, errors={"level": [_l("须为考核单位以下的层级")]})
    return level


def unit_set(session, assessing: Unit, level: int) -> dict[str, str]:
    n = CODE_LENGTHS[Level(level)]
    rows = session.execute(select(Unit.code, Unit.name).where(
        Unit.level == level, Unit.code >= assessing.code, Unit.code < assessing.code + ":",
        Unit.retired.is_(False)).order_by(Unit.code))
    return {code: name for code, name in rows if len(code) == n}


def _assess(session, assessing: Unit, level: int, start: date, end: date) -> tuple[dict, dict, dict, set]:
    names = unit_set(session, assessing, level)
    keys = available_keys(session)
    counts = F.collect(session, assessing.code, list(names), start=start, end=end,
                       with_training="training_coverage" in keys)
    weights, _ = scheme_for(session, assessing.code[:2], end.year)
    return names, counts, I.score_set(counts, weights, keys), weights


def _head(assessing: Unit, level: int, start: date, end: date, weights: dict, keys: set) -> dict:
    return {"unit": {"code": assessing.code, "name": assessing.name, "level": assessing.level}, "level": level,
            "period_start": start, "period_end": end, "as_of": min(end, clock.today_cst()), "weights": weights,
            "left_out": [k for k in I.KEYS if k not in keys],
            "notes": [TRAINING_NOTE] if "training_coverage" not in keys else []}


def league(session, actor, *, period_start=None, period_end=None, level=None, unit=None) -> dict:
    """Every unit of the set with its total, rank and sub-scores, best first."""
    assessing = assessing_unit(session, actor, unit)
    level = assessed_level(assessing, level)
    start, end = period(period_start, period_end)
    names, _, scored, weights = _assess(session, assessing, level, start, end)
    keys = available_keys(session)
    rows = [{"code": code, "name": names[code], "rank": s["rank"], "total": s["total"], "scores": s["scores"]}
            for code, s in scored.items()]
    rows.sort(key=lambda r: (r["rank"], r["code"]))
    return {**_head(assessing, level, start, end, weights, keys), "rows": rows, "total": len(rows)}


def _detail_lines(counts: dict, s: dict, weights: dict, keys: set) -> list[dict]:
    weight_sum = s["weight_sum"]
    return [{"key": ind.key, "label_zh": ind.label_zh, "label_en": ind.label_en, "kind": ind.kind,
             "available": ind.key in keys, "value": s["values"][ind.key] if ind.key in keys else None,
             "score": s["scores"][ind.key],
             "weight": weights[ind.key],
             "effective_weight": (round(100 * weights[ind.key] / weight_sum, 2)
                                  if s["scores"][ind.key] is not None and weight_sum else None),
             "contribution": s["contributions"][ind.key]} for ind in I.INDICATORS]


def _target(session, actor, code: str, unit: str | None) -> tuple[Unit, int]:
    assessing = assessing_unit(session, actor, unit)
    code = (code or "").strip()
    if not is_valid_code(code) or not code.startswith(assessing.code) or len(code) <= len(assessing.code):
        raise NotFound(NOT_IN_SCOPE)
    return assessing, int(level_of(code))


def detail(session, actor, code: str, *, period_start=None, period_end=None, unit=None) -> dict:
    """One unit's figures (raw counts too), sub-scores, weights and contributions, its rank in its set."""
    assessing, level = _target(session, actor, code, unit)
    start, end = period(period_start, period_end)
    names, counts, scored, weights = _assess(session, assessing, level, start, end)
    if code not in names:
        raise NotFound(NOT_IN_SCOPE)
    keys = available_keys(session)
    s = scored[code]
    return {**_head(assessing, level, start, end, weights, keys), "code": code, "name": names[code],
            "rank": s["rank"], "of": len(names), "total_score": s["total"], "counts": counts[code],
            "lines": _detail_lines(counts[code], s, weights, keys)}


def months(year: int) -> list[tuple[date, date]]:
    today = clock.today_cst()
    out = []
    for month in range(1, 13):
        first = date(year, month, 1)
        if first > today:
            break
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        out.append((first, min(last, today)))
    return out


def trend(session, actor, code: str, *, year: int | None = None, unit=None) -> dict:
    """The unit's total per month of the year (month periods, up to today), scored in the same set as its
    league. Today's figures (children, visits overdue, open cases) are read once for the set; the medians of
    acceptance per month in one statement for the set (they are scored against the set's best and worst);
    the roster and the tasks per month for the unit alone (rates: its own figures make its sub-scores)."""
    assessing, level = _target(session, actor, code, unit)
    year = year or clock.today_cst().year
    names = unit_set(session, assessing, level)
    if code not in names:
        raise NotFound(NOT_IN_SCOPE)
    weights, _ = scheme_for(session, assessing.code[:2], year)
    keys = available_keys(session)
    n = len(code)
    today, now = clock.today_cst(), clock.now()
    base = {u: dict(F.ZERO) for u in names}
    F.memory(session)
    F.now_figures(session, assessing.code, n, base, today=today, now=now)
    periods = months(year)
    medians = F.case_medians_by_month(session, assessing.code, n, periods[0][0], periods[-1][1]) if periods else {}
    points = []
    for first, last in periods:
        found = {u: {**values, "accept_median": medians.get(first.month, {}).get(u)} for u, values in base.items()}
        F.roster(session, code, n, first, min(last, today), found)
        if "training_coverage" in keys:
            F.training(session, code, n, first, last, min(last, today), found)
        F.tasks(session, code, n, first, last, found)
        s = I.score_set(found, weights, keys)[code]
        points.append({"month": first.strftime("%Y-%m"), "period_start": first, "period_end": last,
                       "total": s["total"], "scores": s["scores"]})
    return {"unit": {"code": assessing.code, "name": assessing.name, "level": assessing.level}, "code": code,
            "name": names[code], "year": year, "of": len(names), "weights": weights,
            "left_out": [k for k in I.KEYS if k not in keys], "points": points}
