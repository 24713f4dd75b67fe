"""The base of every form: what a browser or a client posts is refused, field by field, when it holds
NUL or a lone surrogate (PostgreSQL cannot store the one, no page can show the other). Checked once
the form has read its input, as an input error of the field, so the page shows the form again with
the message next to the field, and the API names the field.

A form that completes a task declares its **context**: what the person deciding it must see above it
(``context = (Fact("hazard_description", "longtext"), Document("rectification_notice"), Rounds(...), ...)``,
the vocabulary of ``workflows/services/task_context.py``). The task page and ``GET /api/v1/tasks/{id}``
render the same declaration (``web/common/task_context.py``, ``web/templates/_task_context.html``); a form
without one shows an empty context, which the browser walk reports."""
import flask_wtf
import wtforms
from flask_babel import lazy_gettext as _l
from wtforms.fields import FieldList, FormField

from workflows.text import has_bad_text

BAD_TEXT = _l("Contains a character that is not allowed (NUL or an unpaired surrogate).")


def _leaves(fields):
    for field in fields:
        if isinstance(field, FormField):
            yield from _leaves(field.form)
        elif isinstance(field, FieldList):
            yield from _leaves(field.entries)
        else:
            yield field


class TextGuard:
    def process(self, formdata=None, obj=None, data=None, extra_filters=None, **kwargs):
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)
        for field in _leaves(self):
            if any(isinstance(v, str) and has_bad_text(v) for v in field.raw_data or ()) \
                    and BAD_TEXT not in field.process_errors:
                field.process_errors.append(BAD_TEXT)

    @property
    def refused_text(self) -> bool:
        """Whether a field was refused for the characters it holds."""
        return any(BAD_TEXT in field.process_errors for field in _leaves(self))


class FlaskForm(TextGuard, flask_wtf.FlaskForm):
    pass


class Form(TextGuard, wtforms.Form):
    pass
