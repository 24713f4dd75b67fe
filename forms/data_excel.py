"""Data kinds as Excel workbooks (D4), for enterprises without a platform of their own: the template of a
kind, and reading a filled-in template back into records that ``web.common.dataflow.validate`` checks like an
API batch. Pure file handling: no request, no database.

The template's first row carries the Chinese labels people read; a hidden second row carries the field
keys, so a workbook still reads when a label's wording changes. A sheet without the key row is read by
its labels (Chinese, the page's language, or the keys themselves). Rows are numbered as Excel shows them.
"""
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflows.text import has_bad_text

from .base import BAD_TEXT
from .data_forms import form_for
from .data_kinds import KINDS_BY_KEY, DataKind

MAX_FILE_BYTES = 5 * 1024 * 1024
# An .xlsx is a zip: a small file may inflate to gigabytes before openpyxl sees a single row.
MAX_UNZIPPED_BYTES = 60 * 1024 * 1024
KEY_ROW, FIRST_DATA_ROW = 2, 3
NOTES_SHEET = "说明"
TEXTUAL = ("text", "longtext", "phone", "id_number", "plate", "url", "urls", "month", "track", "stream")
TRUE_WORDS = {"是", "有", "√", "y", "yes", "true", "1", "t"}
FALSE_WORDS = {"否", "无", "×", "n", "no", "false", "0", "f"}
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_TEXT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
TYPE_NAMES = {
    "text": _l("Text"), "longtext": _l("Long text"), "int": _l("Whole number"), "number": _l("Number"),
    "date": _l("Date"), "datetime": _l("Date and time"), "month": _l("Month"), "bool": _l("Yes / no"),
    "choice": _l("Choice"), "phone": _l("Phone number"), "id_number": _l("ID number"),
    "plate": _l("Plate number"), "url": _l("Web address"), "urls": _l("Web addresses"), "track": _l("GPS track"),
    "stream": _l("Video stream address"),
}


@dataclass(frozen=True)
class Column:
    key: str
    type: str
    label: object  # lazy: read in the language of the moment
    required: bool = False
    choices: tuple = ()
    min: float | None = None
    max: float | None = None


@dataclass
class Row:
    number: int  # as Excel shows it
    record: dict  # what the API would have been sent for this row
    problems: dict = field(default_factory=dict)  # cells that could not be read at all, by column


@dataclass
class Sheet:
    columns: list[str]
    rows: list[Row]


class DataFileError(Exception):
    """The file as a whole is refused (not a workbook, empty, another kind's header, too many rows)."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _label(form_cls, name: str):
    unbound = getattr(form_cls, name)
    return unbound.args[0] if unbound.args else unbound.kwargs.get("label", name)


def columns(kind: DataKind) -> list[Column]:
    """The record's columns in the order of the generated form: the record id, the kind's fields, the point."""
    form_cls = form_for(kind.key)
    cols = [Column("external_id", "text", _label(form_cls, "external_id"), required=True, max=64)]
    cols += [Column(f.name, f.type, _label(form_cls, f.name), f.required, f.choices, f.min, f.max)
             for f in kind.fields]
    if kind.located:
        cols += [Column("lon", "number", _label(form_cls, "lon"), min=73, max=136),
                 Column("lat", "number", _label(form_cls, "lat"), min=3, max=54)]
    return cols


def _format_of(col: Column) -> str:
    if col.type == "date":
        return _("YYYY-MM-DD, e.g. 2026-03-05")
    if col.type == "datetime":
        return _("YYYY-MM-DD HH:MM, Beijing time (Asia/Shanghai), e.g. 2026-03-05 14:30")
    if col.type == "month":
        return _("YYYY-MM, e.g. 2026-03")
    if col.type == "track":
        return _("lon,lat[,time];lon,lat[,time];... e.g. 120.58,30.01;120.59,30.02")
    if col.type == "bool":
        return _("是 or 否")
    if col.type == "choice":
        return _("The code or the label of one of the values")
    if col.type == "phone":
        return _("A mobile number (11 digits) or a landline such as 0575-88888888")
    if col.type == "id_number":
        return _("18 characters; the last may be X")
    if col.type == "plate":
        return _("e.g. 浙D12345")
    if col.type == "url":
        return _("A full address, e.g. rtsp://10.0.0.8/stream1")
    if col.type == "stream":
        return _("rtsp://, rtmp://, or an http(s):// address (an HLS playlist ends in .m3u8), "
                 "e.g. rtsp://10.0.0.8/stream1")
    if col.type == "urls":
        return _("http:// or https:// addresses, separated by spaces or semicolons")
    if col.key == "external_id":
        return _("Your own id of the record: letters, digits and _ . : - only, at most 64; the same id again "
                 "makes a new version of the record")
    if col.type in ("int", "number"):
        if col.min is not None and col.max is not None:
            return _("From %(min)s to %(max)s", min=_num(col.min), max=_num(col.max))
        if col.min is not None:
            return _("At least %(min)s", min=_num(col.min))
        return ""
    if col.max:
        return _("At most %(n)s characters", n=int(col.max))
    return ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def template_xlsx(kind: DataKind, max_rows: int = 1000) -> bytes:
    """The kind's template, in Chinese whatever the page's language: it is filled in by Chinese users
    and read back by key, so one file serves everyone."""
    from openpyxl import Workbook  # only downloads and imports need it, not every worker start
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    with force_locale("zh"):
        cols = columns(kind)
        book = Workbook()
        sheet = book.active
        sheet.title = _sheet_title(str(kind.label))
        book.properties.title = str(kind.label)
        book.properties.subject = kind.key  # recognises another kind's template at import
        book.properties.creator = "gasflow"
        required_font, font = Font(bold=True, color="B42318"), Font(bold=True)
        fill = PatternFill("solid", fgColor="E6F0FA")
        last = FIRST_DATA_ROW + max_rows - 1
        for i, col in enumerate(cols, start=1):
            letter = get_column_letter(i)
            head = sheet.cell(row=1, column=i, value=str(col.label))
            head.font, head.fill = (required_font if col.required else font), fill
            head.alignment = Alignment(wrap_text=True, vertical="center")
            note = _("Required") if col.required else _("Optional")
            hint = _format_of(col)
            head.comment = Comment(f"{note} · {TYPE_NAMES[col.type]}" + (f"\n{hint}" if hint else ""), "gasflow")
            sheet.cell(row=KEY_ROW, column=i, value=col.key)
            dim = sheet.column_dimensions[letter]
            dim.width = max(12, min(40, len(str(col.label)) * 2 + 4))
            if col.type in TEXTUAL or col.key == "external_id":
                dim.number_format = "@"  # Excel would turn phone and ID numbers into numbers and lose digits
            elif col.type == "date":
                dim.number_format = "yyyy-mm-dd"
            elif col.type == "datetime":
                dim.number_format = "yyyy-mm-dd hh:mm"
            words = None
            if col.type == "choice":
                words = [str(label) for _code, label in col.choices]
            elif col.type == "bool":
                words = ["是", "否"]
            if words and len(",".join(words)) < 250:
                # A drop-down that still lets a code be typed: codes are accepted too.
                dv = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True,
                                    showErrorMessage=False)
                dv.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last}")
                sheet.add_data_validation(dv)
        sheet.row_dimensions[KEY_ROW].hidden = True
        sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
        _notes_sheet(book.create_sheet(NOTES_SHEET), kind, cols)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _sheet_title(text: str) -> str:
    cleaned = re.sub(r"[\[\]:*?/\\]", " ", text).strip()
    return (cleaned or "data")[:31]


def _notes_sheet(sheet, kind: DataKind, cols: list[Column]) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.append([_("How to fill in “%(kind)s” (DB3306/T 046-2022 %(item)s)", kind=str(kind.label),
                    item=kind.item)])
    sheet["A1"].font = Font(bold=True, size=13)
    for line in (_("Fill in one record per row on the first sheet, from row 3. Keep the first row as it is; "
                   "the hidden second row holds the field keys the import reads."),
                 _("Red column titles are required. Leave an optional cell empty when there is nothing to say."),
                 _("A choice cell takes the code or the label; a yes/no cell takes 是 or 否."),
                 _("Each import is reviewed by the county authority; rows with mistakes are listed with their row "
                   "number and are not stored, the others are.")):
        sheet.append([line])
    sheet.append([])
    heading = [_("Column"), _("Field key"), _("Type"), _("Required"), _("Allowed values (code = label)"),
               _("Format")]
    sheet.append(heading)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for col in cols:
        values = "\n".join(f"{code} = {label}" for code, label in col.choices)
        sheet.append([str(col.label), col.key, str(TYPE_NAMES[col.type]), _("Yes") if col.required else _("No"),
                      values, _format_of(col)])
    for letter, width in zip("ABCDEF", (22, 20, 12, 8, 34, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=8):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


# ---- reading ---------------------------------------------------------------------------------------
def read_xlsx(kind: DataKind, filename: str, content: bytes, max_rows: int) -> Sheet:
    """A filled-in template → its non-blank rows as records. Raises DataFileError for the file as a whole;
    a cell that cannot be read is a problem of its row, reported with the validation errors."""
    suffix = filename.replace("\\", "/").rsplit("/", 1)[-1].rpartition(".")[2].lower()
    if suffix != "xlsx":
        raise DataFileError([_("Only Excel workbooks (.xlsx) are accepted; save the file as .xlsx.")])
    if not content:
        raise DataFileError([_("The file is empty.")])
    if len(content) > MAX_FILE_BYTES:
        raise DataFileError([_("The file is larger than %(n)s MB.", n=MAX_FILE_BYTES // (1024 * 1024))])
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise DataFileError([_("The workbook is too large once unpacked.")])
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except DataFileError:
        raise
    except Exception:  # a corrupt or foreign file must be a message to the user, not a 500
        raise DataFileError([_("The file could not be read as an Excel workbook (.xlsx).")]) from None
    try:
        return _read_sheet(kind, book, max_rows)
    except SyntaxError:  # rows are parsed as they are read: XML no cell may hold (&#0;) shows only now
        raise DataFileError([_("The file could not be read as an Excel workbook (.xlsx).")]) from None
    finally:
        book.close()


def _read_sheet(kind: DataKind, book, max_rows: int) -> Sheet:
    other = KINDS_BY_KEY.get((book.properties.subject or "").strip())
    if other is not None and other.key != kind.key:
        raise DataFileError([_("This is the template of “%(other)s”, not of “%(kind)s”. Download the template "
                               "of “%(kind)s” and fill it in.", other=str(other.label), kind=str(kind.label))])
    sheets = [s for s in book.worksheets if s.title != NOTES_SHEET] or book.worksheets
    if not sheets:
        raise DataFileError([_("The file is empty.")])
    lines = sheets[0].iter_rows(values_only=True)
    header = next(lines, None)
    if header is None or all(_blank(v) for v in header):
        raise DataFileError([_("The file is empty: the first row must hold the column titles.")])
    cols = {c.key: c for c in columns(kind)}
    second = next(lines, None) or ()
    keys_row = [str(v).strip() if not _blank(v) else None for v in second]
    if any(k in cols for k in keys_row) and all(KEY.match(k) for k in keys_row if k):
        names = [n if n is None or n in cols else f"?{n}" for n in _by_position(keys_row, len(header))]
        first_row = FIRST_DATA_ROW
    else:
        names, first_row = _names_from_labels(header, cols), KEY_ROW
        lines = _chain([second], lines) if second else lines
    _check_header(kind, header, names, cols)
    choice_codes = {key: _choice_lookup(c) for key, c in cols.items() if c.type == "choice"}
    rows: list[Row] = []
    for number, line in enumerate(lines, start=first_row):
        values = {name: line[i] for i, name in enumerate(names) if name and i < len(line)}
        if all(_blank(v) for v in values.values()):
            continue
        if len(rows) >= max_rows:  # stop reading: the answer is already "too many"
            raise DataFileError([_("A file holds at most %(n)s rows; split it into several files.", n=max_rows)])
        record, problems = {}, {}
        for name, value in values.items():
            if isinstance(value, str) and has_bad_text(value):
                problems[name] = [str(BAD_TEXT)]
                continue
            try:
                converted = _convert(cols[name], value, choice_codes.get(name))
            except ValueError as exc:
                problems[name] = [str(exc)]
                continue
            if converted is not None:
                record[name] = converted
        rows.append(Row(number, record, problems))
    if not rows:
        raise DataFileError([_("The file has no data rows: fill in the first sheet from row %(row)s.",
                               row=first_row)])
    return Sheet([n for n in names if n], rows)


def _chain(first, rest):
    yield from first
    yield from rest


def _by_position(keys: list, width: int) -> list:
    return [keys[i] if i < len(keys) else None for i in range(max(width, len(keys)))]


def _names_from_labels(header, cols: dict) -> list:
    """A sheet without the key row: columns named by label (Chinese or the page's language) or key."""
    known = {}
    with force_locale("zh"):
        known.update({str(c.label).strip(): k for k, c in cols.items()})
    known.update({str(c.label).strip(): k for k, c in cols.items()})
    known.update({k: k for k in cols})
    names = []
    for title in header:
        text = "" if _blank(title) else str(title).strip().rstrip("*＊").strip()
        names.append(known.get(text, f"?{text}" if text else None))
    return names


def _check_header(kind: DataKind, header, names: list, cols: dict) -> None:
    unknown = [n[1:] for n in names if n and n.startswith("?")]
    present = [n for n in names if n and not n.startswith("?")]
    twice = sorted({n for n in present if present.count(n) > 1})
    missing = [k for k, c in cols.items() if c.required and k not in present]
    reasons = []
    if unknown:
        reasons.append(_("Columns that “%(kind)s” does not have: %(columns)s.", kind=str(kind.label),
                         columns="、".join(unknown)))
    if twice:
        reasons.append(_("Columns given twice: %(columns)s.", columns="、".join(str(cols[n].label) for n in twice)))
    if missing:
        reasons.append(_("Required columns missing: %(columns)s.",
                         columns="、".join(str(cols[n].label) for n in missing)))
    if reasons:
        raise DataFileError([_("The header row does not match the template of “%(kind)s”. Download the template "
                               "and keep its first two rows.", kind=str(kind.label)), *reasons])


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _choice_lookup(col: Column) -> dict:
    """A choice cell may hold the code, the Chinese label or the label in the page's language."""
    found = {}
    for code, label in col.choices:
        found[code.casefold()] = code
        found[str(label).strip().casefold()] = code
        with force_locale("zh"):
            found[str(label).strip().casefold()] = code
    return found


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or an id typed as a number comes back from Excel as 13800000000.0
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _convert(col: Column, value, choices: dict | None):
    """One cell → the value the API takes for the field (text, a number or a bool), None for an empty cell.
    Text that does not fit the type is handed on as text, for the field's validator to name the mistake."""
    if _blank(value):
        return None
    if isinstance(value, time):
        raise ValueError(_("A time without a date."))
    if col.type == "bool":
        if isinstance(value, bool):
            return value
        word = _text(value).casefold()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError(_("Write 是 or 否."))
    if col.type == "choice":
        text = _text(value)
        return choices.get(text.casefold(), text)
    if col.type == "date":
        if isinstance(value, datetime | date):
            return (value.date() if isinstance(value, datetime) else value).isoformat()
        return _date_text(_text(value), with_time=False)
    if col.type == "datetime":
        if isinstance(value, datetime):
            return value.replace(microsecond=0).isoformat()  # naive: Beijing time, as the form reads it
        if isinstance(value, date):
            return datetime.combine(value, time(0)).isoformat()
        return _date_text(_text(value), with_time=True)
    if col.type == "month":
        if isinstance(value, datetime | date):
            return value.strftime("%Y-%m")
        return _text(value)
    if col.type in ("int", "number"):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return str(int(value)) if col.type == "int" and float(value).is_integer() else repr(value)
        return _text(value)
    return _text(value)


def _date_text(text: str, with_time: bool) -> str:
    """2026/3/5, 2026.03.05, 2026年3月5日 (and 8:05 for a time) → ISO; anything else as it was."""
    match = DATE_TEXT.match(text)
    if not match:
        return text
    y, m, d, hh, mm, ss = match.groups()
    day = f"{y}-{int(m):02d}-{int(d):02d}"
    if hh is None:
        return f"{day}T00:00:00" if with_time else day
    if not with_time:
        return text  # a time in a date column: the validator says it is not a date
    return f"{day}T{int(hh):02d}:{mm}:{ss or '00'}"
