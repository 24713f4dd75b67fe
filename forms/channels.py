"""Forms of the notification channels: a user's own choices and mobile number; the city admin's group
robots and the outbox's "send again"."""
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from workflows.notify import CATEGORIES, MAIL, SMS

from .base import FlaskForm

CATEGORY_LABELS = {"task": _l("New and assigned tasks"), "overdue": _l("Overdue tasks"),
                   "overdue_penalty": _l("Overdue penalty cases"), "warning_l1": _l("Level-1 warnings"),
                   "message": _l("Other platform messages")}
CHANNEL_LABELS = {MAIL: _l("E-mail"), SMS: _l("SMS"), "wecom": _l("WeCom group robot"),
                  "dingtalk": _l("DingTalk group robot")}
# A mainland mobile number (11 digits, 1[3-9]…), optionally with +86.
MOBILE = r"^(\+?86)?1[3-9]\d{9}$"


def field_name(category: str, channel: str) -> str:
    return f"{category}__{channel}"


class ChannelChoiceForm(FlaskForm):
    mobile = StringField(_l("Mobile number (for SMS)"), validators=[
        Optional(), Length(max=16), Regexp(MOBILE, message=_l("A mainland mobile number of 11 digits."))])


def _choice_label(category: str, channel: str) -> LazyString:
    return LazyString(lambda: f"{CATEGORY_LABELS[category]} · {CHANNEL_LABELS[channel]}")


for _category in CATEGORIES:
    for _channel in (MAIL, SMS):
        setattr(ChannelChoiceForm, field_name(_category, _channel), BooleanField(_choice_label(_category, _channel)))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RobotForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=64)])
    channel = SelectField(_l("Channel"), choices=[("wecom", CHANNEL_LABELS["wecom"]),
                                                  ("dingtalk", CHANNEL_LABELS["dingtalk"])],
                          validators=[DataRequired()])
    region_id = SelectField(_l("Area"), coerce=int, validators=[Optional()])
    url = StringField(_l("Webhook address"), validators=[DataRequired(), Length(max=1000)])
    secret = PasswordField(_l("Signing secret (DingTalk 加签, optional)"), validators=[Optional(), Length(max=200)])
    categories = MultiCheckboxField(_l("What it is told"),
                                    choices=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
                                    validators=[DataRequired(message=_l("Choose at least one."))])

    def __init__(self, *args, allowed_hosts: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_hosts = allowed_hosts

    def validate_url(self, field):
        parts = urlsplit(field.data or "")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValidationError(_l("An http(s) webhook address is needed."))
        if parts.hostname not in self.allowed_hosts:
            raise ValidationError(_l("Group robots may only post to %(hosts)s.", hosts="、".join(self.allowed_hosts)))


class RobotSwitchForm(FlaskForm):
    active = BooleanField()
