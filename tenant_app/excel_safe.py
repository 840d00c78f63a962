"""Writing rows to .xlsx so that nothing a person typed becomes a live formula.

Every export goes through `append`. Text is written as text (data type "s"), whatever it looks like: openpyxl
would otherwise store a value beginning with "=" as a formula (`=HYPERLINK(…)`, `=cmd|…`) and "#N/A" as an
error. Text beginning with "=", "+", "-", "@", a tab or a carriage return also gets the "quote prefix" style,
so that a spreadsheet keeps it as text when the cell is edited again; the value itself is unchanged (a phone
number "+86…" stays as typed). Characters that XML cannot carry are dropped instead of failing the export.
Numbers, dates and booleans are written as they are: they cannot hold a formula.
"""

from __future__ import annotations

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def is_risky(text: str) -> bool:
    """Text a spreadsheet could take for a formula (or a DDE command) when the cell is entered."""
    return text.startswith(FORMULA_TRIGGERS)


def _as_text(cell, text: str) -> None:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text
    cell.data_type = "s"  # after the assignment, which would have made "=…" a formula
    if is_risky(text):
        cell.quotePrefix = True


def cell_value(ws: WriteOnlyWorksheet, value):
    """A value for a write-only sheet: text wrapped in a cell forced to text, anything else as it is."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(ws)
    _as_text(cell, value)
    return cell


def append(ws, values) -> None:
    """Append one row to a worksheet (write-only or not), text as text."""
    values = list(values)
    if isinstance(ws, WriteOnlyWorksheet):
        ws.append([cell_value(ws, v) for v in values])
        return
    ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in values])
    row = ws.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            _as_text(ws.cell(row=row, column=column), value)
