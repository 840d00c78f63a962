"""Excel (.xlsx) for the roster: the import template, reading an upload, the export. One column map, Chinese
header <-> field; coded values are written and read as their Chinese labels. Reading and the error sheet share
the workbook guards of the child records' import (tenant_app.children.excel)."""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook

from tenant_app import excel_safe
from tenant_app.children import excel as base
from tenant_app.children.idcard import mask_id
from tenant_app.i18n import _l
from tenant_app.workforce import enums as E

# (Chinese header, field, kind, choices): kind is text / date / enum.
COLUMNS: list[tuple[str, str, str, dict | None]] = [
    ("单位代码", "unit_code", "text", None),
    ("姓名", "name", "text", None),
    ("性别", "sex", "enum", E.SEXES),
    ("身份证号", "id_number", "text", None),
    ("联系电话", "phone", "text", None),
    ("岗位性质", "employment", "enum", E.EMPLOYMENTS),
    ("兼任职务", "other_post", "text", None),
    ("任职日期", "appointed_on", "date", None),
    ("资格证书", "qualifications", "text", None),
]
HEADERS = [c[0] for c in COLUMNS]
FIELD_HEADER = {c[1]: c[0] for c in COLUMNS}
BY_HEADER = {c[0]: c for c in COLUMNS}
REQUIRED_HEADERS = ("单位代码", "姓名", "性别", "身份证号", "联系电话", "岗位性质", "任职日期")
EXPORT_HEADERS = ["单位代码", "单位名称", "岗位", "姓名", "性别", "身份证号", "联系电话", "岗位性质", "兼任职务",
                  "任职日期", "离任日期", "资格证书"]
BadWorkbook = base.BadWorkbook
XLSX_MIMETYPE = base.XLSX_MIMETYPE


def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "儿童主任和督导员名册"
    base._header_row(ws, HEADERS)
    for idx in range(1, len(HEADERS) + 1):
        ws.cell(row=1, column=idx).number_format = "@"
    notes = wb.create_sheet("填写说明")
    notes.append(["列", "说明"])
    notes.append(["单位代码", "村（居）12位代码登记儿童主任，乡镇（街道）9位代码登记儿童督导员"])
    notes.append(["性别", "、".join(E.SEXES.values())])
    notes.append(["岗位性质", "、".join(E.EMPLOYMENTS.values())])
    notes.append(["任职日期", "如 2026-03-01"])
    return base._save(wb)


def read_rows(data: bytes, max_rows: int) -> list[dict]:
    """Rows of the first sheet as {header: value, "_row": sheet row number}; blank rows skipped."""
    wb = base._open(data)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        rows = (values[:base.MAX_COLUMNS] for values in ws.iter_rows(values_only=True))
        header = next(rows, None)
        headers = [str(h).strip() if h is not None else "" for h in (header or ())]
        missing = [h for h in REQUIRED_HEADERS if h not in headers]
        if missing:
            raise BadWorkbook(_l("缺少列：%(columns)s", columns="、".join(missing)))
        out = []
        for number, values in enumerate(rows, start=2):
            if number - 1 > 2 * max_rows:
                raise base.TooManyRows(base.too_many_rows(max_rows))
            if base._blank(values):
                continue
            if len(out) >= max_rows:
                raise base.TooManyRows(base.too_many_rows(max_rows))
            row = {h: base._jsonable(v) for h, v in zip(headers, values, strict=False) if h in BY_HEADER}
            row["_row"] = number
            out.append(row)
        if not out:
            raise BadWorkbook(_l("文件中没有数据行"))
        return out
    except BadWorkbook:
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet that does not parse is the user's file
        raise BadWorkbook(base.NOT_XLSX) from exc
    finally:
        wb.close()


def parse_row(raw: dict) -> tuple[dict, dict]:
    """(values by field, {field: [messages]}) of one row's cells."""
    values: dict = {}
    errors: dict = {}
    for header, field, kind, choices in COLUMNS:
        text = base._text(raw.get(header))
        if kind == "date":
            if not text:
                values[field] = None
                continue
            try:
                values[field] = date.fromisoformat(text[:10].replace("/", "-").replace(".", "-"))
            except ValueError:
                errors[field] = [_l("日期格式应为 YYYY-MM-DD")]
        elif kind == "enum":
            if not text:
                values[field] = None
                continue
            lookup = {label: code for code, label in choices.items()} | {code: code for code in choices}
            if text in lookup:
                values[field] = lookup[text]
            else:
                errors[field] = [_l("取值无效，可选：%(choices)s", choices="、".join(choices.values()))]
        else:
            values[field] = text
    return values, errors


def export_workbook(rows, names: dict[str, str], full_ids: bool) -> bytes:
    """Appointments with their people (dicts), ID numbers masked unless `full_ids`."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("儿童主任和督导员名册")
    excel_safe.append(ws, EXPORT_HEADERS)
    for r in rows:
        excel_safe.append(ws, [
            r["region_code"], names.get(r["region_code"], ""), E.POSTS.get(r["post"], r["post"]), r["name"],
            E.SEXES.get(r["sex"], r["sex"]), r["id_number"] if full_ids else mask_id(r["id_number"]), r["phone"],
            E.EMPLOYMENTS.get(r["employment"], r["employment"]), r["other_post"],
            r["appointed_on"].isoformat(), r["left_on"].isoformat() if r["left_on"] else "", r["qualifications"]])
    return base._save(wb)


errors_workbook = base.errors_workbook
