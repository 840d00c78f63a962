"""Synthetic child records for demos and scale tests: `generate_children(connection, n, unit_code)`.

Rows are made in Python from fixed pools (common surnames and given names, work places, schools named after
the township) in village-code order (index maintenance then stays on neighbouring pages: several times faster
than random order) and written set-based: on PostgreSQL streamed with COPY into a temporary table and moved
into `children` with one INSERT ... SELECT per chunk of 10,000 (COPY FROM cannot write a table under row-level
security, INSERT can, and the policy's WITH CHECK still applies; the columns equal for every row are set in
the SELECT); on SQLite with executemany in batches. A producer thread makes the next chunk while the database
inserts the current one. `LAST_STATS` tells where the last PostgreSQL run spent its time.

Every row satisfies the model's CHECK constraints and `validation.validate_child`, and its derived values
(`unattended`, forced high risk) agree with `validation.derive`. The mix follows the national picture in
DOMAIN.md: most records are left-behind children, some are children in difficulty, a few are de-facto
unsupported, and a small share of left-behind children are unattended (no entrusted guardian: high risk).

ID numbers (GB 11643) carry the village's county code, the birth date and a sequence digit agreeing with the
sex. They are unique within the province by construction: for each (county, birth date) the sequence numbers
continue after the highest one already stored in that province, and a full day moves the birth date on.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from array import array
from datetime import UTC, date, datetime, timedelta
from random import Random

from sqlalchemy import and_, func, or_, select

from hierarchy.citus_schema import via_results
from hierarchy.codes import Level, is_valid_code
from hierarchy.models import Unit
from hierarchy.scope import SCOPE_SET_INFO, apply_db_scope, job_scope
from sync.outbox import record_bulk
from tenant_app.children.idcard import CHECK_CHARS, WEIGHTS
from tenant_app.children.models import Child
from tenant_app.children.validation import age_on, today_cst

# Every column but the primary key, in the order rows are made.
COLUMNS = (
    "region_code", "name", "sex", "ethnicity", "birth_date", "id_number",
    "hukou_registered", "hukou_place", "current_address", "boards_at_school",
    "health_status", "disability_type", "disability_grade", "schooling", "school_name",
    "father_name", "father_birth_date", "father_id_number", "father_situation", "father_work_province",
    "father_work_city", "father_phone",
    "mother_name", "mother_birth_date", "mother_id_number", "mother_situation", "mother_work_province",
    "mother_work_city", "mother_phone",
    "guardian_name", "guardian_phone", "guardian_id_number", "guardian_relationship", "guardian_address",
    "guardianship_type", "guardianship_assessment", "income_sources", "assistance",
    "is_left_behind", "is_in_difficulty", "difficulty_subcategory", "is_de_facto_unsupported",
    "risk_level", "unattended", "reviewer", "form_filler", "report_date",
    # the same for every row: on PostgreSQL set in the INSERT ... SELECT rather than copied
    "province_code", "hukou_rural", "status", "exit_reason", "exited_at",
    "version", "created_by_id", "created_at", "updated_by_id", "updated_at",
)
CONSTANTS = {"province_code": "substr(region_code, 1, 2)", "hukou_rural": "true", "status": "'active'",
             "exit_reason": "NULL", "exited_at": "NULL", "version": "1", "created_by_id": "NULL",
             "created_at": "now()", "updated_by_id": "NULL", "updated_at": "now()"}
COPIED = COLUMNS[: len(COLUMNS) - len(CONSTANTS)]
assert set(COLUMNS[len(COPIED):]) == set(CONSTANTS)
NULL = "\\N"  # COPY text format
BOOL_COLUMNS = frozenset(c for c in COLUMNS if c.startswith(("is_", "hukou_r", "boards")) or c == "unattended")
INT_COLUMNS = frozenset({"disability_grade", "version", "created_by_id", "updated_by_id"})
CHUNK_ROWS = 10_000  # about 5 MB: the temporary table stays within the default temp_buffers (8 MB)
SQLITE_BATCH = 5_000

# --- pools ------------------------------------------------------------------------------------------

# The most common surnames, weighted roughly by frequency.
SURNAMES = (
    "王" * 72 + "李" * 71 + "张" * 67 + "刘" * 54 + "陈" * 46 + "杨" * 31 + "黄" * 23 + "赵" * 20 + "吴" * 19
    + "周" * 19 + "徐" * 15 + "孙" * 15 + "马" * 14 + "朱" * 13 + "胡" * 12 + "郭" * 12 + "何" * 11 + "林" * 10
    + "高" * 10 + "罗" * 10 + "郑" * 9 + "梁" * 9 + "谢" * 8 + "宋" * 7 + "唐" * 7 + "许" * 7 + "韩" * 7
    + "冯" * 6 + "邓" * 6 + "曹" * 6 + "彭" * 5 + "曾" * 5 + "肖" * 5 + "田" * 5 + "董" * 5 + "袁" * 4
    + "潘" * 4 + "于" * 4 + "蒋" * 4 + "蔡" * 4 + "余" * 4 + "杜" * 4 + "叶" * 4 + "程" * 4 + "苏" * 3
    + "魏" * 3 + "吕" * 3 + "丁" * 3 + "任" * 3 + "沈" * 3 + "姚" * 3 + "卢" * 3 + "钟" * 3 + "廖" * 2
)
BOY_CHARS = "浩宇轩子涵博文俊杰明辉鹏晨阳睿泽思远嘉豪志强伟建国家乐天佑铭奕宏恩瑞诚皓然一鸣昊天"
GIRL_CHARS = "梓涵欣怡诗雨婷佳琪思彤雅静紫萱可馨晓梅雪慧敏丽娟芳秀英若曦语桐梦瑶心悦春燕美玲丹"
OLD_MALE = "国华建军德明志福贵永强春生金山学文长林振海"
OLD_FEMALE = "秀兰桂英玉珍淑芬凤霞翠花秋菊冬梅春梅金凤兰芳"


def _given_names(chars: str) -> list[str]:
    singles = list(dict.fromkeys(chars))
    doubles = [a + b for a in singles for b in singles if a != b]
    return singles * (len(doubles) // (3 * len(singles)) or 1) + doubles  # about a quarter single-character


BOY_NAMES = _given_names(BOY_CHARS)
GIRL_NAMES = _given_names(GIRL_CHARS)
MAN_NAMES = _given_names(OLD_MALE + BOY_CHARS[:12])
WOMAN_NAMES = _given_names(OLD_FEMALE + GIRL_CHARS[:12])
ELDER_MAN_NAMES = _given_names(OLD_MALE)
ELDER_WOMAN_NAMES = _given_names(OLD_FEMALE)
N_MAN, N_WOMAN = len(MAN_NAMES), len(WOMAN_NAMES)
ASSESSMENT_OF = {"good": "good", "fair": "fair"}  # the others (incapable, unattended): poor

ETHNICITIES = ("汉族",) * 184 + ("壮族",) * 3 + ("回族",) * 2 + ("苗族",) * 2 + ("瑶族",) * 3 + ("土家族",) * 2 + (
    "彝族", "畲族", "侗族", "布依族")
WORK_PLACES = (
    ("广东省", "深圳市"), ("广东省", "深圳市"), ("广东省", "东莞市"), ("广东省", "东莞市"), ("广东省", "广州市"),
    ("广东省", "广州市"), ("广东省", "佛山市"), ("广东省", "中山市"), ("浙江省", "杭州市"), ("浙江省", "宁波市"),
    ("浙江省", "温州市"), ("浙江省", "金华市"), ("江苏省", "苏州市"), ("江苏省", "南京市"), ("上海市", "上海市"),
    ("北京市", "北京市"), ("福建省", "厦门市"), ("福建省", "泉州市"), ("天津市", "天津市"), ("湖北省", "武汉市"),
)
PHONE_PREFIXES = ("13", "13", "15", "15", "18", "18", "17", "19")
DISABILITY_TYPES = ("肢体残疾", "肢体残疾", "智力残疾", "智力残疾", "言语残疾", "听力残疾", "视力残疾",
                    "精神残疾", "多重残疾")
GROUPS = tuple(f"{n}组" for n in "一二三四五六七八九十")


_JSON: dict[tuple, str] = {}


def _json(values: tuple) -> str:
    text = _JSON.get(values)
    if text is None:
        text = _JSON[values] = json.dumps(list(values))
    return text


# --- the profile of a record: parents, guardian, categories -----------------------------------------

# (share, kind). Left-behind about 80%, in difficulty about 18% (some of them also left-behind), de-facto
# unsupported about 3%; 1.2% of the left-behind with both parents away have no guardian (unattended).
PROFILES = (
    (0.715, "lb_both"),
    (0.085, "lb_one"),
    (0.075, "poor"),
    (0.035, "ill"),
    (0.030, "other"),
    (0.010, "orphan"),
    (0.030, "dfu"),
    (0.020, "poor_away"),  # left-behind and in difficulty (poor family)
)
UNATTENDED_SHARE = 0.012


def _cumulative(pairs):
    total, out = 0.0, []
    for share, kind in pairs:
        total += share
        out.append((total, kind))
    return out


# --- dates and ID numbers ---------------------------------------------------------------------------

BASE_ORDINAL = date(1935, 1, 1).toordinal()
W_COUNTY, W_DATE, W_SEQ = WEIGHTS[:6], WEIGHTS[6:14], WEIGHTS[14:17]
SEQ3 = tuple(f"{s:03d}" for s in range(1000))
SEQ_SUM = tuple(sum(int(d) * w for d, w in zip(s, W_SEQ, strict=True)) for s in SEQ3)


class _Dates:
    """ISO text, YYYYMMDD and the ID-number weighted sum of every day from 1935 to today, by ordinal."""

    def __init__(self, today: date):
        self.iso, self.ymd, self.wsum = [], [], []
        for ordinal in range(BASE_ORDINAL, today.toordinal() + 1):
            d = date.fromordinal(ordinal)
            ymd = f"{d.year:04d}{d.month:02d}{d.day:02d}"
            self.iso.append(d.isoformat())
            self.ymd.append(ymd)
            self.wsum.append(sum(int(c) * w for c, w in zip(ymd, W_DATE, strict=True)))


def _ordinal_of(ymd: str) -> int | None:
    try:
        return date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8])).toordinal()
    except ValueError:
        return None


def county_wsum(county: str) -> int:
    return sum(int(c) * w for c, w in zip(county, W_COUNTY, strict=True))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- what is already stored ---------------------------------------------------------------------------

def _villages(connection, unit_code: str | None) -> list[tuple]:
    """Active villages under the unit: (code, village name, township name, county name)."""
    units = Unit.__table__
    query = select(units.c.code, units.c.name, units.c.level).where(
        units.c.level.in_((int(Level.county), int(Level.township), int(Level.village))))
    if unit_code:
        lo = unit_code[:6]  # the county and township above a township or village unit
        query = query.where(units.c.code >= lo, units.c.code < unit_code + ":")
    names, villages = {}, []
    for code, name, level in connection.execute(query.where(units.c.retired.is_(False) | (units.c.level < 5))):
        if level == int(Level.village) and (not unit_code or code.startswith(unit_code)):
            villages.append(code)
        names[code] = name
    villages.sort()
    return [(code, names[code], names.get(code[:9], ""), names.get(code[:6], "")) for code in villages]


def _existing_sequences(connection, counties: list[str]) -> dict[str, int]:
    """Highest sequence number stored per ID-number prefix (county + birth date) of these counties."""
    children = Child.__table__
    prefix = func.substr(children.c.id_number, 1, 14)
    by_province: dict[str, list[str]] = {}
    for county in counties:
        by_province.setdefault(county[:2], []).append(county)
    found: dict[str, int] = {}
    for province, codes in by_province.items():
        where = [children.c.province_code == province, children.c.id_number.is_not(None)]
        if len(codes) <= 50:
            where.append(or_(*(and_(children.c.id_number >= code, children.c.id_number < code + ":")
                               for code in codes)))
        query = select(prefix, func.max(func.substr(children.c.id_number, 15, 3))).where(*where).group_by(prefix)
        for key, top in connection.execute(query):
            if top and top.isdigit():
                found[key] = max(found.get(key, 0), int(top))
    return found


# --- rows ---------------------------------------------------------------------------------------------

class _Maker:
    """Makes rows as lists of COPY text fields (NULL as \\N, booleans t/f)."""

    def __init__(self, villages, n: int, seed: int, today: date, now_text: str, existing: dict[str, int]):
        self.rng = Random(seed)
        self.n = n
        self.today = today
        self.now_text = now_text
        self.dates = _Dates(today)
        self.today_ord = today.toordinal()
        # Birth dates: ages 0-15 with a margin of a week at both ends.
        oldest = _years_before(today, 16) + timedelta(days=7)
        self.lo = oldest.toordinal()
        self.span = self.today_ord - 7 - self.lo + 1
        self.ages = [age_on(date.fromordinal(self.lo + i), today) for i in range(self.span)]
        # Villages, their counties and precomputed text.
        self.villages = []
        county_index: dict[str, int] = {}
        for code, vname, tname, cname in villages:
            county = code[:6]
            ci = county_index.setdefault(county, len(county_index))
            clean = [_clean(s) for s in (vname, tname, cname)]
            vname, tname, cname = clean
            place = f"{cname}{tname}{vname}"
            rural = 200 <= int(code[9:]) <= 399
            self.villages.append((code, code[:2], county, ci, county_wsum(county), place, vname, tname, cname,
                                  rural))
        self.counties = list(county_index)
        self.seqs: list[array | None] = [None] * len(self.counties)
        # Rural villages hold more children than urban communities; each village gets its own size.
        rng = self.rng
        weights = [(1.0 if v[9] else 0.35) * (0.3 + rng.random() * 1.4) for v in self.villages]
        total, self.cum = 0.0, []
        for w in weights:
            total += w
            self.cum.append(total)
        # Per village: the children's director who fills the forms and the reviewer who checks them.
        self.villages = [(*v, self.person("m" if rng.random() < 0.5 else "f"), self.person("f"))
                         for v in self.villages]
        self.profiles = _cumulative(PROFILES)
        self.phones = [self.pick(PHONE_PREFIXES) + f"{int(rng.random() * 1e9):09d}" for _ in range(20_000)]
        # Highest stored sequence per county and birth day (index into the span of birth dates).
        self.existing: dict[str, list[tuple[int, int]]] = {}
        for prefix, top in existing.items():
            ordinal = _ordinal_of(prefix[6:14])
            if ordinal is not None and self.lo <= ordinal < self.lo + self.span:
                self.existing.setdefault(prefix[:6], []).append((ordinal - self.lo, top))

    # helpers
    def pick(self, pool):
        return pool[int(self.rng.random() * len(pool))]

    def person(self, sex: str, surname: str | None = None, elder: bool = False) -> str:
        if elder:
            pool = ELDER_MAN_NAMES if sex == "m" else ELDER_WOMAN_NAMES
        else:
            pool = MAN_NAMES if sex == "m" else WOMAN_NAMES
        return (surname or self.pick(SURNAMES)) + self.pick(pool)

    def phone(self) -> str:
        return self.phones[int(self.rng.random() * len(self.phones))]

    def adult_id(self, county: str, cws: int, ordinal: int, male: bool) -> str:
        i = ordinal - BASE_ORDINAL
        seq = int(self.rng.random() * 500) * 2 + (1 if male else 0)
        d = self.dates
        return county + d.ymd[i] + SEQ3[seq] + CHECK_CHARS[(cws + d.wsum[i] + SEQ_SUM[seq]) % 11]

    def allocate(self, ci: int, county: str, day: int, male: bool) -> tuple[int, int]:
        """(day, sequence) for a new child of this county: the next free number of the right parity."""
        seqs = self.seqs[ci]
        if seqs is None:
            seqs = self.seqs[ci] = array("H", [1]) * self.span
            for i, top in self.existing.get(county, ()):
                seqs[i] = top + 1
        for _ in range(self.span):
            s = seqs[day]
            if (s & 1) != male:
                s += 1
            if s <= 999:
                seqs[day] = s + 1
                return day, s
            day = (day + 1) % self.span  # that day is full in this county: the next one
        raise ValueError(f"no free ID numbers left in county {county}")

    def chunks(self, size: int):
        """Rows in village order: index maintenance then works on neighbouring pages (several times faster)."""
        picks = self.rng.choices(range(len(self.villages)), cum_weights=self.cum, k=self.n)
        picks.sort()
        villages, row = self.villages, self.row
        for start in range(0, self.n, size):
            yield [row(villages[i]) for i in picks[start:start + size]]

    def row(self, village) -> list[str]:
        r = self.rng.random
        pick = self.pick
        code, province, county, ci, cws, place, vname, tname, cname, _rural, director, supervisor = village
        d = self.dates

        # identity
        male = r() < 0.52
        day, seq = self.allocate(ci, county, int(r() * self.span), male)
        birth_ord = self.lo + day
        bi = birth_ord - BASE_ORDINAL
        age = self.ages[day]
        surname = SURNAMES[int(r() * len(SURNAMES))]
        name = surname + pick(BOY_NAMES if male else GIRL_NAMES)
        registered = r() >= 0.002
        if registered:
            id_number = county + d.ymd[bi] + SEQ3[seq] + CHECK_CHARS[(cws + d.wsum[bi] + SEQ_SUM[seq]) % 11]
        else:
            id_number = NULL  # no household registration yet (未登记户口)

        # profile
        x = r()
        kind = "lb_both"
        for bound, candidate in self.profiles:
            if x < bound:
                kind = candidate
                break
        health, dis_type, dis_grade = "healthy", NULL, NULL
        h = r()
        if kind == "ill":
            if h < 0.6:
                health, dis_type, dis_grade = "disabled", pick(DISABILITY_TYPES), str(1 + int(r() * 4))
            else:
                health = "serious_illness"
        elif h < 0.025:
            health = "chronic_illness"
        elif h < 0.03:
            health, dis_type, dis_grade = "disabled", pick(DISABILITY_TYPES), str(3 + int(r() * 2))

        father_sit, mother_sit = "home", "home"
        guardian = True
        left_behind = difficulty = dfu = False
        subcategory = NULL
        income, assistance = ("farming",), ()
        gtype = "good" if r() < 0.55 else "fair"
        risk = "low"
        if kind in ("lb_both", "poor_away"):
            father_sit = mother_sit = "away"
            left_behind = True
            income = ("migrant_work", "farming") if r() < 0.6 else ("migrant_work",)
            if kind == "poor_away":
                difficulty, subcategory = True, "poor_family"
                assistance = ("dibao",) if r() < 0.6 else ("poor_household", "dibao")
                risk = "medium"
            elif r() < UNATTENDED_SHARE / 0.715:
                guardian = False
        elif kind == "lb_one":
            other = pick(("unable", "unable", "unable", "deceased", "missing"))
            if r() < 0.8:
                father_sit, mother_sit = "away", other
            else:
                father_sit, mother_sit = other, "away"
            left_behind = True
            income = ("migrant_work",) if r() < 0.7 else ("migrant_work", "farming")
            risk = "medium" if r() < 0.4 else "low"
        elif kind == "poor":
            father_sit = "home" if r() < 0.6 else "away"
            difficulty, subcategory = True, "poor_family"
            income = ("farming", "government")
            assistance = pick((("dibao",), ("dibao", "poor_household"), ("poor_household",), ("temporary",)))
            risk = "medium" if r() < 0.35 else "low"
            guardian = False
        elif kind == "ill":
            father_sit = "home" if r() < 0.5 else "away"
            difficulty, subcategory = True, "illness_disability"
            income = ("farming", "government")
            assistance = ("medical", "dibao") if r() < 0.5 else ("medical",)
            risk = "high" if dis_grade in ("1", "2") or health == "serious_illness" else "medium"
            guardian = False
        elif kind == "other":
            mother_sit = "home"
            father_sit = "away" if r() < 0.7 else "home"
            difficulty, subcategory = True, "other"
            income = ("migrant_work", "farming") if father_sit == "away" else ("farming",)
            guardian = False
        elif kind == "orphan":
            father_sit = mother_sit = "deceased"
            difficulty, subcategory = True, "orphan"
            income = ("government", "relatives")
            assistance = ("tekun",) if r() < 0.7 else ("tekun", "medical")
            gtype = "fair"
            risk = "medium"
        else:  # de-facto unsupported
            father_sit, mother_sit = pick((("unable", "unable"), ("missing", "unable"), ("unable", "missing"),
                                           ("deceased", "unable"), ("deceased", "missing"),
                                           ("missing", "missing"), ("unable", "deceased")))
            difficulty, dfu, subcategory = True, True, "de_facto_unsupported"
            income = ("government", "relatives")
            assistance = ("dibao",) if r() < 0.5 else ("dibao", "temporary")
            gtype = "parent_incapable"
            risk = "high" if r() < 0.35 else "medium"

        # parents
        father_ord = birth_ord - 365 * 22 - int(r() * 365 * 18)
        mother_ord = birth_ord - 365 * 20 - int(r() * 365 * 16)
        mother_surname = SURNAMES[int(r() * len(SURNAMES))]
        fields_parents = []
        for sex_m, situation, surname_, ordinal in ((True, father_sit, surname, father_ord),
                                                    (False, mother_sit, mother_surname, mother_ord)):
            pname = surname_ + (MAN_NAMES[int(r() * N_MAN)] if sex_m else WOMAN_NAMES[int(r() * N_WOMAN)])
            pborn = d.iso[ordinal - BASE_ORDINAL]
            pid = self.adult_id(county, cws, ordinal, sex_m) if r() < 0.9 else NULL
            if situation == "away":
                province_w, city_w = WORK_PLACES[int(r() * len(WORK_PLACES))]
            else:
                province_w = city_w = ""
            phone = self.phone() if situation in ("away", "home", "unable") else ""
            fields_parents += [pname, pborn, pid, situation, province_w, city_w, phone]

        # entrusted guardian
        if guardian and kind in ("lb_both", "lb_one", "poor_away", "orphan", "dfu"):
            rel_pick = r()
            if rel_pick < 0.38:
                relation, gname = "祖父", self.person("m", surname, elder=True)
            elif rel_pick < 0.72:
                relation, gname = "祖母", self.person("f", elder=True)
            elif rel_pick < 0.80:
                relation, gname = "外祖父", self.person("m", mother_surname, elder=True)
            elif rel_pick < 0.88:
                relation, gname = "外祖母", self.person("f", elder=True)
            elif rel_pick < 0.94:
                relation, gname = "叔伯", self.person("m", surname)
            else:
                relation, gname = "姑姨", self.person("f")
            elder = relation.startswith(("祖", "外祖"))
            g_ord = birth_ord - (365 * 45 + int(r() * 365 * 22) if elder else 365 * 25 + int(r() * 365 * 15))
            g_ord = max(g_ord, BASE_ORDINAL)
            gfields = [gname, self.phone(), self.adult_id(county, cws, g_ord, relation in ("祖父", "外祖父", "叔伯"))
                       if r() < 0.85 else NULL, relation, place]
            if kind in ("lb_both", "lb_one", "poor_away") and elder and r() < 0.12:
                gtype = "guardian_incapable"  # an old or sick grandparent
                risk = "medium" if risk == "low" else risk
        else:
            gfields = ["", "", NULL, "", ""]
            if kind in ("lb_both", "poor_away"):  # both parents away and nobody named: unattended
                gtype = "unattended"
        unattended = gtype == "unattended"
        if unattended:
            risk = "high"
        assessment = ASSESSMENT_OF.get(gtype, "poor")

        # schooling after age
        s = r()
        boards = False
        if age <= 2:
            schooling, school = "no_kindergarten", ""
        elif age <= 5:
            schooling, school = ("kindergarten", f"{tname}中心幼儿园") if s < 0.88 else ("no_kindergarten", "")
        elif age <= 11:
            schooling, school = ("primary", f"{tname}中心小学") if s > 0.003 else ("dropout", "")
            boards = schooling == "primary" and age >= 9 and r() < 0.12
        elif age <= 13:
            schooling, school = ("junior", f"{tname}中学") if s > 0.008 else ("dropout", "")
            boards = schooling == "junior" and r() < 0.45
        elif age == 14:
            if s < 0.975:
                schooling, school = "junior", f"{tname}中学"
            elif s < 0.99:
                schooling, school = "not_in_school", ""
            else:
                schooling, school = "dropout", ""
            boards = schooling == "junior" and r() < 0.45
        else:  # 15
            if s < 0.55:
                schooling, school = "senior", f"{cname}第一中学"
            elif s < 0.88:
                schooling, school = "vocational", f"{cname}职业技术学校"
            elif s < 0.94:
                schooling, school = "junior", f"{tname}中学"
            elif s < 0.98:
                schooling, school = "not_in_school", ""
            else:
                schooling, school = "dropout", ""
            boards = school != "" and r() < 0.6
        if schooling in ("dropout", "not_in_school") and risk == "low":
            risk = "medium"

        report_ord = max(self.today_ord - int(r() * 300), birth_ord)
        director, supervisor = village[10], village[11]
        t = "t"
        f = "f"
        return [
            code, name, "male" if male else "female", ETHNICITIES[int(r() * len(ETHNICITIES))], d.iso[bi], id_number,
            t if registered else f, place, place + GROUPS[int(r() * len(GROUPS))], t if boards else f,
            health, dis_type, dis_grade, schooling, school,
            *fields_parents,
            *gfields,
            gtype, assessment, _json(income), _json(assistance),
            t if left_behind else f, t if difficulty else f, subcategory, t if dfu else f,
            risk, t if unattended else f, supervisor, director, d.iso[report_ord - BASE_ORDINAL],
            province, t, "active", NULL, NULL, "1", NULL, self.now_text, NULL, self.now_text,
        ]


def _clean(text: str) -> str:
    return "".join(ch for ch in (text or "") if ch not in "\\\t\n\r")


# --- writing ------------------------------------------------------------------------------------------

_SCOPE_KEYS = ("app.scope", "app.auth_user_id", "app.auth_username", "app.auth_token_hash")


def _saved_scope(connection) -> tuple | None:
    if connection.dialect.name != "postgresql":
        return None
    sql = "SELECT " + ", ".join(f"current_setting('{key}', true)" for key in _SCOPE_KEYS)
    return tuple(connection.exec_driver_sql(sql).one())


def _restore_scope(connection, saved: tuple | None) -> None:
    if saved is None:
        return
    sql = "SELECT " + ", ".join(f"set_config('{key}', %s, true)" for key in _SCOPE_KEYS)
    connection.exec_driver_sql(sql, tuple(value or "" for value in saved))
    connection.info[SCOPE_SET_INFO] = True


def _produce(maker: _Maker, size: int, out: queue.Queue, stop: threading.Event) -> None:
    copied = len(COPIED)
    try:
        for rows in maker.chunks(size):
            if stop.is_set():
                return
            out.put("".join("\t".join(row[:copied]) + "\n" for row in rows))
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer
        out.put(exc)


LAST_STATS: dict[str, float] = {}  # where the last PostgreSQL run spent its time (seconds)


def _write_postgresql(connection, maker: _Maker, chunk_rows: int) -> None:
    columns = ", ".join(COPIED)
    into = ", ".join((*COPIED, *CONSTANTS))
    values = ", ".join((*COPIED, *CONSTANTS.values()))
    conflict = via_results(connection)  # nothing may conflict: the count inserted is checked
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute("DROP TABLE IF EXISTS pg_temp.shouhu_demo_children")
    cursor.execute(f"CREATE TEMP TABLE shouhu_demo_children AS SELECT {columns} FROM children WITH NO DATA")
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    producer = threading.Thread(target=_produce, args=(maker, chunk_rows, chunks, stop), daemon=True)
    producer.start()
    stats = LAST_STATS
    stats.clear()
    stats.update(wait_s=0.0, copy_s=0.0, insert_s=0.0)
    try:
        while True:
            started = time.perf_counter()
            item = chunks.get()
            stats["wait_s"] += time.perf_counter() - started
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            started = time.perf_counter()
            with cursor.copy(f"COPY shouhu_demo_children ({columns}) FROM STDIN") as copy:
                copy.write(item)
            stats["copy_s"] += time.perf_counter() - started
            started = time.perf_counter()
            cursor.execute(f"INSERT INTO children ({into}) SELECT {values} FROM shouhu_demo_children{conflict}")
            if conflict and cursor.rowcount != item.count("\n"):
                raise RuntimeError(f"{item.count(chr(10)) - cursor.rowcount} generated children conflicted")
            cursor.execute("TRUNCATE shouhu_demo_children")
            stats["insert_s"] += time.perf_counter() - started
        cursor.execute("DROP TABLE pg_temp.shouhu_demo_children")
    finally:
        stop.set()
        while producer.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        cursor.close()


def _sqlite_value(column: str, value: str):
    if value == NULL:
        return None
    if column in BOOL_COLUMNS:
        return 1 if value == "t" else 0
    if column in INT_COLUMNS:
        return int(value)
    return value


def _write_generic(connection, maker: _Maker, batch: int) -> None:
    marks = ", ".join("?" if connection.dialect.paramstyle == "qmark" else "%s" for _ in COLUMNS)
    sql = f"INSERT INTO children ({', '.join(COLUMNS)}) VALUES ({marks})"
    for rows in maker.chunks(batch):
        connection.exec_driver_sql(sql, [tuple(_sqlite_value(c, v) for c, v in zip(COLUMNS, row, strict=True))
                                         for row in rows])


def generate_children(connection, n: int, unit_code: str | None = None, seed: int = 20161, *,
                      today: date | None = None, chunk_rows: int = CHUNK_ROWS) -> int:
    """Insert `n` synthetic children into the active villages under `unit_code` (every village when None).

    Runs on `connection` inside the caller's transaction, with the operator's all-tenants scope (restored
    afterwards). Returns the number of rows inserted.
    """
    if n <= 0:
        return 0
    if unit_code is not None and not is_valid_code(unit_code):
        raise ValueError(f"not a division code: {unit_code!r}")
    today = today or today_cst()
    postgres = connection.dialect.name == "postgresql"
    now = datetime.now(UTC)
    now_text = now.isoformat(sep=" ") if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    saved = _saved_scope(connection)
    with job_scope(all_tenants=True) as scope:
        apply_db_scope(connection, scope)
        try:
            villages = _villages(connection, unit_code)
            if not villages:
                raise ValueError(f"no active villages under {unit_code or 'any unit'}: load the regions first")
            existing = _existing_sequences(connection, sorted({v[0][:6] for v in villages}))
            maker = _Maker(villages, n, seed, today, now_text, existing)
            if postgres:
                _write_postgresql(connection, maker, chunk_rows)
            else:
                _write_generic(connection, maker, SQLITE_BATCH)
            # The caller requests the drain after its commit (sync.outbox.request_drain).
            record_bulk(connection, [v[0] for v in villages], "children")
        finally:
            _restore_scope(connection, saved)
    return n

