"""Reading a roll (.xlsx or CSV) and checking its rows: the columns of each roll kind, field by field."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime

from openpyxl import load_workbook

from tenant_app.children import idcard
from tenant_app.children.excel import BadWorkbook, check_container
from tenant_app.i18n import _l
from tenant_app.links import enums as E
from tenant_app.links.keys import decode_student_no

MAX_ROWS = 100_000  # a workbook's rows (an .xlsx sheet cannot hold a province's roll anyway)
MAX_CSV_ROWS = 5_000_000  # a CSV's rows: a province's school roll, read as a stream
PROBE = 1 << 20  # bytes read to tell UTF-8 from GB18030
MAX_COLUMNS = 40
NOT_READABLE = _l("无法读取该文件，请上传 .xlsx 或 CSV（UTF-8 或 GB18030）文件")
REQUIRED = _l("此项必填")

COMMON = [("姓名", "name"), ("性别", "sex"), ("出生日期", "birth_date"), ("身份证号", "id_number")]
COLUMNS = {
    "school": [("学籍号", "student_no"), *COMMON, ("学校", "school"), ("年级", "grade"), ("学籍状态", "status")],
    "household": [*COMMON, ("住址代码", "address_code"), ("户主", "household_head"),
                  ("父亲身份证号", "father_id_number"), ("母亲身份证号", "mother_id_number"),
                  ("父亲外出", "father_away"), ("母亲外出", "mother_away")],
    "assistance": [*COMMON, ("救助类别", "benefit"), ("住址代码", "address_code")],
    "disability": [*COMMON, ("残疾类别", "disability_type"), ("残疾等级", "disability_grade"),
                   ("住址代码", "address_code")],
}
REQUIRED_HEADERS = {"school": ("姓名", "学籍号", "学籍状态"), "household": ("姓名", "身份证号", "住址代码"),
                    "assistance": ("姓名", "救助类别"), "disability": ("姓名", "身份证号", "残疾等级")}
YES, NO = {"是", "1", "y", "yes", "true"}, {"否", "0", "n", "no", "false", ""}
SEX_BY_LABEL = {"男": "male", "女": "female", "male": "male", "female": "female"}


def header_of(kind: str, field: str) -> str:
    return next((h for h, f in COLUMNS[kind] if f == field), field)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _sheet(content: bytes):
    """Rows of cells of the first sheet, header first."""
    check_container(content)
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        return [[_text(v) for v in row[:MAX_COLUMNS]] for row in ws.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
    except Exception as exc:  # noqa: BLE001 - a sheet that does not parse is the user's file
        raise BadWorkbook(NOT_READABLE) from exc


def _encoding(stream) -> str:
    head = stream.read(PROBE)
    stream.seek(0)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < PROBE)
            return encoding
        except UnicodeDecodeError:
            continue
    raise BadWorkbook(NOT_READABLE)


def _csv_rows(stream):
    """Rows of cells of a CSV read as a stream (UTF-8 or GB18030), header first."""
    text = io.TextIOWrapper(stream, encoding=_encoding(stream), newline="")

    def lines():
        for line in text:
            if "\x00" in line:
                raise BadWorkbook(NOT_READABLE)
            yield line

    try:
        for row in csv.reader(lines()):
            yield [c.strip() for c in row[:MAX_COLUMNS]]
    except (UnicodeDecodeError, csv.Error) as exc:  # a NUL byte, or bytes of another encoding further down
        raise BadWorkbook(NOT_READABLE) from exc
    finally:
        text.detach()


def _table(source, filename: str):
    """(rows of cells, header first, as an iterator; the row limit). `source`: bytes or a seekable binary file."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    if stream.read(2) == b"PK":
        stream.seek(0)
        return iter(_sheet(stream.read())), MAX_ROWS
    stream.seek(0)
    return _csv_rows(stream), MAX_CSV_ROWS


def iter_rows(kind: str, source, filename: str):
    """An iterator of {field: text, "_row": line} of the first sheet or the CSV (blank rows skipped); the header
    is checked before this returns. Raises BadWorkbook (also while iterating: an unreadable line, too many rows,
    no data row)."""
    table, limit = _table(source, filename)
    headers = [h.strip() for h in next(table, None) or []]
    if not headers:
        raise BadWorkbook(_l("文件中没有数据行"))
    missing = [h for h in REQUIRED_HEADERS[kind] if h not in headers]
    if missing:
        raise BadWorkbook(_l("缺少列：%(columns)s", columns="、".join(missing)))
    fields = dict(COLUMNS[kind])
    wanted = [(i, fields[h]) for i, h in enumerate(headers) if h in fields]

    def rows():
        count = 0
        for number, cells in enumerate(table, start=2):
            if not any(cells):
                continue
            if count >= limit:
                raise BadWorkbook(_l("文件超过%(n)s行，请分批上传", n=limit))
            count += 1
            width = len(cells)
            row = {field: cells[i] for i, field in wanted if i < width}
            row["_row"] = number
            yield row
        if not count:
            raise BadWorkbook(_l("文件中没有数据行"))

    return rows()


def read_rows(kind: str, content, filename: str) -> list[dict]:
    """[{field: text, "_row": line}] of the first sheet or the CSV; blank rows skipped."""
    return list(iter_rows(kind, content, filename))


def _date(text: str) -> date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _msgid(label) -> str:
    """The Chinese text of a label (its message id), whatever the language of the request."""
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


_CHOICES: dict[int, dict] = {}


def _choice(value: str, choices: dict) -> str | None:
    """The key of a coded value given as its key or its Chinese label (looked up once per table of choices)."""
    by_label = _CHOICES.get(id(choices))
    if by_label is None:
        by_label = _CHOICES[id(choices)] = {**{_msgid(label): key for key, label in choices.items()},
                                            **{key: key for key in choices}}
    return by_label.get(value)


def check_row(kind: str, raw: dict, dept_unit: str, units: set[str], counties: frozenset = frozenset()
              ) -> tuple[dict, dict]:
    """(values, errors {field: [message]}) of one row; values are ready for roll_rows. `units`: the active
    villages of the department's subtree; `counties`: its counties, when the department is above a county."""
    errors: dict = {}
    values = {"line": raw["_row"], "details": {}}
    name = "".join((raw.get("name") or "").split())
    if not name:
        errors["name"] = [REQUIRED]
    elif len(name) > 64:
        errors["name"] = [_l("最多 %(n)s 字", n=64)]
    values["name"] = name
    student_no = (raw.get("student_no") or "").upper()
    if kind == "school" and not student_no:
        errors["student_no"] = [REQUIRED]
    elif len(student_no) > 40:
        errors["student_no"] = [_l("最多 %(n)s 字", n=40)]
    values["student_no"] = student_no
    number = idcard.normalize(raw.get("id_number")) or decode_student_no(student_no) or ""
    if number:
        problems = idcard.id_number_problems(number, legacy_allowed=False)
        if problems:
            errors["id_number"] = problems
    elif kind in ("household", "disability"):
        errors["id_number"] = [REQUIRED]
    values["id_number"] = number or None
    born_text = raw.get("birth_date") or ""
    born = _date(born_text) if born_text else None
    if born_text and born is None:
        errors["birth_date"] = [_l("日期格式应为 YYYY-MM-DD")]
    sex_text = raw.get("sex") or ""
    sex = SEX_BY_LABEL.get(sex_text)
    if sex_text and sex is None:
        errors["sex"] = [_l("性别应为男或女")]
    if number and "id_number" not in errors:
        id_born, id_sex = idcard.birth_date_of(number), idcard.sex_of(number)
        if born is not None and born != id_born:
            errors.setdefault("birth_date", [_l("出生日期与身份证号不一致")])
        if sex is not None and sex != id_sex:
            errors.setdefault("sex", [_l("性别与身份证号不一致")])
        born, sex = born or id_born, sex or id_sex
    elif not number:
        if born is None and "birth_date" not in errors:
            errors["birth_date"] = [REQUIRED]
        if sex is None and "sex" not in errors:
            errors["sex"] = [REQUIRED]
    values["birth_date"], values["sex"] = born, sex
    address = raw.get("address_code") or ""
    if address and (len(address) != 12 or address not in units):
        errors["address_code"] = [_l("须为本辖区内村（居）12位代码")]
    elif kind == "household" and not address:
        errors["address_code"] = [REQUIRED]
    # Where fuzzy matching looks: the address's county; else, for a city's or province's roll, the county of the
    # ID number (or of a "J" student number's ID-like number) when it is one of the department's; else the
    # department's own unit.
    origin = (number or student_no[1:])[:6]
    if address and len(dept_unit) <= 6:
        values["area_code"] = address[:6]
    elif counties and origin in counties:
        values["area_code"] = origin
    else:
        values["area_code"] = dept_unit
    _details(kind, raw, values["details"], errors)
    return values, errors


def _details(kind: str, raw: dict, details: dict, errors: dict) -> None:
    if kind == "school":
        status = _choice(raw.get("status") or "", E.SCHOOL_STATUSES)
        if status is None:
            errors["status"] = [_l("学籍状态应为在校、休学、辍学或转出")]
        details.update(status=status, school=(raw.get("school") or "")[:100], grade=(raw.get("grade") or "")[:20])
    elif kind == "household":
        for field in ("father_id_number", "mother_id_number"):
            number = idcard.normalize(raw.get(field))
            if number and idcard.id_number_problems(number, legacy_allowed=True):
                errors[field] = [_l("身份证号无效")]
            details[field] = number
        for field in ("father_away", "mother_away"):
            text = (raw.get(field) or "").lower()
            if text not in YES and text not in NO:
                errors[field] = [_l("应为是或否")]
            details[field] = text in YES
        details["household_head"] = (raw.get("household_head") or "")[:64]
        details["address_code"] = raw.get("address_code") or ""
    elif kind == "assistance":
        benefit = _choice(raw.get("benefit") or "", E.BENEFITS)
        if benefit is None:
            errors["benefit"] = [_l("救助类别应为低保、特困、临时救助或事实无人抚养")]
        details["benefit"] = benefit
    elif kind == "disability":
        grade = raw.get("disability_grade") or ""
        if grade not in ("1", "2", "3", "4", "一级", "二级", "三级", "四级"):
            errors["disability_grade"] = [_l("残疾等级应为1至4级")]
        details.update(disability_grade=grade[:4], disability_type=(raw.get("disability_type") or "")[:32])


# --- the fast path: a school roll's ordinary row, checked with look-up tables ------------------------------
# A province's roll has millions of rows; nearly all are well formed. `fast_school_row` accepts only rows that
# `check_row` would accept, and gives the same values; anything else (any doubt) returns None and the row goes
# through `check_row`, which also words the errors.

_W = idcard.WEIGHTS
# Weighted sums of four-digit groups of the first 16 digits, and of the 17th digit.
_GROUPS = [{f"{n:04d}": sum(int(d) * w for d, w in zip(f"{n:04d}", _W[i:i + 4], strict=True)) for n in range(10_000)}
           for i in range(0, 16, 4)]
_LAST = {str(d): d * _W[16] for d in range(10)}
_G0, _G1, _G2, _G3 = _GROUPS
_CHECK = idcard.CHECK_CHARS
_YMD: dict[str, date | None] = {}
_TEXT_DATES: dict[str, date | None] = {}
_STATUS = None


def _ymd(text: str) -> date | None:
    """The date of YYYYMMDD digits (from 1900), or None."""
    try:
        return _YMD[text]
    except KeyError:
        pass
    try:
        found = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        found = None
    if found is not None and found.year < 1900:
        found = None
    if len(_YMD) < 200_000:
        _YMD[text] = found
    return found


def _valid_id(number: str) -> date | None:
    """The birth date of an 18-character ID number whose check character holds (and birth date is valid)."""
    if len(number) != 18 or not number.isascii() or not number[:17].isdigit():
        return None
    try:
        total = _G0[number[0:4]] + _G1[number[4:8]] + _G2[number[8:12]] + _G3[number[12:16]] + _LAST[number[16]]
    except KeyError:
        return None
    if _CHECK[total % 11] != number[17]:
        return None
    return _ymd(number[6:14])


def _text_date(text: str) -> date | None:
    try:
        return _TEXT_DATES[text]
    except KeyError:
        pass
    found = _date(text)
    if len(_TEXT_DATES) < 200_000:
        _TEXT_DATES[text] = found
    return found


def fast_school_row(raw: dict, dept_unit: str, counties: frozenset) -> dict | None:
    """The values of an ordinary school-roll row, as `check_row` makes them; None when in any doubt."""
    global _STATUS
    name = raw.get("name") or ""
    if not name or len(name) > 64 or not name.isalnum():
        return None
    student_no = (raw.get("student_no") or "").upper()
    if not student_no or len(student_no) > 40:
        return None
    given = (raw.get("id_number") or "").strip().upper()
    if given:
        number = given
        id_born = _valid_id(number)
        if id_born is None:
            return None
    elif len(student_no) == 19 and student_no[0] == "G" and (id_born := _valid_id(student_no[1:])) is not None:
        number = student_no[1:]
    else:
        number, id_born = "", None
    if student_no[0] == "G" and not given and not number and len(student_no) == 19:
        return None  # a "G" number that does not decode: let check_row decide, as it does
    born_text = raw.get("birth_date") or ""
    born = _text_date(born_text) if born_text else None
    if born_text and born is None:
        return None
    sex_text = raw.get("sex") or ""
    sex = SEX_BY_LABEL.get(sex_text)
    if sex_text and sex is None:
        return None
    if number:
        id_sex = "male" if int(number[16]) % 2 else "female"
        if (born is not None and born != id_born) or (sex is not None and sex != id_sex):
            return None
        born, sex = id_born, id_sex
    elif born is None or sex is None:
        return None
    if raw.get("address_code"):
        return None
    if _STATUS is None:
        _STATUS = {_msgid(label): key for key, label in E.SCHOOL_STATUSES.items()} | {k: k for k in E.SCHOOL_STATUSES}
    status = _STATUS.get(raw.get("status") or "")
    if status is None:
        return None
    origin = (number or student_no[1:])[:6]
    return {"line": raw["_row"], "details": {"status": status, "school": (raw.get("school") or "")[:100],
                                             "grade": (raw.get("grade") or "")[:20]},
            "name": name, "student_no": student_no, "id_number": number or None, "birth_date": born, "sex": sex,
            "area_code": origin if counties and origin in counties else dept_unit}
