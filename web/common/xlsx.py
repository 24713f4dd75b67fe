"""Excel exports of the portal's lists and statistics: Chinese headers, one sheet per table, sent as an
attachment. Headers are fixed Chinese words (the regulator files these documents as they are), not the
page's language; values are labelled in Chinese the way the pages label them."""
import re
from io import BytesIO
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response
from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def zh(value) -> str:
    """A lazy label in Chinese whatever the caller's language."""
    with force_locale("zh"):
        return str(value)


def value_zh(name: str, value):
    """A case-data value as the pages show it (choices by their label, yes/no, local time), in Chinese."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    from web.common.labels import presenter

    with force_locale("zh"):
        return presenter("zh").value(name, value)


# What XML 1.0, and so a worksheet, cannot hold: most control characters, U+FFFE, U+FFFF, surrogates.
NOT_IN_XML = re.compile(f"(?:{ILLEGAL_CHARACTERS_RE.pattern})|[\ufffe\uffff\ud800-\udfff]")


def cell(value):
    """A value as a cell may hold it: characters no worksheet takes are dropped (one would fail the
    whole export), every other value as it is."""
    if isinstance(value, str) and NOT_IN_XML.search(value):
        return NOT_IN_XML.sub("", value)
    return value


def _text_cell(sheet, value):
    """Reported text starting with "=" stays text in the regulator's Excel, never a formula."""
    if isinstance(value, str) and value.startswith("="):
        written = Cell(sheet, value=value)
        written.data_type = "s"
        return written
    return value


SHANGHAI = ZoneInfo("Asia/Shanghai")
# A column of money: its header names the unit, 元.
MONEY_HEADER = re.compile(r"[（(]元[)）]")


def local(instant) -> str | None:
    """An instant as the regulator reads it: Shaoxing local time to the minute."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if instant is not None else None


def response(filename: str, sheets: list[tuple[str, list[str], list[list]]]) -> Response:
    """``sheets``: (title, headers, rows). The file name may be Chinese (RFC 5987)."""
    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(headers)
        for row in rows:
            sheet.append([_text_cell(sheet, v) for v in map(cell, row)])
        for i, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(10, min(40, 2 * len(header) + 4))
            if MONEY_HEADER.search(header):  # yuan as the pages write them: 80,000.00 (a number, right-aligned)
                for (money,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                    if isinstance(money.value, int | float):
                        money.number_format = "#,##0.00"
        sheet.freeze_panes = "A2"
    out = BytesIO()
    book.save(out)
    ascii_name = "export.xlsx"
    return Response(out.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})
