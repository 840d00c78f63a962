"""Excel (.xlsx) for child records: the import template, reading an upload, exports and error sheets.

One column map, Chinese header <-> field, with coded values written and read as their Chinese labels.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from tenant_app import excel_safe
from tenant_app.children import enums as E
from tenant_app.children.idcard import mask_id
from tenant_app.i18n import _l

# (Chinese header, field, kind, choices): kind is text / date / bool / int / enum / multi.
COLUMNS: list[tuple[str, str, str, dict | None]] = [
    ("村(居)代码", "village_code", "text", None),
    ("姓名", "name", "text", None),
    ("性别", "sex", "enum", E.SEXES),
    ("民族", "ethnicity", "text", None),
    ("出生日期", "birth_date", "date", None),
    ("身份证号", "id_number", "text", None),
    ("是否登记户口", "hukou_registered", "bool", None),
    ("是否农村户籍", "hukou_rural", "bool", None),
    ("户籍地", "hukou_place", "text", None),
    ("现住址", "current_address", "text", None),
    ("是否寄宿", "boards_at_school", "bool", None),
    ("健康状况", "health_status", "enum", E.HEALTH),
    ("残疾类别", "disability_type", "text", None),
    ("残疾等级", "disability_grade", "int", None),
    ("就学状况", "schooling", "enum", E.SCHOOLING),
    ("学校名称", "school_name", "text", None),
    ("父亲姓名", "father_name", "text", None),
    ("父亲出生日期", "father_birth_date", "date", None),
    ("父亲身份证号", "father_id_number", "text", None),
    ("父亲状况", "father_situation", "enum", E.PARENT_SITUATIONS),
    ("父亲务工省份", "father_work_province", "text", None),
    ("父亲务工城市", "father_work_city", "text", None),
    ("父亲电话", "father_phone", "text", None),
    ("母亲姓名", "mother_name", "text", None),
    ("母亲出生日期", "mother_birth_date", "date", None),
    ("母亲身份证号", "mother_id_number", "text", None),
    ("母亲状况", "mother_situation", "enum", E.PARENT_SITUATIONS),
    ("母亲务工省份", "mother_work_province", "text", None),
    ("母亲务工城市", "mother_work_city", "text", None),
    ("母亲电话", "mother_phone", "text", None),
    ("受托监护人姓名", "guardian_name", "text", None),
    ("受托监护人电话", "guardian_phone", "text", None),
    ("受托监护人身份证号", "guardian_id_number", "text", None),
    ("与儿童关系", "guardian_relationship", "text", None),
    ("受托监护人住址", "guardian_address", "text", None),
    ("监护类型", "guardianship_type", "enum", E.GUARDIANSHIP_TYPES),
    ("监护评估", "guardianship_assessment", "enum", E.ASSESSMENTS),
    ("家庭收入来源", "income_sources", "multi", E.INCOME_SOURCES),
    ("享受救助", "assistance", "multi", E.ASSISTANCE),
    ("留守儿童", "is_left_behind", "bool", None),
    ("困境儿童", "is_in_difficulty", "bool", None),
    ("困境类别", "difficulty_subcategory", "enum", E.DIFFICULTY_SUBCATEGORIES),
    ("事实无人抚养儿童", "is_de_facto_unsupported", "bool", None),
    ("风险等级", "risk_level", "enum", E.RISK_LEVELS),
    ("填表人", "form_filler", "text", None),
    ("审核人", "reviewer", "text", None),
    ("填报日期", "report_date", "date", None),
]
HEADERS = [c[0] for c in COLUMNS]
FIELD_HEADER = {c[1]: c[0] for c in COLUMNS}
BY_HEADER = {c[0]: c for c in COLUMNS}
REQUIRED_HEADERS = ("姓名", "性别", "出生日期", "身份证号")
ID_FIELDS = ("id_number", "father_id_number", "mother_id_number", "guardian_id_number")
# Export only: system columns after the form's.
EXPORT_EXTRA = [("档案编号", "id"), ("无人监护", "unattended"), ("状态", "status")]
YES, NO = "是", "否"
YES_VALUES = {"是", "y", "yes", "true", "1", "√"}
NO_VALUES = {"否", "n", "no", "false", "0", ""}
MULTI_SEP = ("、", ",", "，", ";", "；")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COLUMNS = 100  # columns read per row; the template has fewer than 50
MAX_SHARED_STRINGS_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
NOT_XLSX = _l("无法读取该文件，请上传 .xlsx 文件")
TOO_BIG = _l("文件解压后过大，请分批导入")


class BadWorkbook(ValueError):
    """The upload is not a readable workbook or lacks the template's headers."""


class TooManyRows(BadWorkbook):
    """More data rows than an import takes."""


def _save(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _header_row(ws, headers) -> None:
    excel_safe.append(ws, headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"


def template_workbook() -> bytes:
    """The import template: Chinese headers, an explanation sheet with the allowed values."""
    wb = Workbook()
    ws = wb.active
    ws.title = "儿童档案"
    _header_row(ws, HEADERS)
    for idx in range(1, len(HEADERS) + 1):
        ws.cell(row=1, column=idx).number_format = "@"
    notes = wb.create_sheet("填写说明")
    excel_safe.append(notes, ["列", "说明"])
    for header, field, kind, choices in COLUMNS:
        if kind == "enum":
            hint = "可选：" + "、".join(choices.values())
        elif kind == "multi":
            hint = "可多选，用“、”分隔：" + "、".join(choices.values())
        elif kind == "bool":
            hint = "填“是”或“否”"
        elif kind == "date":
            hint = "日期，格式 2016-03-01"
        else:
            hint = "文本"
        if header in REQUIRED_HEADERS:
            hint = "必填；" + hint
        if field == "village_code":
            hint = "12位村(居)代码；不填则为本人所在村"
        excel_safe.append(notes, [header, hint])
    return _save(wb)


def check_container(data: bytes) -> None:
    """What the web request checks before storing an upload: a zip holding a workbook, whose parts unpack to a
    bounded size. Reads the zip's directory only; the rows are the job's (`read_rows`)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadWorkbook(NOT_XLSX) from exc
    if "xl/workbook.xml" not in parts:
        raise BadWorkbook(NOT_XLSX)
    # The shared strings are read whole; a sheet is streamed, but one element of it may be held whole.
    if parts.get("xl/sharedStrings.xml", 0) > MAX_SHARED_STRINGS_BYTES or sum(parts.values()) > MAX_UNPACKED_BYTES:
        raise BadWorkbook(TOO_BIG)


def _open(data: bytes):
    check_container(data)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise BadWorkbook(NOT_XLSX) from exc


def _headers(rows) -> list[str]:
    header = next(rows, None)
    headers = [str(h).strip() if h is not None else "" for h in (header or ())]
    missing = [h for h in REQUIRED_HEADERS if h not in headers]
    if missing:
        raise BadWorkbook(_l("缺少列：%(columns)s", columns="、".join(missing)))
    return headers


def _jsonable(value):
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _blank(values) -> bool:
    return values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def read_rows(file, max_rows: int) -> list[dict]:
    """Rows of the first sheet as {header: cell value, "_row": sheet row number}; blank rows skipped.

    Streaming, and counting the rows actually read: the sheet's declared dimension is ignored (it may be
    missing or false), reading stops at the first data row over `max_rows` (TooManyRows), and a sheet that
    spends more than twice `max_rows` rows on blanks is refused the same way. Values are JSON-safe (dates as
    ISO text), so the rows can be stored between the dry run and the apply.
    """
    data = file.read() if hasattr(file, "read") else file
    wb = _open(data)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        rows = (values[:MAX_COLUMNS] for values in ws.iter_rows(values_only=True))
        headers = _headers(rows)
        out = []
        for number, values in enumerate(rows, start=2):
            if number - 1 > 2 * max_rows:
                raise TooManyRows(too_many_rows(max_rows))
            if _blank(values):
                continue
            if len(out) >= max_rows:
                raise TooManyRows(too_many_rows(max_rows))
            row = {h: _jsonable(v) for h, v in zip(headers, values, strict=False) if h in BY_HEADER}
            row["_row"] = number
            out.append(row)
        if not out:
            raise BadWorkbook(_l("文件中没有数据行"))
        return out
    except BadWorkbook:
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet that does not parse is the user's file
        raise BadWorkbook(NOT_XLSX) from exc
    finally:
        wb.close()


def too_many_rows(max_rows: int) -> str:
    return _l("文件超过%(n)s行，已停止读取，未导入任何记录；请分批导入", n=max_rows)


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


def _label_lookup(choices: dict) -> dict:
    lookup = {label: code for code, label in choices.items()}
    lookup.update({code: code for code in choices})
    return lookup


def parse_row(raw: dict) -> tuple[dict, dict]:
    """Cell values -> ({field: value}, {field: [messages]}) for the cells that cannot be read."""
    values: dict = {}
    errors: dict = {}
    for header, field, kind, choices in COLUMNS:
        if header not in raw:
            continue
        cell = raw[header]
        text = _text(cell)
        if kind == "text":
            if text:
                values[field] = text
        elif kind == "date":
            if isinstance(cell, datetime):
                values[field] = cell.date()
            elif isinstance(cell, date):
                values[field] = cell
            elif text:
                try:
                    values[field] = date.fromisoformat(text.replace("/", "-").replace(".", "-"))
                except ValueError:
                    errors[field] = [_l("日期格式应为 年-月-日")]
            else:
                values[field] = None
        elif kind == "bool":
            lowered = text.lower()
            if lowered in YES_VALUES:
                values[field] = True
            elif lowered in NO_VALUES:
                if text:
                    values[field] = False
            else:
                errors[field] = [_l("请填写“是”或“否”")]
        elif kind == "int":
            if text:
                try:
                    values[field] = int(text)
                except ValueError:
                    errors[field] = [_l("请填写数字")]
        elif kind == "enum":
            if text:
                code = _label_lookup(choices).get(text)
                if code is None:
                    errors[field] = [_l("取值无效，可选：%(choices)s", choices="、".join(choices.values()))]
                else:
                    values[field] = code
        elif kind == "multi":
            parts = [text]
            for sep in MULTI_SEP:
                parts = [p for part in parts for p in part.split(sep)]
            parts = [p.strip() for p in parts if p.strip()]
            lookup = _label_lookup(choices)
            bad = [p for p in parts if p not in lookup]
            if bad:
                errors[field] = [_l("取值无效：%(values)s", values="、".join(bad))]
            else:
                values[field] = [lookup[p] for p in parts]
    return values, errors


def _cell(field: str, kind: str, choices, value, full_ids: bool):
    if value is None:
        return None
    if field in ID_FIELDS and not full_ids:
        return mask_id(value)
    if kind == "enum":
        return choices.get(value, value)
    if kind == "multi":
        return "、".join(choices.get(v, v) for v in value or [])
    if kind == "bool":
        return YES if value else NO
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else value
    return value


def export_workbook(rows, full_ids: bool) -> bytes:
    """Child records (ORM objects or dicts with the model's keys) as a sheet; ID numbers masked unless
    `full_ids`."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("儿童档案")
    excel_safe.append(ws, [h for h, _ in EXPORT_EXTRA] + HEADERS)
    for row in rows:
        get = row.get if isinstance(row, dict) else (lambda key, r=row: getattr(r, key, None))
        out = [get("id"), YES if get("unattended") else NO, E.STATUSES.get(get("status"), get("status"))]
        for _header, field, kind, choices in COLUMNS:
            key = "region_code" if field == "village_code" else field
            out.append(_cell(field, kind, choices, get(key), full_ids))
        excel_safe.append(ws, out)
    return _save(wb)


def errors_workbook(errors: list[dict]) -> bytes:
    """Every error of a dry run: row, column (Chinese header), message."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("错误")
    excel_safe.append(ws, ["行号", "列", "字段", "错误说明"])
    for e in errors:
        excel_safe.append(ws, [e.get("row"), e.get("column"), e.get("field"), e.get("message")])
    return _save(wb)
