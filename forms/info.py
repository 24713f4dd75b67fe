"""Forms of the industry information pages (A6): an item with its files, and the search."""
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms import MultipleFileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models import INFO_ANNOUNCEMENT, INFO_DRAFT, INFO_POLICY, INFO_PUBLISHED, INFO_WITHDRAWN

from .base import FlaskForm, Form
from .fields import MAX_ATTACHMENT_BYTES

CATEGORIES = [(INFO_POLICY, _l("Policies and regulations")), (INFO_ANNOUNCEMENT, _l("Announcements"))]
STATUSES = [(INFO_DRAFT, _l("Draft")), (INFO_PUBLISHED, _l("Published")), (INFO_WITHDRAWN, _l("Withdrawn"))]
MAX_BODY = 50_000

# What a policy or an announcement comes as. The stored type is decided here from the file's name and
# its first bytes must match it, so a browser's (or an attacker's) claimed type is never served back.
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc / .xls
ZIP = b"PK\x03\x04"  # .docx / .xlsx
FILE_TYPES = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "doc": ("application/msword", (OLE,)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (ZIP,)),
    "xls": ("application/vnd.ms-excel", (OLE,)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}
ACCEPT = ",".join("." + ext for ext in FILE_TYPES)


class InfoFilesField(MultipleFileField):
    """Files uploaded with an item: checked for type (by name and content) and size (10 MB each).

    ``accepted`` holds (filename, content type, bytes) once valid; ``too_large`` tells the page to answer 413.
    """

    too_large = False

    def process_formdata(self, valuelist):
        self.data = [v for v in valuelist if isinstance(v, FileStorage) and v.filename]

    def pre_validate(self, form):
        self.accepted, self.too_large = [], False
        for upload in self.data or []:
            ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
            if ext not in FILE_TYPES:
                raise ValidationError(_l("File type not allowed: %(name)s (allowed: %(types)s)",
                                         name=upload.filename, types=", ".join(FILE_TYPES)))
            content = upload.stream.read(MAX_ATTACHMENT_BYTES + 1)
            if len(content) > MAX_ATTACHMENT_BYTES:
                self.too_large = True
                raise ValidationError(_l("File larger than 10 MB: %(name)s", name=upload.filename))
            content_type, signatures = FILE_TYPES[ext]
            if not any(content.startswith(sig) for sig in signatures):
                raise ValidationError(_l("%(name)s is not a valid .%(ext)s file.", name=upload.filename, ext=ext))
            self.accepted.append((upload.filename, content_type, content))


class InfoItemForm(FlaskForm):
    category = SelectField(_l("Category"), choices=CATEGORIES, validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    doc_number = StringField(_l("Document number"), validators=[Optional(), Length(max=64)],
                             description=_l("For policies, e.g. 绍市建〔2026〕12号"))
    # Only the city admin chooses; a county supervisor's items are his county's (the field is removed).
    county_id = SelectField(_l("Issued for"), coerce=int, validators=[Optional()])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=MAX_BODY)],
                         description=_l("Plain text; blank lines separate paragraphs."))
    files = InfoFilesField(_l("Attachments"), description=_l("PDF, Word, Excel or images, at most 10 MB each."))
    remove_files = SelectMultipleField(_l("Remove attachments"), coerce=int, validators=[Optional()],
                                       widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def item_fields(self) -> dict:
        fields = {"category": self.category.data, "title": self.title.data.strip(),
                  "doc_number": (self.doc_number.data or "").strip(), "body": self.body.data.strip()}
        if "county_id" in self:
            fields["county_id"] = self.county_id.data or None
        return fields

    def new_files(self) -> list:
        return list(getattr(self.files, "accepted", []))


class InfoSearchForm(Form):
    """The search of the public list and the editor's list (GET, so no CSRF token)."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("Category"), choices=[("", _l("All categories"))] + CATEGORIES,
                           validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[("", _l("All statuses"))] + STATUSES, validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("Must not be before the start date."))
