from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from .base import FlaskForm


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    # Honoured for enterprise accounts only: authority sessions always end with the browser.
    remember = BooleanField(_l("Keep me signed in on this device (enterprise accounts only)"))


class CodeForm(FlaskForm):
    code = StringField(_l("Authenticator code or recovery code"),
                       validators=[DataRequired(), Length(max=32)], render_kw={"autocomplete": "one-time-code"})


class EnrolForm(FlaskForm):
    code = StringField(_l("Code shown by the authenticator app"),
                       validators=[DataRequired(), Length(max=16)], render_kw={"autocomplete": "one-time-code"})


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class ResetPasswordForm(FlaskForm):
    reset_totp = BooleanField(_l("Also reset the second factor (the user enrols an authenticator again)"))


class SignOutOthersForm(FlaskForm):
    # The confirmation is a box to tick: the pages carry no script (the CSP allows none inline).
    confirm = BooleanField(_l("Yes, sign out every other session of my account"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])
