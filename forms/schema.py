"""One form definition, two paths: WTForms for the page, JSON Schema and JSON validation for the API."""
from datetime import date, datetime

from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from .fields import AttachmentsField

SKIP = {"csrf_token", "submit"}


def _field_schema(field) -> dict:
    if hasattr(field, "json_schema"):
        schema = dict(field.json_schema)
    elif isinstance(field, SelectField | RadioField | SelectMultipleField):
        choices = list(field.iter_choices())
        values = [c[0] for c in choices]
        if getattr(field, "coerce", str) is int:
            schema = {"type": "integer", "enum": [int(v) for v in values]}
        else:
            schema = {"type": "string", "enum": values}
        schema["x-labels"] = {str(c[0]): str(c[1]) for c in choices}
        if isinstance(field, SelectMultipleField):  # several of the choices, as a JSON list
            schema = {"type": "array", "items": schema}
    elif isinstance(field, BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, IntegerField):
        schema = {"type": "integer"}
    elif isinstance(field, DecimalField | FloatField):
        schema = {"type": "number"}
    elif isinstance(field, DateField):
        schema = {"type": "string", "format": "date"}
    else:
        schema = {"type": "string"}
    for v in field.validators:
        if isinstance(v, Length) and isinstance(field, StringField):
            if v.max and v.max > 0:
                schema["maxLength"] = v.max
    schema["title"] = str(field.label.text)
    if field.description:
        schema["description"] = str(field.description)
    return schema


def _nullable(schema: dict) -> dict:
    """An optional field also takes null, as the API reads it: no value (and as task data shows an empty one)."""
    schema = dict(schema)
    if isinstance(schema.get("type"), str):
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def json_schema(form) -> dict:
    props, required = {}, []
    for field in form:
        if field.name in SKIP:
            continue
        props[field.name] = _field_schema(field)
        if any(isinstance(v, DataRequired | InputRequired) for v in field.validators):
            required.append(field.name)
        else:
            props[field.name] = _nullable(props[field.name])
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def formdata_from_json(data: dict) -> tuple[MultiDict, dict]:
    """Turn a JSON object into the form data WTForms validates, so both paths share validators.

    Values become strings as a browser would send them; nested objects are refused here.
    """
    md, errors = MultiDict(), {}
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if v is None:
                continue
            if isinstance(v, bool):
                if v:
                    md.add(key, "y")
            elif isinstance(v, int | float | str):
                md.add(key, str(v))
            else:
                errors[key] = ["Not a valid value."]
    return md, errors


_JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,)}


def _of_type(value, json_type: str | None) -> bool:
    if json_type not in _JSON_TYPES:
        return True
    if isinstance(value, bool) and json_type != "boolean":
        return False
    return isinstance(value, _JSON_TYPES[json_type])


def _json_type(field) -> tuple[str | None, str | None]:
    """The JSON type ``_field_schema`` states for ``field`` (and its items' for an array), without the rest
    of its schema: the labels and descriptions it translates and the choices it lists cost the API's
    form binding more than its validation did, and the type never depends on them."""
    if hasattr(field, "json_schema"):
        schema = field.json_schema
        return schema.get("type"), schema.get("items", {}).get("type")
    if isinstance(field, SelectField | RadioField | SelectMultipleField):
        of = "integer" if getattr(field, "coerce", str) is int else "string"
        return ("array", of) if isinstance(field, SelectMultipleField) else (of, None)
    if isinstance(field, BooleanField):
        return "boolean", None
    if isinstance(field, IntegerField):
        return "integer", None
    if isinstance(field, DecimalField | FloatField):
        return "number", None
    return "string", None  # a date too: a string of its format


def type_errors(form, data: dict) -> dict:
    """Values whose JSON type is not the one the document states for their field (a number for a text,
    a list for a single value). formdata_from_json would read them as a browser's strings and accept
    them; the API takes what it documents. null stands for an absent value."""
    errors = {}
    for field in form:
        value = data.get(field.name)
        if field.name in SKIP or value is None:
            continue
        json_type, item_type = _json_type(field)
        if json_type == "array":
            if not isinstance(value, list) or not all(_of_type(v, item_type) for v in value):
                errors[field.name] = [f"Must be a list of {item_type or 'values'}s."]
        elif not _of_type(value, json_type):
            errors[field.name] = [f"Must be {'an' if json_type == 'integer' else 'a'} {json_type}."]
    return errors


def unknown_fields(form, data: dict) -> dict:
    names = {f.name for f in form} - SKIP
    return {k: ["Unknown field."] for k in data if k not in names}


def task_data(form) -> dict:
    """The validated values a workflow receives: JSON-safe, files excluded (they travel apart)."""
    out = {}
    for field in form:
        if field.name in SKIP or isinstance(field, AttachmentsField):
            continue
        value = field.data
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif hasattr(value, "as_tuple"):  # Decimal
            value = str(value)
        out[field.name] = value
    # A form may reshape its flat fields into what its model reads (checklist answers as a list).
    return form.shape_data(out) if hasattr(form, "shape_data") else out
