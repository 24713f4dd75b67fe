"""What a draft of a task form may hold (see workflows/services/task_drafts.py): the form's own fields,
as text, within each field's limits. Checked field by field so a refusal names the field; a draft is
partial, so nothing is required, but nothing is kept that the form itself would not take as input."""
from flask_babel import gettext as _
from wtforms import RadioField, SelectField, SelectMultipleField
from wtforms.validators import Length

from workflows.text import has_bad_text

from .base import BAD_TEXT
from .fields import AttachmentsField

# Never kept: the single-use tokens of the page, and files (a draft is saved as the form changes).
NOT_KEPT = {"csrf_token", "submission_token"}
MAX_TEXT = 4000          # a field without its own limit
MAX_FIELDS = 2000        # a checklist of 300 items has 901 fields


class DraftRefused(Exception):
    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("draft refused")
        self.fields = fields


def _max_length(field) -> int:
    limits = [v.max for v in field.validators if isinstance(v, Length) and v.max and v.max > 0]
    return min(limits) if limits else MAX_TEXT


def _choices(field) -> set[str] | None:
    if isinstance(field, RadioField | SelectField | SelectMultipleField):
        return {str(value) for value, *_rest in field.iter_choices()}
    return None


def check(form, data) -> dict[str, str | list[str]]:
    """``data`` (a JSON object: field name → text, or a list of texts) as a draft of ``form``, or
    DraftRefused naming every field that cannot be kept."""
    if not isinstance(data, dict):
        raise DraftRefused({"data": [_("Must be an object of field names and values.")]})
    if len(data) > MAX_FIELDS:
        raise DraftRefused({"data": [_("Too many fields.")]})
    fields = {f.name: f for f in form}
    errors: dict[str, list[str]] = {}
    kept: dict[str, str | list[str]] = {}
    for name, value in data.items():
        if name in NOT_KEPT:
            continue
        field = fields.get(name)
        if field is None or field.type == "CSRFTokenField":
            errors[str(name)[:100]] = [_("Not a field of this form.")]
            continue
        if isinstance(field, AttachmentsField):
            errors[name] = [_("Files are not kept in a draft; they are sent with the form.")]
            continue
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values) or (isinstance(value, list)
                                                           and not isinstance(field, SelectMultipleField)):
            errors[name] = [_("Must be text.")]
            continue
        if any(has_bad_text(v) for v in values):
            errors[name] = [str(BAD_TEXT)]
            continue
        if any(len(v) > _max_length(field) for v in values):
            errors[name] = [_("Longer than %(max)s characters.", max=_max_length(field))]
            continue
        allowed = _choices(field)
        if allowed is not None and any(v and v not in allowed for v in values):
            errors[name] = [_("Not one of the choices.")]
            continue
        kept[name] = value
    if errors:
        raise DraftRefused(errors)
    return kept
