"""Enterprises from an Excel sheet (the register's bulk import): one row an enterprise, headed by the
column labels of ``COLUMNS`` (Chinese or English). Each row goes through ``EnterpriseForm``, so a file
and the page refuse the same things with the same words; the errors are per row and column."""
import io
import zipfile

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from workflows.text import has_bad_text

from .enterprises import KIND_LABELS, EnterpriseForm

MAX_ROWS = 2000
COLUMNS = (("name", "名称", "Name"), ("uscc", "统一社会信用代码", "Unified social credit code"),
           ("kind", "类型", "Kind"), ("county", "所属区县", "County"), ("address", "地址", "Address"),
           ("lon", "经度", "Longitude"), ("lat", "纬度", "Latitude"),
           ("licence_no", "燃气经营许可证编号", "Gas business licence number"),
           ("licence_valid_until", "许可证有效期至", "Licence valid until"))


class SheetError(Exception):
    """The file as a whole cannot be read (not xlsx, no header, too many rows)."""


def template_rows() -> list[str]:
    return [zh for _key, zh, _en in COLUMNS]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def read(content: bytes, counties: dict[str, int]) -> tuple[list[tuple[int, dict]], dict[int, dict[str, list[str]]]]:
    """The rows as register values, and the errors per row number ({row: {column label: [messages]}}).
    ``counties``: name or GB/T 2260 code → region id."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise SheetError(_("Not an Excel file (.xlsx).")) from None
    sheet = book.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    header = [_text(v) for v in next(lines, ())]
    where = {}
    for key, zh, en in COLUMNS:
        for i, label in enumerate(header):
            if label in (zh, en, key):
                where[key] = i
    missing = [zh for key, zh, _en in COLUMNS[:4] if key not in where]
    if missing:
        raise SheetError(_("The first row must name the columns; missing: %(columns)s.", columns="、".join(missing)))
    kinds = {str(label): key for key, label in KIND_LABELS.items()} | {key: key for key in KIND_LABELS}
    labels = {key: zh for key, zh, _en in COLUMNS}
    rows, errors = [], {}
    for number, line in enumerate(lines, start=2):
        if number - 1 > MAX_ROWS:
            raise SheetError(_("At most %(n)d rows a file.", n=MAX_ROWS))
        cells = {key: _text(line[i]) if i < len(line) else "" for key, i in where.items()}
        if not any(cells.values()):
            continue
        bad = [key for key, value in cells.items() if has_bad_text(value)]
        if bad:
            errors[number] = {labels[k]: [_("Contains a character that is not allowed.")] for k in bad}
            continue
        county_id = counties.get(cells.get("county", ""))
        md = MultiDict({**cells, "kind": kinds.get(cells.get("kind", ""), cells.get("kind", "")),
                        "county_id": str(county_id) if county_id else ""})
        form = EnterpriseForm(formdata=md, meta={"csrf": False})
        form.county_id.choices = [(v, k) for k, v in counties.items()]
        if not form.validate():
            errors[number] = {labels.get("county" if f == "county_id" else f, f): [str(m) for m in msgs]
                              for f, msgs in form.errors.items()}
            continue
        rows.append((number, form.values()))
    return rows, errors
