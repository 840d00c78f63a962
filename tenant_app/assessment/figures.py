"""The figures behind the assessment, for a whole set of units at once: one grouped statement per source over
the assessing unit's subtree, grouped by the code prefix of the units assessed (`substr(code, 1, n)`), never a
query per unit.

Sources and definitions (dates in China Standard Time; `as_of` = the period's last day, or today if earlier):
- roster: the villages (a director each) and townships (a supervisor each) of every unit: `post_units`,
  `filled` (a holder in post on `as_of`), and the period's vacancy days: for each post unit, the days from the
  period's start (or from the day the roster first knows of it: the earliest of its first appointment and the
  day the unit was loaded) to `as_of`, less the days its holders held it (appointments of a post do not
  overlap); `post_days` is the number of days counted before the holders are taken off.
- tasks: campaign tasks due in the period (`tasks`), completed (submitted or approved), and on time
  (completed, submitted on or before the due date: tenant_app.campaigns.progress).
- children: active children, those unattended (无人监护: parents away and no guardian arranged), and those
  whose home visit is overdue today (tenant_app.visits.services.due_query, the province's intervals).
- cases: the lower median of the minutes from filing to acceptance over cases reported in the period (as the
  roll-up's median), and, now, the open cases and those whose current step is past its limit
  (tenant_app.cases.deadlines, the province's limits).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, Integer, and_, case, cast, func, literal, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from hierarchy.codes import Level
from hierarchy.models import Unit
from tenant_app import clock
from tenant_app.campaigns.models import DONE_STATUSES, Task
from tenant_app.cases import deadlines
from tenant_app.cases import enums as CE
from tenant_app.cases.models import Case, CaseChild
from tenant_app.children.models import Child
from tenant_app.visits.models import Visit
from tenant_app.visits.services import cst_date, days_between, intervals_for
from tenant_app.workforce.models import Appointment

PERIOD_KEYS = ("post_days", "vacancy_days", "tasks", "completed", "on_time", "accept_median", "training_people",
               "trained")
NOW_KEYS = ("post_units", "filled", "children", "unattended", "visits_overdue", "open_cases", "overdue_steps")
ZERO = dict.fromkeys(PERIOD_KEYS + NOW_KEYS, 0) | {"accept_median": None}


class greatest(FunctionElement):  # noqa: N801 - SQL function style
    """The largest of its arguments (SQLite: the scalar max)."""

    inherit_cache = True


class least(FunctionElement):  # noqa: N801
    inherit_cache = True


@compiles(greatest)
@compiles(least)
def _extreme(element, compiler, **kw):
    name = type(element).__name__
    if compiler.dialect.name == "sqlite":
        name = "max" if name == "greatest" else "min"
    return f"{name}({compiler.process(element.clauses, **kw)})"


def _sum(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _in(column, code: str, n: int):
    return and_(column >= code, column < code + ":", func.length(column) >= n)


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), clock.CST).astimezone(clock.UTC)


def _into(found: dict, rows, keys) -> None:
    for row in rows:
        target = found.get(row[0])
        if target is not None:
            for key, value in zip(keys, row[1:], strict=True):
                target[key] = value if key == "accept_median" or value is None else int(value)


def roster(session, code: str, n: int, start: date, as_of: date, found: dict) -> None:
    """Post units, filled on `as_of`, vacancy days and post-days in [start, as_of], by unit assessed."""
    holder_post = case((func.length(Appointment.region_code) == 12, literal("director")), else_=literal("supervisor"))
    post_units = (select(Unit.code, cst_date(Unit.created_at).label("loaded_on"))
                  .where(_in(Unit.code, code, n), Unit.retired.is_(False),
                         Unit.level.in_([int(Level.township), int(Level.village)])).subquery("post_units"))
    end1 = as_of + timedelta(days=1)
    left = func.coalesce(Appointment.left_on, end1)
    held = greatest(0, days_between(greatest(Appointment.appointed_on, literal(start)),
                                         least(left, literal(end1))))
    filled = and_(Appointment.appointed_on <= as_of, or_(Appointment.left_on.is_(None), Appointment.left_on > as_of))
    known_from = least(post_units.c.loaded_on,
                            func.coalesce(func.min(Appointment.appointed_on), post_units.c.loaded_on))
    span = greatest(0, days_between(greatest(literal(start), known_from), literal(end1)))
    per_unit = (select(post_units.c.code, span.label("span"),
                       func.coalesce(func.sum(held), 0).label("held"),
                       func.coalesce(func.max(case((filled, 1), else_=0)), 0).label("filled"))
                .select_from(post_units)
                .outerjoin(Appointment, and_(Appointment.region_code == post_units.c.code,
                                             Appointment.post == holder_post))
                .group_by(post_units.c.code, post_units.c.loaded_on).subquery("per_unit"))
    group = func.substr(per_unit.c.code, 1, n)
    vacancy = greatest(0, per_unit.c.span - per_unit.c.held)
    query = select(group, func.sum(per_unit.c.span), func.sum(vacancy), func.count(), func.sum(per_unit.c.filled))
    _into(found, session.execute(query.group_by(group)), ("post_days", "vacancy_days", "post_units", "filled"))


def _roll_up(per_unit, n: int):
    """Sums of a statement grouped by unit code (in index order: no sort of the source rows) to the units
    assessed: a few tens of thousands of rows at most."""
    inner = per_unit.subquery("per_unit")
    group = func.substr(inner.c.code, 1, n)
    return select(group, *(func.sum(c) for c in list(inner.c)[1:])).group_by(group)


def training(session, code: str, n: int, start: date, end: date, as_of: date, found: dict) -> None:
    """The directors and supervisors in post on `as_of` (`training_people`) and those of them who attended a
    course ending in the period (`trained`), by unit assessed (tenant_app.training, when it exists)."""
    from tenant_app.training.models import Attendance

    # A probe of the attendance index (person, course end) per holder: no join of two grouped sets.
    attended = (select(Attendance.id).where(Attendance.person_id == Appointment.person_id,
                                            Attendance.course_ends_on >= start, Attendance.course_ends_on <= end,
                                            Attendance.attended.is_(True))
                .correlate(Appointment).exists())
    holder_post = case((func.length(Appointment.region_code) == 12, literal("director")), else_=literal("supervisor"))
    per_unit = (select(Appointment.region_code.label("code"), func.count().label("a"), _sum(attended).label("b"))
                .where(_in(Appointment.region_code, code, n), Appointment.post == holder_post,
                       Appointment.appointed_on <= as_of,
                       or_(Appointment.left_on.is_(None), Appointment.left_on > as_of))
                .group_by(Appointment.region_code))
    _into(found, session.execute(_roll_up(per_unit, n)), ("training_people", "trained"))


def tasks(session, code: str, n: int, start: date, end: date, found: dict) -> None:
    done = Task.status.in_(DONE_STATUSES)
    per_unit = (select(Task.region_code.label("code"), func.count().label("a"), _sum(done).label("b"),
                       _sum(and_(done, cst_date(Task.submitted_at) <= Task.due_on)).label("c"))
                .where(_in(Task.region_code, code, n), Task.due_on >= start, Task.due_on <= end)
                .group_by(Task.region_code))
    _into(found, session.execute(_roll_up(per_unit, n)), ("tasks", "completed", "on_time"))


def children(session, code: str, n: int, today: date, found: dict) -> None:
    """Active children, unattended, and visits overdue today, in one pass over the subtree's children: the
    due rule of tenant_app.visits.services.due_query (interval by risk from the last visit or the record's
    creation; at once for an unattended child never visited; on the day of the report for a child an open
    report found living alone and not visited since), with the last visits and the reports grouped once."""
    intervals, _ = intervals_for(session, code[:2])
    lo, hi = code, code + ":"
    last = (select(Visit.child_id, func.max(Visit.visited_on).label("on"))
            .where(Visit.region_code >= lo, Visit.region_code < hi).group_by(Visit.child_id).subquery("last_visits"))
    reported = (select(CaseChild.child_id, func.max(Case.reported_at).label("at"))
                .join(Case, Case.id == CaseChild.case_id)
                .where(Case.category == "living_alone", Case.stage.in_(CE.OPEN_STAGES), CaseChild.region_code >= lo,
                       CaseChild.region_code < hi).group_by(CaseChild.child_id).subquery("found"))
    found_on = cst_date(reported.c.at)
    # due_on < today, with the thresholds computed once: a last visit before today − interval, or, never
    # visited, a record created before the CST day today − interval began (no per-row date arithmetic).
    def before(days: int):
        return literal(today - timedelta(days=days), Date())

    def created_before(days: int):
        return Child.created_at < _instant(today - timedelta(days=days))

    risk = ((Child.risk_level == "high", "high"), (Child.risk_level == "medium", "medium"))
    visited_late = case(*((cond, last.c.on < before(intervals[r])) for cond, r in risk),
                        else_=last.c.on < before(intervals["low"]))
    never_visited = case((Child.unattended.is_(True), created_before(0)),
                         *((cond, created_before(intervals[r])) for cond, r in risk),
                         else_=created_before(intervals["low"]))
    overdue = case((and_(reported.c.at.isnot(None), or_(last.c.on.is_(None), last.c.on < found_on)),
                    found_on < literal(today, Date())),
                   (last.c.on.isnot(None), visited_late), else_=never_visited)
    per_village = (select(Child.region_code.label("code"), func.count().label("a"),
                          _sum(Child.unattended.is_(True)).label("b"), _sum(overdue).label("c"))
                   .select_from(Child).outerjoin(last, last.c.child_id == Child.id)
                   .outerjoin(reported, reported.c.child_id == Child.id)
                   .where(_in(Child.region_code, code, n), Child.status == "active").group_by(Child.region_code))
    _into(found, session.execute(_roll_up(per_village, n)), ("children", "unattended", "visits_overdue"))


def _month(session, moment):
    """The CST month (1-12) of a UTC moment."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("month", cst_date(moment)), Integer)
    return cast(func.strftime("%m", cst_date(moment)), Integer)


def _medians(session, code: str, n: int, start: date, end: date, by_month: bool):
    lo, hi = _instant(start), _instant(end + timedelta(days=1))
    keys = [func.substr(Case.region_code, 1, n)] + ([_month(session, Case.reported_at)] if by_month else [])
    minutes = cast(func.round(func.extract("epoch", Case.accepted_at - Case.reported_at) / 60), Integer)
    if session.get_bind().dialect.name != "postgresql":
        minutes = cast(func.round((func.julianday(Case.accepted_at) - func.julianday(Case.reported_at)) * 1440),
                       Integer)
    # The lower median: the value at position ⌈count / 2⌉ in ascending order (as the roll-up's).
    ranked = (select(*(k.label(f"k{i}") for i, k in enumerate(keys)), minutes.label("v"),
                     func.row_number().over(partition_by=keys, order_by=minutes).label("rn"),
                     func.count().over(partition_by=keys).label("cnt"))
              .where(_in(Case.region_code, code, n), Case.reported_at >= lo, Case.reported_at < hi,
                     Case.accepted_at.isnot(None)).subquery("ranked"))
    columns = [ranked.c[f"k{i}"] for i in range(len(keys))]
    return session.execute(select(*columns, func.max(case((ranked.c.rn == (ranked.c.cnt + 1) // 2, ranked.c.v))))
                           .group_by(*columns))


def case_medians(session, code: str, n: int, start: date, end: date, found: dict) -> None:
    _into(found, _medians(session, code, n, start, end, by_month=False), ("accept_median",))


def case_medians_by_month(session, code: str, n: int, start: date, end: date) -> dict[int, dict[str, int]]:
    """{month: {unit: median}} for the cases reported from `start` to `end` (one year at most)."""
    out: dict[int, dict[str, int]] = {}
    for unit, month, median in _medians(session, code, n, start, end, by_month=True):
        out.setdefault(int(month), {})[unit] = median
    return out


def case_overdue(session, code: str, n: int, now: datetime, found: dict) -> None:
    policy, _ = deadlines.policy_for(session, code[:2])
    overdue = deadlines.clock_columns(policy, now)[2].element
    group = func.substr(Case.region_code, 1, n)
    query = (select(group, func.count(), _sum(overdue))
             .where(_in(Case.region_code, code, n), Case.stage.in_(CE.OPEN_STAGES)).group_by(group))
    _into(found, session.execute(query), ("open_cases", "overdue_steps"))


def memory(session) -> None:
    """Room for the grouping of a province's rows in memory, for this transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def now_figures(session, code: str, n: int, found: dict, *, today: date, now: datetime) -> None:
    """The figures of today (children, visits overdue, open cases); the roster's follow the period."""
    children(session, code, n, today, found)
    case_overdue(session, code, n, now, found)


def period_figures(session, code: str, n: int, found: dict, *, start: date, end: date, today: date,
                   with_training: bool = False) -> None:
    as_of = min(end, today)
    roster(session, code, n, start, as_of, found)
    if with_training:
        training(session, code, n, start, end, as_of, found)
    tasks(session, code, n, start, end, found)
    case_medians(session, code, n, start, end, found)


def collect(session, code: str, units: list[str], *, start: date, end: date, today: date | None = None,
            now: datetime | None = None, with_training: bool = False) -> dict[str, dict]:
    """{unit code: raw counts} for `units` (all of one code length under `code`)."""
    today = today or clock.today_cst()
    now = now or clock.now()
    found = {u: dict(ZERO) for u in units}
    if units:
        n = len(units[0])
        memory(session)
        now_figures(session, code, n, found, today=today, now=now)
        period_figures(session, code, n, found, start=start, end=end, today=today, with_training=with_training)
    return found
