"""The signed-in user's own choice of how to be told: mail and SMS per category, and the mobile number
SMS goes to (kept encrypted; shown masked)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.channels import CATEGORY_LABELS, CHANNEL_LABELS, ChannelChoiceForm, field_name
from models.crypto import mask
from web.common.dataflow import cipher
from web.common.unit_of_work import writes_done
from workflows.notify import CATEGORIES, MAIL, SMS, chosen_channels

bp = Blueprint("notification_channels", __name__)


def _page(form, status=200):
    user = current_user._get_current_object()
    mobile = cipher().decrypt(user.mobile) if user.mobile else ""
    rows = [(c, CATEGORY_LABELS[c], form[field_name(c, MAIL)], form[field_name(c, SMS)]) for c in CATEGORIES]
    return render_template("account_channels.html", form=form, rows=rows, mobile=mask(mobile),
                           channel_labels=CHANNEL_LABELS), status


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def choices():
    user = current_user._get_current_object()
    form = ChannelChoiceForm()
    if form.is_submitted():
        if not form.validate():
            return _page(form, 422)
        choice = {c: [ch for ch in (MAIL, SMS) if form[field_name(c, ch)].data] for c in CATEGORIES}
        wants_sms = any(SMS in v for v in choice.values())
        number = (form.mobile.data or "").strip()
        if number:
            user.mobile = cipher().encrypt(number[-11:])
        if wants_sms and not user.mobile:
            form.mobile.errors = [_("SMS needs a mobile number.")]
            return _page(form, 422)
        user.notify_channels = choice
        writes_done()
        flash(_("Your notification choices are saved."), "success")
        return redirect(url_for(".choices"))
    for c in CATEGORIES:
        chosen = chosen_channels(user.notify_channels, c)
        for ch in (MAIL, SMS):
            form[field_name(c, ch)].data = ch in chosen
    return _page(form)
