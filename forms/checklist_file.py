"""Checklist templates (A5.1) as files: reading an uploaded .xlsx or .json, checking its items, writing
the downloads. Pure input handling: the web page and the API both call it, and nothing here touches a
request or the database.

Every problem is collected before anything is refused, so an admin fixes a spreadsheet in one pass.
Rows are numbered as the admin sees them: the spreadsheet's row for .xlsx, the item's position
(from 1) for JSON. API field keys use the 0-based index into the items instead (``items[2].points``)."""
import io
import json
import zipfile
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models import TEMPLATE_KINDS
from workflows import text as guarded_json
from workflows.text import has_bad_text

from .base import BAD_TEXT

COLUMNS = ("code", "text", "points", "problem_class")
# The layout of the downloaded workbook, so that what is downloaded uploads unchanged.
ZH_HEADERS = ("编号", "检查内容", "分值", "问题类别")
HEADERS = {**dict(zip(ZH_HEADERS, COLUMNS, strict=True)), **{c: c for c in COLUMNS},
           "problem class": "problem_class"}
COLUMN_LABELS = {"code": _l("Code"), "text": _l("Inspection content"), "points": _l("Points"),
                 "problem_class": _l("Problem class")}
CLASSES = {"I": "I", "II": "II", "III": "III", "Ⅰ": "I", "Ⅱ": "II", "Ⅲ": "III", "1": "I", "2": "II", "3": "III"}
MAX_ITEMS, MAX_CODE, MAX_TEXT, MAX_NAME, MAX_POINTS = 300, 32, 500, 128, 100
MAX_FILE_BYTES = 2 * 1024 * 1024
# An .xlsx is a zip: a small file may inflate to gigabytes before openpyxl sees a single row.
MAX_UNZIPPED_BYTES = 40 * 1024 * 1024
SUFFIXES = (".xlsx", ".json")


@dataclass
class Problem:
    key: str       # the API field: "items[2].points", "items", "file", "name", "kind"
    message: str


class ChecklistFileError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems

    @property
    def messages(self) -> list[str]:
        return [p.message for p in self.problems]

    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.key, []).append(p.message)
        return out


@dataclass
class Upload:
    """What a file (or a JSON body) says: the kind and name if it carries them, and the checked items."""

    items: list[dict]
    kind: str | None = None
    name: str | None = None
    problems: list[Problem] = field(default_factory=list)


def _refuse(key: str, message: str):
    raise ChecklistFileError([Problem(key, message)])


# ---- reading ----------------------------------------------------------------
def read_file(filename: str, content: bytes) -> Upload:
    """An uploaded .xlsx or .json file. Raises ChecklistFileError with every problem found."""
    suffix = "." + filename.replace("\\", "/").rsplit("/", 1)[-1].rpartition(".")[2].lower()
    if suffix not in SUFFIXES:
        _refuse("file", _("Only .xlsx (Excel) and .json files are accepted."))
    if not content.strip():
        _refuse("file", _("The file is empty."))
    if len(content) > MAX_FILE_BYTES:
        _refuse("file", _("The file is larger than %(n)s MB.", n=MAX_FILE_BYTES // (1024 * 1024)))
    upload = read_xlsx(content) if suffix == ".xlsx" else read_json(content)
    if upload.problems:
        raise ChecklistFileError(upload.problems)
    return upload


def read_json(content: bytes | str) -> Upload:
    """{"kind", "name", "items": [...]} as downloaded, or a bare list of items."""
    try:
        data = guarded_json.loads(content)
    except guarded_json.BadText as exc:
        _refuse(exc.path, str(BAD_TEXT))
    except (UnicodeError, ValueError) as exc:  # TooDeep among them
        _refuse("file", _("The file is not valid JSON (%(error)s).", error=str(exc)[:200]))
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict):
        _refuse("file", _("The JSON must be an object with \"items\", or a list of items."))
    return from_json(data)


def from_json(data: dict) -> Upload:
    """A JSON object (an uploaded file or an API body): optional kind and name, and its items."""
    problems: list[Problem] = []
    kind, name = _text_or_none(data.get("kind"), "kind", problems), _text_or_none(data.get("name"), "name", problems)
    raw = data.get("items")
    if not isinstance(raw, list):
        problems.append(Problem("items", _("\"items\" must be a list of checklist items.")))
        return Upload([], kind, name, problems)
    rows = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            rows.append((i + 1, {c: item.get(c) for c in COLUMNS}))
        else:
            problems.append(Problem(f"items[{i}]", _("Row %(row)s: must be an object with code, text, points "
                                                     "and problem_class.", row=i + 1)))
            rows.append((i + 1, None))
    items, item_problems = check_items(rows)
    return Upload(items, kind, name, problems + item_problems)


def _text_or_none(value, key: str, problems: list[Problem]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append(Problem(key, _("Must be text.")))
        return None
    return value.strip() or None


def read_xlsx(content: bytes) -> Upload:
    """The first sheet: a header row naming the columns, one item per row below it; blank rows are skipped."""
    from openpyxl import load_workbook  # only uploads and downloads need it, not every worker start

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_UNZIPPED_BYTES:
                _refuse("file", _("The workbook is too large once unpacked."))
        # openpyxl parses with entity resolution off (lxml) or with expat, which refuses entity expansion bombs.
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ChecklistFileError:
        raise
    except Exception:  # a corrupt or foreign file must be a message to the admin, not a 500
        _refuse("file", _("The file could not be read as an Excel workbook (.xlsx)."))
    try:
        return _sheet_upload(book)
    except SyntaxError:  # rows are parsed as they are read: XML no cell may hold (&#0;) shows only now
        _refuse("file", _("The file could not be read as an Excel workbook (.xlsx)."))
    finally:
        book.close()


def _sheet_upload(book) -> Upload:
    props = book.properties
    kind = (props.subject or "").strip() or None
    name = (props.title or "").strip() or None
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        _refuse("file", _("The workbook has no sheet."))
    lines = sheet.iter_rows(values_only=True)
    header = next(lines, None) or ()
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        column = HEADERS.get(str(title).strip().lower() if title is not None else "")
        if column is not None:
            columns.setdefault(column, index)
    missing = [ZH_HEADERS[COLUMNS.index(c)] for c in COLUMNS if c not in columns]
    if missing:
        _refuse("file", _("The first row must name the columns 编号 | 检查内容 | 分值 | 问题类别 (or code | text | "
                          "points | problem_class); missing: %(columns)s.", columns=", ".join(missing)))
    rows = []
    for number, line in enumerate(lines, start=2):
        values = {c: (line[i] if i < len(line) else None) for c, i in columns.items()}
        if all(_blank(v) for v in values.values()):
            continue
        rows.append((number, values))
        if len(rows) > MAX_ITEMS:  # stop reading: the answer is already "too many"
            break
    items, problems = check_items(rows)
    return Upload(items, kind, name, problems)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---- checking ---------------------------------------------------------------
def check_items(rows: list[tuple[int, dict | None]]) -> tuple[list[dict], list[Problem]]:
    """Rows as (row number shown to the admin, raw values or None). Returns the clean items and every problem."""
    if not rows:
        return [], [Problem("items", _("The checklist has no items: at least one row is needed."))]
    if len(rows) > MAX_ITEMS:
        return [], [Problem("items", _("A checklist has at most %(n)s items.", n=MAX_ITEMS))]
    items, problems, seen = [], [], {}
    for index, (row, values) in enumerate(rows):
        if values is None:
            continue
        item, bad = {}, {}
        for column in COLUMNS:
            value, error = CHECKS[column](values.get(column))
            if error:
                bad[column] = error
            item[column] = value
        if "code" not in bad:
            first = seen.setdefault(item["code"].casefold(), row)
            if first != row:
                bad["code"] = _("the same code as row %(row)s", row=first)
        for column in (c for c in COLUMNS if c in bad):
            error = bad[column]
            problems.append(Problem(f"items[{index}].{column}", _("Row %(row)s %(column)s: %(error)s", row=row,
                                                                   column=COLUMN_LABELS[column], error=error)))
        items.append(item)
    return items, problems


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as 1 comes back from Excel as 1.0
    if isinstance(value, int | float | str):
        return str(value).strip()
    return None


def _check_string(limit: int):
    def check(value):
        text = _as_text(value)
        if text is None and value is not None:
            return None, _("must be text")
        if not text:
            return None, _("must not be empty")
        if len(text) > limit:
            return None, _("at most %(n)s characters", n=limit)
        # Control characters cannot be written to an .xlsx cell: the download would fail; a lone
        # surrogate cannot be stored or shown at all.
        if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text) or has_bad_text(text):
            return None, _("contains control characters")
        return text, None
    return check


def _check_points(value):
    error = _("must be an integer from 0 to %(max)s", max=MAX_POINTS)
    if isinstance(value, bool):
        return None, error
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= MAX_POINTS:
        return None, error
    return value, None


def _check_class(value):
    text = _as_text(value)
    found = CLASSES.get((text or "").upper())
    if found is None:
        return None, _("must be I, II or III")
    return found, None


CHECKS = {"code": _check_string(MAX_CODE), "text": _check_string(MAX_TEXT), "points": _check_points,
          "problem_class": _check_class}


def resolve(upload: Upload, kind: str | None, name: str | None) -> tuple[str, str | None]:
    """The kind and name a new version gets: the ones chosen (form, URL, body) over the file's.
    A file carrying another kind than the one chosen is refused: a version cannot be taken back."""
    problems = []
    if upload.kind and upload.kind not in TEMPLATE_KINDS:
        problems.append(Problem("kind", _("Unknown template kind %(kind)s.", kind=upload.kind)))
    if kind and upload.kind and kind != upload.kind and upload.kind in TEMPLATE_KINDS:
        problems.append(Problem("kind", _("The file is a template of kind %(file)s, not %(chosen)s.",
                                          file=upload.kind, chosen=kind)))
    kind = kind or upload.kind
    if not kind:
        problems.append(Problem("kind", _("Choose the template kind.")))
    elif kind not in TEMPLATE_KINDS:
        problems.append(Problem("kind", _("Unknown template kind %(kind)s.", kind=kind)))
    name = (name or "").strip() or upload.name
    if name and len(name) > MAX_NAME:
        problems.append(Problem("name", _("The name is at most %(n)s characters.", n=MAX_NAME)))
    if problems:
        raise ChecklistFileError(problems)
    return kind, name


# ---- writing ----------------------------------------------------------------
def to_xlsx(kind: str, name: str, version: int, items: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = kind[:31]
    # Where the upload finds the kind and name again (File → Properties in Excel and WPS).
    book.properties.title, book.properties.subject = name, kind
    book.properties.keywords = f"gasflow checklist v{version}"
    sheet.append(ZH_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in items:
        sheet.append([item["code"], item["text"], item["points"], item["problem_class"]])
        # Text from a JSON upload starting with "=" must stay text, not become a formula in the admin's Excel.
        for cell in sheet[sheet.max_row][:2]:
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for letter, width in zip("ABCD", (12, 70, 8, 10), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_json(kind: str, name: str, version: int, items: list[dict]) -> bytes:
    return json.dumps({"kind": kind, "name": name, "version": version, "items": items}, ensure_ascii=False,
                      indent=1).encode("utf-8")
