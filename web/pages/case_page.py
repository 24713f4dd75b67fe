"""The case page, as every view that shows it builds it: the case itself (web/pages/cases.py) and a control
action re-shown with its errors (web/pages/case_control.py)."""
from flask import g, render_template
from sqlalchemy import select

from models import CASE_ACTIVE, CASE_OPEN_STATUSES, Region
from web.common import labels, taskflow
from web.extensions import db
from workflows import access
from workflows.permissions import has_right


def detail_page(case, user, comment_text: str = "", control_form: dict | None = None):
    g.presenting_process = case.process_key  # the case's fields and values by its own forms' labels
    labels.present_periods_of(case)
    # The party of a case kept internal sees no diagram of its steps and no links to other cases.
    party_view = taskflow.party_keys_of(case, user) is not None
    parent, children = (None, []) if party_view else taskflow.linked_cases(case, user)
    info = taskflow.case_dict(case, user, links=(parent, children))
    linked = [(role, c, taskflow.active_elements(c)) for role, c in
              ([("parent", parent)] if parent else []) + [("child", c) for c in children]]
    return render_template("case.html", case=case, info=info, active=taskflow.active_elements(case),
                           party_view=party_view,
                           can_work=lambda t: access.can_work_task(user, t), parent=parent,
                           children=children, linked=linked, comment_text=comment_text,
                           control=case_actions(case, user), control_form=control_form or {})


def case_actions(case, user) -> dict:
    """What the case page offers this user: the actions his rights and the case's state allow."""
    if access.is_enterprise_user(user) or case.status not in CASE_OPEN_STATUSES:
        return {}
    offered = {}
    if has_right(user, "cases.control"):
        offered["suspend" if case.status == CASE_ACTIVE else "resume"] = True
        offered["cancel"] = True
    if has_right(user, "cases.transfer"):
        offered["transfer"] = db.session.execute(
            select(Region.id, Region.name).where(Region.level == "county", Region.id != case.county_id)
            .order_by(Region.code)).all()
    return offered
