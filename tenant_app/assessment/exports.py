"""The league table as a workbook: a title with the assessing unit, level and period, a row per unit with its
rank, total and sub-scores, then the weights."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from tenant_app import excel_safe
from tenant_app.assessment import indicators as I


def league_xlsx(result: dict, locale: str = "zh") -> bytes:
    en = locale == "en"
    wb = Workbook()
    ws = wb.active
    ws.title = "Assessment" if en else "考核排名"
    period = f"{result['period_start'].isoformat()} - {result['period_end'].isoformat()}"
    name = result["unit"]["name"]
    excel_safe.append(ws, [f"{name} assessment ({period})" if en else f"{name}考核排名（{period}）"])
    ws["A1"].font = Font(bold=True)
    labels = [ind.label_en if en else ind.label_zh for ind in I.INDICATORS]
    excel_safe.append(ws, (["Rank", "Code", "Unit", "Total"] if en else ["名次", "代码", "单位", "总分"]) + labels)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for row in result["rows"]:
        excel_safe.append(ws, [row["rank"], row["code"], row["name"], row["total"]]
                          + [row["scores"][k] for k in I.KEYS])
    excel_safe.append(ws, [])
    excel_safe.append(ws, ["", "", "Weight" if en else "权重", 100] + [result["weights"][k] for k in I.KEYS])
    for note in result["notes"]:
        excel_safe.append(ws, [str(note)])
    ws.freeze_panes = "D3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
