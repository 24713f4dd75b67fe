"""Forms of the inspection lifecycle (L1, A5.3/A8.1): the plan, a single inspection, the checklist."""
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models import ROLE_CITY_ADMIN, ROLE_INSPECTOR, ChecklistTemplate, Enterprise, User
from workflows import access
from workflows.services.task_context import Fact

from .base import FlaskForm
from .dynamic import dynamic_form, pair_rows
from .fields import AttachmentsField

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


class ChecklistForm(FlaskForm):
    """The inspector's checklist. One result per template item; the score is computed by the model."""

    context = (Fact("enterprise_id", "enterprise"), Fact("name"), Fact("planned_on", "date"), Fact("level", "enum"),
               Fact("department"), Fact("delegated", "bool"), Fact("delegate_unit"), Fact("template_name"),
               Fact("template_version", "number"))

    rectification_days = IntegerField(_l("Days allowed for rectification"), default=15,
                                      validators=[InputRequired(), NumberRange(min=1, max=180)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])
    photos = AttachmentsField(_l("Inspection photos"))

    @classmethod
    def for_case(cls, data: dict):
        return dynamic_form(cls, data.get("checklist") or [], _checklist_fields)

    def shape_data(self, data: dict) -> dict:
        answers, out = pair_rows(data, "item_", "note_", "index", "result", "note")
        return {**out, "answers": answers}


def _checklist_fields(items: list) -> dict:
    fields = {}
    for i, item in enumerate(items):
        label = f"{item.get('code', i + 1)} {item.get('text', '')} " \
                f"({item.get('points', 0)} / {item.get('problem_class', '')})"
        fields[f"item_{i}"] = RadioField(label, choices=RESULTS, validators=[InputRequired()])
        fields[f"note_{i}"] = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    return fields
