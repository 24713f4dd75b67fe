"""Forms of an enterprise's training sessions (A4.1), publicity activities (A4.2) and the statistics page."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import TRAINEE_QUALIFIED, TRAINEE_UNQUALIFIED

from .base import FlaskForm, Form

MAX_TRAINEES = 500
RESULT_WORDS = {
    "合格": TRAINEE_QUALIFIED, "通过": TRAINEE_QUALIFIED, "qualified": TRAINEE_QUALIFIED, "pass": TRAINEE_QUALIFIED,
    "不合格": TRAINEE_UNQUALIFIED, "未通过": TRAINEE_UNQUALIFIED, "unqualified": TRAINEE_UNQUALIFIED,
    "fail": TRAINEE_UNQUALIFIED,
}
RESULTS = [(TRAINEE_QUALIFIED, _l("Passed")), (TRAINEE_UNQUALIFIED, _l("Not passed"))]
PUBLICITY_KIND_CHOICES = [("campaign", _l("Safety publicity")), ("rules", _l("Rules and regulations")),
                          ("slogan", _l("Slogans and posters")), ("other", _l("Other"))]
GROUPINGS = [("enterprise", _l("By enterprise")), ("county", _l("By county")), ("month", _l("By month"))]
_SPLIT = re.compile(r"\s*[,，\t]\s*")


class NotInFuture:
    def __call__(self, form, field):
        if field.data is not None and field.data > date.today():
            raise ValidationError(_l("Cannot be in the future."))


def parse_roster(text: str) -> tuple[list[dict], list[str]]:
    """One trainee a line: ``name, result`` or ``name, position, result`` (commas or tabs, as pasted
    from a spreadsheet). Returns the rows and, for lines that cannot be read, a message naming the line."""
    rows, errors = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = _SPLIT.split(line.strip())
        if len(parts) not in (2, 3):
            errors.append(_l("Line %(n)s: write “name, result” or “name, position, result”.", n=number))
            continue
        name, position, word = parts[0], parts[1] if len(parts) == 3 else "", parts[-1]
        result = RESULT_WORDS.get(word.lower())
        if not name or len(name) > 64 or len(position) > 64:
            errors.append(_l("Line %(n)s: the name and the position are 1 to 64 characters.", n=number))
        elif result is None:
            errors.append(_l("Line %(n)s: the result is 合格 or 不合格, not “%(word)s”.", n=number, word=word))
        else:
            rows.append({"name": name, "position": position, "result": result})
    return rows, errors


class TrainingSessionForm(FlaskForm):
    name = StringField(_l("Session"), validators=[DataRequired(), Length(max=128)],
                       description=_l("e.g. 2026 年第一期全员安全培训"))
    held_on = DateField(_l("Date"), validators=[InputRequired(), NotInFuture()])
    topic = StringField(_l("Topic"), validators=[DataRequired(), Length(max=256)])
    trainer = StringField(_l("Trainer"), validators=[Optional(), Length(max=64)])
    assessment = StringField(_l("Assessment"), validators=[DataRequired(), Length(max=256)],
                             description=_l("How the trainees were assessed, e.g. written exam and practical test"))
    roster = TextAreaField(_l("Trainees"), validators=[DataRequired()],
                           description=_l("One trainee a line: name, position, result (合格 or 不合格); "
                                          "the position may be left out."))

    def validate_roster(self, field):
        rows, errors = parse_roster(field.data)
        if errors:
            raise ValidationError(" ".join(str(e) for e in errors[:10]))
        if not rows:
            raise ValidationError(_l("List at least one trainee."))
        if len(rows) > MAX_TRAINEES:
            raise ValidationError(_l("At most %(n)s trainees a session.", n=MAX_TRAINEES))
        self.trainees = rows

    def session_fields(self) -> dict:
        return {"name": self.name.data.strip(), "held_on": self.held_on.data, "topic": self.topic.data.strip(),
                "trainer": (self.trainer.data or "").strip(), "assessment": self.assessment.data.strip()}


class PublicityForm(FlaskForm):
    activity = StringField(_l("Activity"), validators=[DataRequired(), Length(max=128)])
    kind = SelectField(_l("Publicity type"), choices=PUBLICITY_KIND_CHOICES, validators=[InputRequired()])
    held_on = DateField(_l("Date"), validators=[InputRequired(), NotInFuture()])
    audience = StringField(_l("Audience"), validators=[DataRequired(), Length(max=256)],
                           description=_l("Who was reached, e.g. residents of 华舍街道, catering users"))
    audience_count = IntegerField(_l("People reached"), validators=[Optional(), NumberRange(min=0, max=10**7)])
    materials = TextAreaField(_l("Materials"), validators=[Optional(), Length(max=4000)],
                              description=_l("Leaflets, posters, videos handed out or shown"))

    def activity_fields(self) -> dict:
        return {"activity": self.activity.data.strip(), "kind": self.kind.data, "held_on": self.held_on.data,
                "audience": self.audience.data.strip(), "audience_count": self.audience_count.data,
                "materials": (self.materials.data or "").strip()}


class TrainingStatsForm(Form):
    """The statistics page's filters (GET)."""

    group = SelectField(_l("Group"), choices=GROUPINGS, default="enterprise", validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("Must not be before the start date."))
