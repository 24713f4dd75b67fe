"""Files of reported data records: the kinds of file a data kind declares (``DataKind.files``), which
types each takes, and the one check every upload passes, from the web form and the API alike.

A file is judged by its content (``workflows.attachments.content_refusal``), never by the name or type
the sender gave it; the storage is the case attachments' (``workflows.attachments.new_attachment``).
"""
from functools import cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, MultipleFileField
from wtforms.validators import ValidationError

from workflows import attachments
from workflows.attachments import DOCUMENT_TYPES, IMAGE_TYPES, NewFile
from workflows.text import display_filename

from .data_forms import form_for
from .data_kinds import KINDS, KINDS_BY_KEY

# code → (label, the types it takes). A photo is an image; a document may also be a scan or an Office file.
FILE_KINDS = {
    "licence": (_l("Licence"), DOCUMENT_TYPES),
    "certificate": (_l("Certificate"), DOCUMENT_TYPES),
    "contract": (_l("Contract"), DOCUMENT_TYPES),
    "emergency_plan": (_l("Emergency plan"), DOCUMENT_TYPES),
    "insurance": (_l("Insurance policy"), DOCUMENT_TYPES),
    "report": (_l("Test or inspection report"), DOCUMENT_TYPES),
    "photo": (_l("Photo"), IMAGE_TYPES),
    "other": (_l("Other"), DOCUMENT_TYPES),
}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", attachments.DOCX: "DOCX",
              attachments.XLSX: "XLSX"}
# What a browser's file chooser offers first (the content is what is checked).
ACCEPT = {"application/pdf": ".pdf", "image/jpeg": ".jpg,.jpeg", "image/png": ".png", attachments.DOCX: ".docx",
          attachments.XLSX: ".xlsx"}
FIELD_PREFIX = "files_"


def _check_declarations() -> None:
    # A kind naming a file kind nobody described would offer an upload nobody can check; fail at import.
    for kind in KINDS:
        unknown = set(kind.files) - set(FILE_KINDS)
        if unknown:
            raise ValueError(f"data kind {kind.key} declares unknown file kinds {sorted(unknown)}")


_check_declarations()


def label_of(file_kind: str | None) -> str:
    found = FILE_KINDS.get(file_kind or "")
    return str(found[0]) if found else str(FILE_KINDS["other"][0])


def types_text(file_kind: str) -> str:
    return "、".join(TYPE_NAMES[t] for t in FILE_KINDS[file_kind][1])


def file_problem(file_kind: str, content: bytes) -> str | None:
    """Why ``content`` may not be kept as a file of ``file_kind`` (said to a person), or None."""
    _found, refused = attachments.content_refusal(content, FILE_KINDS[file_kind][1])
    if refused == attachments.TOO_LARGE:
        return _("File larger than %(mb)d MB.", mb=attachments.MAX_BYTES // (1024 * 1024))
    if refused == attachments.TYPE_NOT_ALLOWED:
        return _("The file's content is not one of: %(types)s.", types=types_text(file_kind))
    return None


def read_upload(upload: FileStorage) -> bytes:
    """At most one byte past the limit: enough to tell a file is too large without holding all of it."""
    return upload.stream.read(attachments.MAX_BYTES + 1)


def new_file(upload: FileStorage, file_kind: str, content: bytes) -> NewFile:
    """The upload as a file to store: its type is the one its content shows."""
    found = attachments.sniffed_type(content)
    return NewFile(upload.filename or "", found or "application/octet-stream", content, field=file_kind)


class DataFilesField(MultipleFileField):
    """The files of one file kind uploaded with a record on the web form; checked by their content."""

    def __init__(self, label=None, validators=None, file_kind: str = "other", **kwargs):
        super().__init__(label, validators, **kwargs)
        self.file_kind = file_kind
        self.files: list[NewFile] = []

    def process_formdata(self, valuelist):
        self.data = [v for v in valuelist if isinstance(v, FileStorage) and v.filename]

    def pre_validate(self, form):
        self.files = []
        for upload in self.data or []:
            content = read_upload(upload)
            problem = file_problem(self.file_kind, content)
            if problem:
                self.files = []
                raise ValidationError(f"{display_filename(upload.filename)[:80]}：{problem}")
            self.files.append(new_file(upload, self.file_kind, content))


class _WithFiles:
    """The record form of a kind with its file uploads and the choice to keep the earlier version's files."""

    file_fields: tuple = ()

    def shape_data(self, data: dict) -> dict:
        data = {k: v for k, v in data.items() if k != "keep_files" and not k.startswith(FIELD_PREFIX)}
        return super().shape_data(data)

    @property
    def new_files(self) -> list[NewFile]:
        return [f for name in self.file_fields for f in getattr(self, name).files]


@cache
def web_form_for(kind_key: str) -> type:
    """The web form of a kind: its record form, and when it takes files, a file field per file kind."""
    kind = KINDS_BY_KEY[kind_key]
    base = form_for(kind_key)
    if not kind.files:
        return base
    attrs = {"file_fields": tuple(FIELD_PREFIX + code for code in kind.files)}
    for code in kind.files:
        attrs[FIELD_PREFIX + code] = DataFilesField(
            FILE_KINDS[code][0], file_kind=code,
            render_kw={"accept": ",".join(ACCEPT[t] for t in FILE_KINDS[code][1])},
            description=_l("Several files may be chosen; %(types)s, at most %(mb)d MB each.",
                           types=types_text(code), mb=attachments.MAX_BYTES // (1024 * 1024)))
    attrs["keep_files"] = BooleanField(_l("Keep the files of the record's previous version"), default=True)
    return type(base.__name__.replace("RecordForm", "WebForm"), (_WithFiles, base), attrs)
