"""Export of a campaign's progress and answers under a unit to .xlsx: a progress sheet (the unit and each
child unit), an answers sheet (one row per completed task: village code, name, status, submitted at, one
column per question) and an answer summary sheet."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select

from hierarchy.models import Unit
from tenant_app import excel_safe
from tenant_app.campaigns import progress as tracking
from tenant_app.campaigns.models import DONE_STATUSES, Campaign, Task
from tenant_app.clock import CST

PROGRESS_HEADERS = ["单位代码", "单位名称", "任务总数", "未开始", "草稿", "已提交", "已通过", "已退回", "逾期",
                    "完成率", "按时率"]
STATUS_NAMES = {"pending": "未开始", "draft": "草稿", "submitted": "已提交", "approved": "已通过",
                "returned": "已退回"}


def _progress_row(code: str, name: str, f: dict) -> list:
    return [code, name, f["total"], f["not_started"], f["draft"], f["submitted"], f["approved"], f["returned"],
            f["overdue"], f["completion_rate"], f["on_time_rate"]]


def _cell(value):
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def export_workbook(session, campaign: Campaign, unit: str) -> bytes:
    figures = tracking.progress(session, campaign, unit)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("进度")
    excel_safe.append(ws, PROGRESS_HEADERS)
    excel_safe.append(ws, _progress_row(figures["unit"], figures["name"], figures))
    for child in figures["children"]:
        excel_safe.append(ws, _progress_row(child["code"], child["name"], child))

    questions = campaign.questions or []
    ws = wb.create_sheet("填报结果")
    excel_safe.append(ws, ["单位代码", "单位名称", "状态", "提交时间"]
                      + [q.get("label") or q["key"] for q in questions])
    rows = session.execute(
        select(Task.region_code, Unit.name, Task.status, Task.submitted_at, Task.answers)
        .join(Unit, Unit.code == Task.region_code)
        .where(Task.campaign_id == campaign.id, Task.region_code >= unit, Task.region_code < unit + ":",
               Task.status.in_(DONE_STATUSES))
        .order_by(Task.region_code)).yield_per(2000)
    for row in rows:
        submitted = row.submitted_at.astimezone(CST).replace(tzinfo=None) if row.submitted_at else None
        answers = row.answers or {}
        excel_safe.append(ws, [row.region_code, row.name, STATUS_NAMES.get(row.status, row.status), submitted]
                  + [_cell(answers.get(q["key"])) for q in questions])

    ws = wb.create_sheet("汇总")
    excel_safe.append(ws, ["问题", "类型", "填答数", "合计 / 计数"])
    for item in tracking.answers_summary(session, campaign, unit)["questions"]:
        if "sum" in item:
            detail = item["sum"]
        elif "yes" in item:
            detail = f"是 {item['yes']}，否 {item['no']}"
        elif "counts" in item:
            detail = "；".join(f"{k} {v}" for k, v in item["counts"].items())
        else:
            detail = ""
        excel_safe.append(ws, [item["label"] or item["key"], item["type"], item["answered"], detail])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
