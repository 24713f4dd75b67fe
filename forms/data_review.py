"""Forms of data review (L6, §6.2): an enterprise's batch is accepted or rejected row by row."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.services.task_context import Fact, Files, Records, Rounds, Step

from .base import FlaskForm
from .data_kinds import KINDS_BY_KEY
from .dynamic import dynamic_form, pair_rows
from .fields import AttachmentsField

DATA_KINDS = [
    ("enterprise_info", _l("Enterprise basic information")),
    ("stations", _l("Stations")),
    ("users", _l("Real-name users")),
    ("delivery_staff", _l("Delivery staff")),
    ("vehicles", _l("Delivery vehicles")),
    ("cylinders", _l("Cylinders")),
    ("supply", _l("Supply volumes")),
    ("safety_management", _l("Safety management records")),
    ("other", _l("Other")),
]
DECISIONS = [("accept", _l("Accept")), ("reject", _l("Reject"))]
VERDICTS = [("accept_all", _l("Accept all")), ("reject_selected", _l("Reject the selected rows, accept the others"))]
BATCH = (Fact("data_kind", "enum"), Fact("period"), Fact("review_round", "number"), Files("files"))
MAX_ROWS = 200


def _rows(text: str) -> list[dict]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return [{"ref": i + 1, "summary": line[:500]} for i, line in enumerate(lines)]


class DataBatchForm(FlaskForm):
    """A batch submitted by hand: one row per line. (Uploads over the data API start the same process.)"""

    data_kind = SelectField(_l("Data kind"), choices=DATA_KINDS, validators=[InputRequired()])
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=32)])
    rows_text = TextAreaField(_l("Rows (one per line)"), validators=[DataRequired(), Length(max=100_000)])
    files = AttachmentsField(_l("Files"))

    def validate_rows_text(self, field):
        if len(_rows(field.data)) > MAX_ROWS:
            raise ValidationError(_l("At most %(n)d rows per batch.", n=MAX_ROWS))

    def shape_data(self, data: dict) -> dict:
        out = {k: v for k, v in data.items() if k != "rows_text"}
        out["items"] = _rows(data.get("rows_text", ""))
        out["batch_id"] = None  # typed in by hand: no docked records behind the rows
        return out


class DataCorrectForm(DataBatchForm):
    context = (Records(KINDS_BY_KEY, items_key="rejected_rows", key="rejected_rows"), *BATCH)

    """The enterprise resubmits the rejected rows, corrected: one line per rejected row, in order.

    Each corrected line keeps the number of the row it corrects, so the rows accepted over several
    rounds are the batch's rows, each once (numbering the corrections 1, 2, ... again made row 1 of
    the second round a different row from row 1 of the first).
    """

    data_kind = None
    period = None
    rejected_refs: tuple = ()

    @classmethod
    def for_case(cls, data: dict):
        rejected = [{"ref": int(r["ref"]), "summary": str(r.get("summary", "")), "reason": str(r.get("reason", ""))}
                    for r in data.get("rejected_rows") or [] if isinstance(r, dict) and "ref" in r]
        return dynamic_form(cls, rejected, _correct_fields)

    def validate_rows_text(self, field):
        super().validate_rows_text(field)
        if self.rejected_refs and len(_rows(field.data)) != len(self.rejected_refs):
            raise ValidationError(_l("Give one corrected line for each rejected row (%(n)d), in their order.",
                                     n=len(self.rejected_refs)))

    def shape_data(self, data: dict) -> dict:
        out = super().shape_data(data)
        if self.rejected_refs:
            pairs = zip(self.rejected_refs, out["items"], strict=True)
            out["items"] = [{"ref": ref, "summary": row["summary"]} for ref, row in pairs]
        return out


class DataReviewForm(FlaskForm):
    """The review of a batch: accept all, or reject the selected rows with one reason (the page's way);
    or a decision and reason per row (``decision_<n>``, ``reason_<n>``: the API's finer way)."""

    context = (*BATCH, Records(KINDS_BY_KEY),
               Rounds((Step("data_review", facts=(Fact("comment", "longtext"),)),
                       Step("data_correct", files=("files",)))))
    # Fields the page leaves out (the per-row pairs): the bulk choice says the same in one go.
    api_only_prefixes = ("decision_", "reason_")

    verdict = RadioField(_l("Review"), choices=VERDICTS, validators=[Optional()])
    reject_rows = SelectMultipleField(_l("Rows to reject"), coerce=int, choices=[], validators=[Optional()],
                                        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    reject_reason = TextAreaField(_l("Reason for rejecting the selected rows"),
                                  validators=[Optional(), Length(max=500)])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    # The per-record fields are made per case; how their kept values read (web/common/labels.py).
    value_choices = {"decision": DECISIONS}

    @classmethod
    def for_case(cls, data: dict):
        return dynamic_form(cls, data.get("items") or [], _review_fields)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        rows = [f for f in self if f.name.startswith("decision_")]
        if self.verdict.data in ("accept_all", "reject_selected"):
            if self.verdict.data == "reject_selected":
                if not self.reject_rows.data:
                    self.reject_rows.errors = [*self.reject_rows.errors, _l("Select the rows to reject.")]
                    ok = False
                if not (self.reject_reason.data or "").strip():
                    self.reject_reason.errors = [*self.reject_reason.errors,
                                                 _l("Say why the selected rows are rejected.")]
                    ok = False
            return ok
        if not any(f.data for f in rows):
            # Neither the bulk choice nor any row's decision: the page shows the bulk choice.
            self.verdict.errors = [*self.verdict.errors, _l("Accept all, or select the rows to reject.")]
            return False
        for field in rows:
            if not field.data:
                field.errors = [*field.errors, _l("This field is required.")]
                ok = False
            elif field.data == "reject":
                # A rejected row needs its reason; checked here because the pair of fields is generated.
                reason = self[f"reason_{field.name[9:]}"]
                if not (reason.data or "").strip():
                    reason.errors = [*reason.errors, _l("Say why this row is rejected.")]
                    ok = False
        return ok

    def shape_data(self, data: dict) -> dict:
        verdict, selected = data.pop("verdict", None), set(data.pop("reject_rows", None) or ())
        reason = (data.pop("reject_reason", None) or "").strip()
        review, out = pair_rows(data, "decision_", "reason_", "ref", "decision", "reason")
        if verdict in ("accept_all", "reject_selected"):
            review = [{"ref": r["ref"], "decision": "reject" if verdict == "reject_selected" and r["ref"] in selected
                       else "accept", "reason": reason if r["ref"] in selected and verdict == "reject_selected"
                       else ""} for r in review]
        return {**out, "review": review}


def _correct_fields(items: list) -> dict:
    listing = "; ".join(f"#{i['ref']} {i['summary']} ({i['reason']})" for i in items)
    return {"rejected_refs": tuple(i["ref"] for i in items),
            "rows_text": TextAreaField(_l("Corrected rows (one per line, in the order of the rejected rows)"),
                                       description=listing,
                                       validators=[DataRequired(), Length(max=100_000)])}


def _review_fields(items: list) -> dict:
    refs = [(int(item["ref"]), f"#{int(item['ref'])} {item.get('summary', '')}") for item in items]
    fields = {"reject_rows": SelectMultipleField(_l("Rows to reject"), coerce=int, choices=refs,
                                                   validators=[Optional()], widget=ListWidget(prefix_label=False),
                                                   option_widget=CheckboxInput()),
              # Again after the rows, so the page reads: the choice, the rows, the reason, a comment.
              "reject_reason": TextAreaField(_l("Reason for rejecting the selected rows"),
                                             validators=[Optional(), Length(max=500)]),
              "comment": TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])}
    for ref, label in refs:
        # Optional: "accept all" / "reject selected" decides every row at once (validate checks one is given).
        fields[f"decision_{ref}"] = RadioField(label, choices=DECISIONS, validators=[Optional()],
                                               description=_l("Required unless verdict is given."))
        fields[f"reason_{ref}"] = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    return fields
