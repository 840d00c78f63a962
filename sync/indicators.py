"""The figures every unit carries: one ordered list, the single source for the roll-up SQL, verify, the API,
the dashboards and the export.

Each child-based indicator is a condition on one row of the roll-up's source relation (`SOURCE_COLUMNS`: the
child's own columns plus `due_on`, the date its next home visit is due). An indicator counts the rows that
meet its condition among its population:

- `active`: children whose record is active (在册). Ages are whole years on today's date in China Standard
  Time (`clock.today_cst()`), passed in as cut-off dates, so the SQL never reads the database's clock.
- `exited`: children who left the register during the current calendar year (CST), by the record's
  `exited_at` date. Earlier exits stay out of this year's figures; a record without an exit date is not
  counted as an exit.
- `units`: counts of units, not children (villages with an active children's director, townships with an
  active supervisor); a unit's figure covers its whole subtree. Retired units are not counted.

Parameters the conditions use (see `parameters`): :today, :soon (today + 7 days), :year_start, and the
age cut-offs :born_6, :born_14, :born_17 (a child born on or before :born_N is at least N years old).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tenant_app.cases import enums as CE
from tenant_app.children import enums as E

GROUPS = {
    "children": ("儿童总数", "Children"),
    "category": ("儿童类别", "Categories"),
    "age": ("年龄段", "Age bands"),
    "sex": ("性别", "Sex"),
    "guardianship": ("监护类型", "Guardianship"),
    "schooling": ("就学", "Schooling"),
    "registration": ("户籍登记", "Household registration"),
    "risk": ("风险", "Risk"),
    "visits": ("走访", "Visits"),
    "exits": ("退出（本年度）", "Exits (this year)"),
    "staff": ("队伍覆盖", "Staff coverage"),
    "confirmation": ("委托监护确认", "Entrusted guardianship confirmed"),
    "case_reports": ("强制报告（本年度）", "Reports received (this year)"),
    "case_reporters": ("报告主体（本年度）", "Reporters (this year)"),
    "case_delay": ("报告时效（本年度）", "Reporting delay (this year)"),
    "cases_open": ("在办案件", "Open cases"),
    "case_clock": ("办理时效", "Handling times"),
    "case_outcomes": ("保护成效（本年度）", "Protection outcomes (this year)"),
    "roster": ("儿童主任和督导员在岗", "Directors and supervisors in post"),
    "training": ("培训（本年度）", "Training (this year)"),
    "link_outcomes": ("比对核查成效（本年度）", "Found through the rolls (this year)"),
}

# Days ahead within which a visit counts as due (the visits list's "due soon").
DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class Indicator:
    key: str
    label_zh: str
    label_en: str
    group: str
    population: str  # "active", "exited", "units", or a case population (sync.case_figures)
    condition: str | None = None  # SQL over a source row; None = every row of the population

    def label(self, locale: str = "zh") -> str:
        return self.label_en if locale == "en" else self.label_zh

    @property
    def from_children(self) -> bool:
        return self.population in ("active", "exited")


def _i(key, zh, en, group, condition=None, population="active") -> Indicator:
    return Indicator(key, zh, en, group, population, condition)


_DIFFICULTY_EN = {"orphan": "orphans", "de_facto_unsupported": "de-facto unsupported",
                  "poor_family": "poor family", "illness_disability": "serious illness or disability",
                  "other": "other"}
_GUARDIANSHIP_EN = {"unattended": "unattended", "parent_incapable": "parent lacks capacity",
                    "guardian_incapable": "entrusted guardian lacks capacity", "fair": "fair", "good": "good"}
_EXIT_EN = {"turned_16": "turned 16", "parents_returned": "parents returned", "moved_away": "moved away",
            "deceased": "deceased", "other": "other"}


# Case indicators (tenant_app.cases), computed by sync.case_figures. Populations: "reports" (cases first
# reported this CST year), "open" (open cases now), "actions" (timeline entries recorded this CST year), and
# "median" (minutes, the median over this year's reports: not a count, so every level computes it from the
# cases themselves instead of summing its child units).
_CATEGORY_EN = {"living_alone": "living alone / without care", "missing": "missing",
                "guardian_failing": "guardian unable or failing", "domestic_violence": "suspected domestic violence",
                "injury_or_harm": "suspected injury or unlawful harm", "sexual_harm": "sexual harm",
                "abandonment": "abandonment", "abduction_or_begging": "abduction or forced begging"}
_REPORTER_EN = {"staff": "staff", "hotline": "hotline", "school": "schools", "kindergarten": "kindergartens",
                "clinic": "clinics", "social_work": "social-work organisations", "police": "police stations",
                "other": "others"}
_STAGE_EN = {"reported": "awaiting acceptance", "accepted": "accepted", "emergency": "emergency measures",
             "assessment": "assessment", "help_plan": "help plan", "follow_up": "follow-up"}
DELAY_BANDS = (("0_3", None, 3, "0-3天", "0-3 days"), ("4_14", 4, 14, "4-14天", "4-14 days"),
               ("15_30", 15, 30, "15-30天", "15-30 days"), ("31_over", 31, None, "31天以上", "31 days and more"))
# Outcomes: (key, zh, en, condition on a timeline entry; {kind}, {measure}, {done}, {decided}, {new_guardian}
# are its data fields).
OUTCOMES = (
    ("guardianship_arranged", "落实监护", "Guardianship arranged", "a.kind = 'guardian_appointed'"),
    ("temporary_placements", "临时安置", "Temporary placements", "a.kind = 'temporary_placement'"),
    ("back_to_school", "返校复学", "Back to school",
     "a.kind = 'help_service' AND {kind} = 'back_to_school' AND {done} IS NOT NULL"),
    ("household_registered", "户籍登记", "Household registered",
     "a.kind = 'help_service' AND {kind} = 'household_registration' AND {done} IS NOT NULL"),
    ("assistance_enrolled", "纳入社会救助保障", "Assistance enrolled",
     "a.kind = 'help_service' AND {kind} IN ('dibao', 'temporary_assistance', 'tekun', 'de_facto_unsupported') "
     "AND {done} IS NOT NULL"),
    ("guardianship_revoked", "撤销监护人资格", "Guardianship revoked",
     "a.kind = 'guardianship_intervention' AND {measure} = 'court_revocation' AND {decided} IS NOT NULL"),
)
CASE_INDICATORS_DEF: tuple[Indicator, ...] = (
    _i("case_reports", "接报数", "Reports received", "case_reports", None, "reports"),
    *(_i(f"case_reports_{code}", f"接报：{zh}", f"Reports: {_CATEGORY_EN[code]}", "case_reports",
         f"category = '{code}'", "reports") for code, zh in CE.CATEGORIES.items()),
    *(_i(f"case_reporter_{code}", f"报告主体：{zh}", f"Reported by {_REPORTER_EN[code]}", "case_reporters",
         f"reporter_kind = '{code}'", "reports") for code, zh in CE.REPORTER_KINDS.items()),
    *(_i(f"case_delay_{key}", f"事发至报告：{zh}", f"Incident to report: {en}", "case_delay",
         " AND ".join(part for part in (f"delay_days >= {lo}" if lo is not None else "",
                                        f"delay_days <= {hi}" if hi is not None else "") if part), "reports")
      for key, lo, hi, zh, en in DELAY_BANDS),
    _i("cases_open", "在办案件", "Open cases", "cases_open", None, "open"),
    *(_i(f"cases_open_{code}", f"在办：{CE.STAGES[code]}", f"Open: {_STAGE_EN[code]}", "cases_open",
         f"stage = '{code}'", "open") for code in CE.OPEN_STAGES),
    _i("cases_overdue", "逾期环节", "Overdue steps", "case_clock", "overdue = 1", "open"),
    _i("cases_escalated", "已上报上级督办", "Escalated above the county", "case_clock", "escalation_level >= 1",
       "open"),
    _i("case_accept_minutes_median", "受理用时中位数（分钟）", "Median minutes to acceptance", "case_clock",
       "accept_minutes", "median"),
    _i("case_measure_minutes_median", "首次应急处置用时中位数（分钟）", "Median minutes to the first emergency measure",
       "case_clock", "measure_minutes", "median"),
    *(_i(f"outcome_{key}", zh, en, "case_outcomes", condition, "actions") for key, zh, en, condition in OUTCOMES),
)

INDICATORS: tuple[Indicator, ...] = (
    _i("children_total", "在册儿童", "Children on the register", "children"),
    _i("left_behind", "留守儿童", "Left-behind children", "category", "is_left_behind"),
    _i("in_difficulty", "困境儿童", "Children in difficulty", "category", "is_in_difficulty"),
    _i("de_facto_unsupported", "事实无人抚养儿童", "De-facto unsupported children", "category",
       "is_de_facto_unsupported"),
    *(_i(f"difficulty_{code}", f"困境儿童：{zh}", f"In difficulty: {_DIFFICULTY_EN[code]}", "category",
         f"is_in_difficulty AND difficulty_subcategory = '{code}'")
      for code, zh in E.DIFFICULTY_SUBCATEGORIES.items()),
    _i("age_0_5", "0-5周岁", "Aged 0-5", "age", "birth_date > :born_6"),
    _i("age_6_13", "6-13周岁", "Aged 6-13", "age", "birth_date <= :born_6 AND birth_date > :born_14"),
    _i("age_14_16", "14-16周岁", "Aged 14-16", "age", "birth_date <= :born_14 AND birth_date > :born_17"),
    # De-facto unsupported children stay on the register until 18.
    _i("age_17_over", "17周岁及以上", "Aged 17 and over", "age", "birth_date <= :born_17"),
    _i("male", "男", "Boys", "sex", "sex = 'male'"),
    _i("female", "女", "Girls", "sex", "sex = 'female'"),
    *(_i(f"guardianship_{code}", f"监护类型：{zh}", f"Guardianship: {_GUARDIANSHIP_EN[code]}", "guardianship",
         f"guardianship_type = '{code}'") for code, zh in E.GUARDIANSHIP_TYPES.items()),
    _i("guardianship_unassessed", "监护类型：未评定", "Guardianship: not assessed", "guardianship",
       "guardianship_type IS NULL"),
    _i("dropouts", "辍学", "Dropped out of school", "schooling", "schooling = 'dropout'"),
    _i("not_in_school", "不在学", "Not in school", "schooling", "schooling = 'not_in_school'"),
    _i("no_household_registration", "未登记户口", "Without household registration", "registration",
       "NOT hukou_registered"),
    _i("high_risk", "高风险", "High risk", "risk", "risk_level = 'high'"),
    _i("medium_risk", "中风险", "Medium risk", "risk", "risk_level = 'medium'"),
    _i("low_risk", "低风险", "Low risk", "risk", "risk_level = 'low'"),
    _i("unattended", "无人监护", "Unattended", "risk", "unattended"),
    _i("visits_due", "7日内应走访", "Visits due within 7 days", "visits", "due_on >= :today AND due_on <= :soon"),
    _i("visits_overdue", "走访逾期", "Visits overdue", "visits", "due_on < :today"),
    _i("exits_total", "本年退出", "Exits this year", "exits", None, "exited"),
    *(_i(f"exits_{code}", f"退出：{zh}", f"Exits: {_EXIT_EN[code]}", "exits", f"exit_reason = '{code}'", "exited")
      for code, zh in E.EXIT_REASONS.items()),
    _i("villages_total", "村(居)数", "Villages", "staff", population="units"),
    _i("villages_with_director", "已配备儿童主任的村(居)", "Villages with a children's director", "staff",
       population="units"),
    _i("townships_total", "乡镇(街道)数", "Townships", "staff", population="units"),
    _i("townships_with_supervisor", "已配备儿童督导员的乡镇(街道)", "Townships with a supervisor", "staff",
       population="units"),
    _i("guardianship_confirmed", "已签委托监护责任确认书的留守儿童", "Left-behind children with a signed confirmation",
       "confirmation", "is_left_behind AND guardianship_confirmed_on IS NOT NULL"),
    *CASE_INDICATORS_DEF,
    # The roster and its training (tenant_app.workforce, tenant_app.training; SQL in sync.roster_figures).
    _i("directors_in_post", "儿童主任在岗的村(居)", "Villages with a director in post (roster)", "roster",
       population="units"),
    _i("supervisors_in_post", "督导员在岗的乡镇(街道)", "Townships with a supervisor in post (roster)", "roster",
       population="units"),
    _i("villages_vacant", "儿童主任空缺的村(居)", "Villages without a director", "roster", population="units"),
    _i("townships_vacant", "督导员空缺的乡镇(街道)", "Townships without a supervisor", "roster", population="units"),
    _i("vacancy_days", "空缺天数合计", "Days vacant (sum over vacant units)", "roster", population="units"),
    _i("trained_this_year", "本年参训的在岗人员", "People in post trained this year", "training",
       population="units"),
    _i("training_hours", "在岗人员本年培训学时", "Training hours this year of people in post", "training",
       population="units"),
    # Outcomes of the worklists' verification (tenant_app.links; SQL in sync.link_figures).
    _i("links_back_to_school", "核查发现辍学并返校", "Dropouts found and back in school", "link_outcomes",
       population="units"),
    _i("links_put_on_record", "核查发现并建档", "Unregistered children found and put on record", "link_outcomes",
       population="units"),
    _i("links_household_registered", "核查后办理户籍登记", "Household registrations done", "link_outcomes",
       population="units"),
    _i("links_assistance_enrolled", "核查后纳入救助", "Assistance enrolments", "link_outcomes", population="units"),
)

KEYS: tuple[str, ...] = tuple(i.key for i in INDICATORS)
BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}
CHILD_INDICATORS: tuple[Indicator, ...] = tuple(i for i in INDICATORS if i.from_children)
UNIT_INDICATORS: tuple[Indicator, ...] = tuple(i for i in INDICATORS if i.population == "units")
# Case counts sum up the tree like child counts; medians do not (each level computes its own).
CASE_COUNT_INDICATORS: tuple[Indicator, ...] = tuple(i for i in INDICATORS
                                                     if i.population in ("reports", "open", "actions"))
MEDIAN_INDICATORS: tuple[Indicator, ...] = tuple(i for i in INDICATORS if i.population == "median")
ADDITIVE_KEYS: tuple[str, ...] = tuple(i.key for i in INDICATORS if i.population != "median")

# The source relation's columns the conditions may use.
SOURCE_COLUMNS = ("region_code", "status", "is_left_behind", "is_in_difficulty", "difficulty_subcategory",
                  "is_de_facto_unsupported", "birth_date", "sex", "guardianship_type", "schooling",
                  "hukou_registered", "risk_level", "unattended", "exit_reason", "exited_at", "due_on",
                  "guardianship_confirmed_on")

# The national summary sheet's identities: the total equals the sum of its parts, at every unit.
IDENTITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("children_total", ("age_0_5", "age_6_13", "age_14_16", "age_17_over")),
    ("children_total", ("male", "female")),
    ("children_total", tuple(f"guardianship_{c}" for c in E.GUARDIANSHIP_TYPES) + ("guardianship_unassessed",)),
    ("children_total", ("high_risk", "medium_risk", "low_risk")),
    ("in_difficulty", tuple(f"difficulty_{c}" for c in E.DIFFICULTY_SUBCATEGORIES)),
    ("exits_total", tuple(f"exits_{c}" for c in E.EXIT_REASONS)),
    ("case_reports", tuple(f"case_reports_{c}" for c in CE.CATEGORIES)),
    ("case_reports", tuple(f"case_reporter_{c}" for c in CE.REPORTER_KINDS)),
    ("case_reports", tuple(f"case_delay_{band[0]}" for band in DELAY_BANDS)),
    ("cases_open", tuple(f"cases_open_{c}" for c in CE.OPEN_STAGES)),
    # Every village has a director in post or is vacant today; every township a supervisor or is vacant.
    ("villages_total", ("directors_in_post", "villages_vacant")),
    ("townships_total", ("supervisors_in_post", "townships_vacant")),
)
# Parts that can never exceed their whole.
BOUNDS: tuple[tuple[str, str], ...] = (
    ("left_behind", "children_total"), ("in_difficulty", "children_total"),
    ("de_facto_unsupported", "children_total"), ("unattended", "children_total"),
    ("dropouts", "children_total"), ("not_in_school", "children_total"),
    ("no_household_registration", "children_total"), ("visits_due", "children_total"),
    ("visits_overdue", "children_total"), ("villages_with_director", "villages_total"),
    ("townships_with_supervisor", "townships_total"), ("guardianship_confirmed", "left_behind"),
    ("cases_overdue", "cases_open"), ("cases_escalated", "cases_open"),
    ("directors_in_post", "villages_total"),
    ("supervisors_in_post", "townships_total"),
)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def parameters(today: date) -> dict[str, date]:
    """The bound values the conditions need, for `today` in China Standard Time."""
    return {"today": today, "soon": today + timedelta(days=DUE_SOON_DAYS), "year_start": date(today.year, 1, 1),
            "next_year_start": date(today.year + 1, 1, 1),
            "born_6": years_before(today, 6), "born_14": years_before(today, 14),
            "born_17": years_before(today, 17)}


def row_condition(indicator: Indicator) -> str:
    """The full SQL condition on a source row: population and the indicator's own condition."""
    if indicator.population == "active":
        base = "status = 'active'"
    elif indicator.population == "exited":
        base = "status = 'exited' AND exited_at >= :year_start"
    else:
        raise ValueError(f"{indicator.key} is not computed from child rows")
    return f"{base} AND ({indicator.condition})" if indicator.condition else base


def aggregate_sql(indicator: Indicator, dialect: str = "postgresql") -> str:
    """`count(*) FILTER (WHERE …)` on PostgreSQL, the portable `SUM(CASE …)` elsewhere."""
    if dialect == "postgresql":
        return f"count(*) FILTER (WHERE {row_condition(indicator)})"
    return f"coalesce(sum(CASE WHEN {row_condition(indicator)} THEN 1 ELSE 0 END), 0)"


def labels(locale: str = "zh") -> dict[str, str]:
    return {i.key: i.label(locale) for i in INDICATORS}


def zeros() -> dict[str, int]:
    return dict.fromkeys(KEYS, 0)


def identity_problems(figures: dict[str, int]) -> list[str]:
    """Human-readable breaches of the summary sheet's identities and bounds (empty when consistent)."""
    problems = []
    for whole, parts in IDENTITIES:
        total = sum(figures[p] for p in parts)
        if figures[whole] != total:
            problems.append(f"{whole}={figures[whole]} but {' + '.join(parts)} = {total}")
    for part, whole in BOUNDS:
        if figures[part] > figures[whole]:
            problems.append(f"{part}={figures[part]} exceeds {whole}={figures[whole]}")
    return problems


# The campaign progress figures stored per unit and open campaign.
CAMPAIGN_FIELDS = ("total", "not_started", "draft", "submitted", "approved", "returned", "overdue",
                   "completed_on_time")
CAMPAIGN_LABELS = {
    "total": ("任务数", "Tasks"), "not_started": ("未开始", "Not started"), "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"), "approved": ("已通过", "Approved"), "returned": ("已退回", "Returned"),
    "overdue": ("逾期", "Overdue"), "completed_on_time": ("按时完成", "Completed on time"),
}
