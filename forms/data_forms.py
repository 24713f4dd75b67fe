"""WTForms classes built from the data kind declarations: one validator set for the API, the web
form and the Excel import."""
import re
from functools import cache
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from workflows.services.camera_streams import stream_kind

from .base import FlaskForm
from .data_kinds import KINDS_BY_KEY, DataKind
from .fields import InstantField

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|400-?\d{3}-?\d{4})$")
PLATE = re.compile(r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
MAX_TRACK_POINTS = 5000


def id_number_error(value: str) -> str | None:
    """GB 11643: 17 digits and a check character."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return "format"
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS, strict=True))
    return None if ID_CHECK[total % 11] == value[17] else "check"


class IdNumber:
    def __call__(self, form, field):
        if field.data:
            field.data = field.data.strip().upper()
            problem = id_number_error(field.data)
            if problem == "format":
                raise ValidationError(_l("An ID number is 17 digits and a check character."))
            if problem:
                raise ValidationError(_l("The ID number's check character does not match."))


def parse_track(text: str) -> list[list]:
    """``lon,lat[,time];lon,lat[,time];...`` (the same text in Excel and over the API)."""
    points = []
    for i, part in enumerate(p for p in (text or "").split(";") if p.strip()):
        bits = [b.strip() for b in part.split(",")]
        if len(bits) not in (2, 3):
            raise ValueError(_l("Point %(n)d: write lon,lat or lon,lat,time.", n=i + 1))
        try:
            lon, lat = float(bits[0]), float(bits[1])
        except ValueError:
            raise ValueError(_l("Point %(n)d: longitude and latitude must be numbers.", n=i + 1)) from None
        if not (73 <= lon <= 136 and 3 <= lat <= 54):
            raise ValueError(_l("Point %(n)d is outside China.", n=i + 1))
        points.append([lon, lat, bits[2]] if len(bits) == 3 else [lon, lat])
    if len(points) > MAX_TRACK_POINTS:
        raise ValueError(_l("At most %(n)d points in a track.", n=MAX_TRACK_POINTS))
    return points


# What a page may one day offer as a link: no javascript:, data: or file: address is kept.
URL_SCHEMES = ("http", "https", "rtsp", "rtsps", "rtmp", "rtmps")  # camera streams too
PHOTO_SCHEMES = ("http", "https")


class Links:
    """Web addresses (whitespace, comma or semicolon between them), each one http:// or https://."""

    def __call__(self, form, field):
        for url in re.split(r"[\s,;，；]+", (field.data or "").strip()):
            try:
                parts = urlsplit(url)
                ok = parts.scheme.lower() in PHOTO_SCHEMES and bool(parts.hostname)
            except ValueError:
                ok = False
            if url and not ok:
                raise ValidationError(_l("Not a web address (http:// or https://): %(url)s", url=url[:80]))


class StreamAddress:
    """A camera's stream: rtsp://, rtmp://, an HLS playlist (http(s)://….m3u8) or another http(s) address."""

    def __call__(self, form, field):
        field.data = (field.data or "").strip()
        if field.data and stream_kind(field.data) is None:
            raise ValidationError(_l("Not a stream address: use rtsp://, rtmp://, or http(s):// (an HLS "
                                     "playlist ends in .m3u8)."))


class TrackCheck:
    def __call__(self, form, field):
        if field.data:
            try:
                parse_track(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None


def _field(spec):
    need = [InputRequired()] if spec.required else [Optional()]
    label = spec.label
    if spec.type in ("text", "longtext"):
        length = [Length(min=int(spec.min or 0), max=int(spec.max or 256))]
        cls = TextAreaField if spec.type == "longtext" else StringField
        return cls(label, validators=need + length)
    if spec.type == "phone":
        return StringField(label, validators=need + [Regexp(PHONE, message=_l("Not a valid phone number."))])
    if spec.type == "id_number":
        return StringField(label, validators=need + [IdNumber()])
    if spec.type == "plate":
        return StringField(label, validators=need + [Regexp(PLATE, message=_l("Not a valid plate number."))])
    if spec.type == "url":
        return StringField(label, validators=need + [Length(max=int(spec.max or 512)), URL(
            require_tld=False, schemes=URL_SCHEMES, message=_l("Not a valid URL."))])
    if spec.type == "stream":
        return StringField(label, validators=need + [Length(max=int(spec.max or 512)), StreamAddress()])
    if spec.type == "urls":
        return TextAreaField(label, validators=need + [Length(max=int(spec.max or 2000)),
                                                        Links()])
    if spec.type == "month":
        return StringField(label, validators=need + [Regexp(MONTH, message=_l("Write the month as YYYY-MM."))])
    if spec.type in ("int", "number"):
        rng = [NumberRange(min=spec.min, max=spec.max)] if spec.min is not None or spec.max is not None else []
        return (IntegerField if spec.type == "int" else FloatField)(label, validators=need + rng)
    if spec.type == "date":
        return DateField(label, validators=need)
    if spec.type == "datetime":
        return InstantField(label, validators=need)
    if spec.type == "bool":
        return BooleanField(label)
    if spec.type == "choice":
        # An optional choice can be left empty; without a blank option a browser always sends the first.
        blank = [] if spec.required else [("", "—")]
        return SelectField(label, choices=blank + list(spec.choices), validators=need)
    if spec.type == "track":
        return TextAreaField(label, validators=[Optional(), Length(max=200_000), TrackCheck()])
    raise ValueError(f"unknown field type {spec.type!r}")


class DataRecordForm(FlaskForm):
    """Base of every generated record form: the enterprise's own id for the record."""

    kind: DataKind
    external_id = StringField(_l("Record id (yours)"), validators=[
        InputRequired(), Regexp(EXTERNAL_ID, message=_l("Letters, digits and _ . : - only, at most 64."))])

    def shape_data(self, data: dict) -> dict:
        out = {}
        for name, value in data.items():
            spec = self.kind.field_map.get(name)
            if spec is not None and spec.type == "track":
                value = parse_track(value) if value else None
            if value in ("", None) and name != "external_id":
                continue  # an empty optional field is absent, so records compare by what they say
            out[name] = value
        return out


@cache
def form_for(kind_key: str) -> type:
    kind = KINDS_BY_KEY[kind_key]
    attrs = {"kind": kind}
    for spec in kind.fields:
        attrs[spec.name] = _field(spec)
    if kind.located:
        attrs["lon"] = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=73, max=136)])
        attrs["lat"] = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=3, max=54)])
    return type(f"{kind_key.title().replace('_', '')}RecordForm", (DataRecordForm,), attrs)
