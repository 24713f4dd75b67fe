"""Field types shared by the task forms."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from wtforms import Field, MultipleFileField
from wtforms.validators import ValidationError
from wtforms.widgets import DateTimeLocalInput

from workflows import attachments

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_ATTACHMENT_BYTES = attachments.MAX_BYTES
ATTACHMENT_TYPES = attachments.TYPES


HEAD_BYTES = 8192  # enough for every type's signature


def content_problem() -> str:
    """Said of a file whose content is none of the attachment types, whatever it was called."""
    return _("The file's content is not one of: %(types)s.", types=", ".join(ATTACHMENT_TYPES))


def attachment_type_problem(mimetype: str | None) -> str | None:
    """Why a file of this type is not taken as an attachment, or None."""
    if not mimetype:
        return _("The file was sent without a type; send it as one of: %(types)s.",
                 types=", ".join(ATTACHMENT_TYPES))
    if mimetype not in ATTACHMENT_TYPES:
        return _("File type not allowed: %(type)s", type=mimetype)
    return None


# The years an instant a person enters may fall in (a discovery long past, a hearing or a deadline ahead).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


class InstantField(Field):
    """A point in time: ISO 8601 with offset from the API, ``YYYY-MM-DDTHH:MM`` (Shanghai) from the browser."""

    widget = DateTimeLocalInput()
    json_schema = {"type": "string", "format": "date-time"}

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M") if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0]:
            self.data = None
            return
        try:
            value = datetime.fromisoformat(str(valuelist[0]).strip().replace("Z", "+00:00"))
            value = value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
            # An instant at the calendar's edge (year 1 or 9999 with an offset) cannot be moved to another zone:
            # refused with the rest, as are years no case of the platform's can be about.
            if not EARLIEST_YEAR <= value.astimezone(LOCAL_TZ).year <= LATEST_YEAR:
                raise ValueError
        except (ValueError, OverflowError):
            self.data = None
            raise ValueError(_("Not a valid date and time.")) from None
        self.data = value


class InFuture:
    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data is not None and field.data <= datetime.now(LOCAL_TZ):
            raise ValidationError(self.message or _("Must be in the future."))


class NotInFuture:
    """For what has happened: an accident's time, the moment a decision was served."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data is not None and field.data > datetime.now(LOCAL_TZ):
            raise ValidationError(self.message or _("Cannot be in the future."))


class AttachmentsField(MultipleFileField):
    """Files uploaded with the form (web) or ids of files uploaded before (API)."""

    json_schema = {"type": "array", "items": {"type": "integer"},
                   "description": "ids returned by POST /api/v1/attachments"}

    def process_formdata(self, valuelist):
        self.data = []
        for v in valuelist:
            if isinstance(v, FileStorage):
                if v.filename:
                    self.data.append(v)
            elif isinstance(v, str) and v.strip().isdigit():
                self.data.append(int(v))
            elif v not in ("", None):
                self.data = []
                raise ValueError(_("Not a list of attachment ids."))

    def pre_validate(self, form):
        for item in self.data or []:
            if isinstance(item, FileStorage):
                problem = attachment_type_problem(item.mimetype)
                if problem:
                    raise ValidationError(problem)
                item.stream.seek(0, 2)
                size = item.stream.tell()
                item.stream.seek(0)
                head = item.stream.read(HEAD_BYTES)
                item.stream.seek(0)
                refused = attachments.refusal(item.mimetype, size, head)
                if refused == attachments.TYPE_NOT_ALLOWED:
                    raise ValidationError(content_problem())
                if refused == attachments.TOO_LARGE:
                    raise ValidationError(_("File larger than 10 MB."))

    @property
    def uploads(self) -> list[FileStorage]:
        return [v for v in self.data or [] if isinstance(v, FileStorage)]

    @property
    def ids(self) -> list[int]:
        return [v for v in self.data or [] if isinstance(v, int)]


class ImagesOnly:
    """Photos only (a checklist item's photo from the camera): no PDF among them."""

    def __call__(self, form, field):
        for upload in getattr(field, "uploads", ()):
            if not (upload.mimetype or "").startswith("image/"):
                raise ValidationError(_("Only photos (images) can be attached here."))
