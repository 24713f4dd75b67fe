"""Forms of the inspection lifecycle (L1, A5.3/A8.1): the plan, a single inspection, the checklist."""
import math
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models import ROLE_CITY_ADMIN, ROLE_INSPECTOR, ChecklistTemplate, Enterprise, User
from workflows import access
from workflows.services.spatial import CHINA_LAT, CHINA_LON
from workflows.services.task_context import Fact

from .base import FlaskForm
from .dynamic import dynamic_form, pair_rows
from .fields import AttachmentsField, ImagesOnly

LEVELS = [("city", _l("City level")), ("county", _l("County level"))]
RESULTS = [("pass", _l("Compliant")), ("fail", _l("Problem found")), ("na", _l("Not applicable"))]


class _TemplateChoices:
    """Offers the active checklist templates and copies the chosen one's items into the case,
    so later edits of the template leave inspections under way as they were planned."""

    def load_templates(self, session):
        rows = session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.active.is_(True))
                               .order_by(ChecklistTemplate.kind, ChecklistTemplate.version.desc())).all()
        self._templates = {t.id: t for t in rows}
        self.template_id.choices = [(t.id, f"{t.name} (v{t.version})") for t in rows]

    def template_data(self, template_id) -> dict:
        t = self._templates[template_id]
        return {"checklist": t.items, "template_name": t.name, "template_kind": t.kind,
                "template_version": t.version}


def inspectors_in_scope(session, user) -> list[User]:
    where = [User.role == ROLE_INSPECTOR, User.active.is_(True)]
    if user.role != ROLE_CITY_ADMIN:
        where.append(User.county_id == user.county_id)
    return session.scalars(select(User).where(*where).order_by(User.username)).all()


class InspectionPlanForm(_TemplateChoices, FlaskForm):
    """Start of an inspection activity: one inspection per enterprise goes to the named inspectors."""

    name = StringField(_l("Activity name"), validators=[DataRequired(), Length(max=128)])
    level = SelectField(_l("Level"), choices=LEVELS, validators=[InputRequired()])
    department = StringField(_l("Inspecting department"), validators=[DataRequired(), Length(max=128)])
    planned_on = DateField(_l("Inspection date"), validators=[InputRequired()])
    delegated = BooleanField(_l("Delegated inspection"))
    # No Optional() here: it would stop the chain before validate_delegate_unit runs.
    delegate_unit = StringField(_l("Delegated unit"), validators=[Length(max=128)])
    template_id = SelectField(_l("Checklist template"), coerce=int, validators=[InputRequired()])
    enterprise_ids = SelectMultipleField(_l("Enterprises"), coerce=int, validators=[DataRequired()],
                                         widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    inspectors = SelectMultipleField(_l("Inspectors"), validators=[DataRequired()],
                                     widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def load_choices(self, user, session):
        self.load_templates(session)
        rows = session.execute(select(Enterprise.id, Enterprise.name).where(access.enterprise_scope(user))
                               .order_by(Enterprise.name)).all()
        self.enterprise_ids.choices = [(r.id, r.name) for r in rows]
        self.inspectors.choices = [(u.username, u.display_name) for u in inspectors_in_scope(session, user)]

    def validate_delegate_unit(self, field):
        if self.delegated.data and not (field.data or "").strip():
            raise ValidationError(_l("Name the unit the inspection is delegated to."))

    def shape_data(self, data: dict) -> dict:
        return {**data, **self.template_data(data["template_id"])}


class InspectionStartForm(_TemplateChoices, FlaskForm):
    """A single inspection started by hand (not from an activity)."""

    enterprise_id = SelectField(_l("Enterprise"), coerce=int, validators=[InputRequired()])
    name = StringField(_l("Activity name"), validators=[DataRequired(), Length(max=128)])
    template_id = SelectField(_l("Checklist template"), coerce=int, validators=[InputRequired()])

    def load_choices(self, user, session):
        self.load_templates(session)

    def shape_data(self, data: dict) -> dict:
        # The same data an activity hands each of its inspections, so one model serves both.
        return {**data, **self.template_data(data["template_id"]), "planned_on": date.today().isoformat(),
                "inspectors": [], "level": "county", "department": "", "delegated": False, "delegate_unit": ""}


# Where a check-in may lie: China's box, the one the map and the accident form use, so a swapped latitude
# and longitude or a point off the coast of Africa (0, 0) is refused. Accuracy as the browser reports it.
LAT_RANGE, LON_RANGE, MAX_ACCURACY_M = CHINA_LAT, CHINA_LON, 100_000


class _Finite:
    """NaN passes every NumberRange; a coordinate must be a number."""

    def __call__(self, form, field):
        if field.data is not None and not math.isfinite(field.data):
            raise ValidationError(_l("Must be a finite number."))


def _coordinate(label, bounds, message):
    return FloatField(label, validators=[Optional(), _Finite(), NumberRange(min=bounds[0], max=bounds[1],
                                                                            message=message)])


class ChecklistForm(FlaskForm):
    """The inspector's checklist. One result per template item, each with a note and photos taken on
    the spot; the score is computed by the model. The page keeps a draft on the server as it is filled
    (``keeps_drafts``) and checks in the browser's location when it is sent (optional: the inspector
    may refuse the browser's question)."""

    keeps_drafts = True
    template = "checklist.html"

    context = (Fact("enterprise_id", "enterprise"), Fact("name"), Fact("planned_on", "date"), Fact("level", "enum"),
               Fact("department"), Fact("delegated", "bool"), Fact("delegate_unit"), Fact("template_name"),
               Fact("template_version", "number"))

    rectification_days = IntegerField(_l("Days allowed for rectification"), default=15,
                                      validators=[InputRequired(), NumberRange(min=1, max=180)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])
    photos = AttachmentsField(_l("Inspection photos"))
    latitude = _coordinate(_l("Latitude"), LAT_RANGE,
                           _l("Latitude must be between %(min)s and %(max)s (within China)."))
    longitude = _coordinate(_l("Longitude"), LON_RANGE,
                            _l("Longitude must be between %(min)s and %(max)s (within China)."))
    location_accuracy = FloatField(_l("Location accuracy (m)"), validators=[
        Optional(), _Finite(), NumberRange(min=0, max=MAX_ACCURACY_M,
                                           message=_l("Accuracy must be between %(min)s and %(max)s metres."))])

    @classmethod
    def for_case(cls, data: dict):
        return dynamic_form(cls, data.get("checklist") or [], _checklist_fields)

    def validate(self, extra_validators=None):
        # Here, not in validate_<field>: Optional() on an empty field ends its chain before those run.
        ok = super().validate(extra_validators)
        lat, lon, accuracy = self.latitude, self.longitude, self.location_accuracy
        if not (lat.errors or lon.errors) and (lat.data is None) != (lon.data is None):
            (lon if lon.data is None else lat).errors.append(_l("Give the latitude and the longitude together."))
            ok = False
        if not accuracy.errors and accuracy.data is not None and lat.data is None and lon.data is None:
            accuracy.errors.append(_l("An accuracy needs a location."))
            ok = False
        return ok

    @property
    def checklist_rows(self) -> list[tuple]:
        """The item fields in order: (result, note, photo) per checklist item."""
        out, i = [], 0
        while f"item_{i}" in self:
            out.append((self[f"item_{i}"], self[f"note_{i}"], self[f"photo_{i}"]))
            i += 1
        return out

    def shape_data(self, data: dict) -> dict:
        answers, out = pair_rows(data, "item_", "note_", "index", "result", "note")
        lat, lon, accuracy = (out.pop(k, None) for k in ("latitude", "longitude", "location_accuracy"))
        if lat is not None and lon is not None:
            out["checkin"] = {"latitude": lat, "longitude": lon, "accuracy_m": accuracy}
        return {**out, "answers": answers}

    @staticmethod
    def place_files(data: dict) -> dict:
        """Each item's photos (stored under ``photo_3``) into its answer, as ``photos``."""
        data = dict(data)
        for answer in data.get("answers") or []:
            answer["photos"] = data.pop(f"photo_{answer['index']}", [])
        for key in [k for k in data if k.startswith("photo_")]:
            data.pop(key)
        return data


def _checklist_fields(items: list) -> dict:
    fields = {}
    for i, item in enumerate(items):
        label = f"{item.get('code', i + 1)} {item.get('text', '')} " \
                f"({item.get('points', 0)} / {item.get('problem_class', '')})"
        fields[f"item_{i}"] = RadioField(label, choices=RESULTS, validators=[InputRequired()])
        fields[f"note_{i}"] = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
        fields[f"photo_{i}"] = AttachmentsField(_l("Photo"), validators=[ImagesOnly()])
    return fields
