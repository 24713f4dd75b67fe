"""REST API v1, the supervision measures (issue 15 item 4): the month's indicators and the safety scores with
their rankings and credit grades, over the caller's area."""
from datetime import date, datetime

from flask import jsonify, request

from forms.data_kinds import PERIODIC
from web import api
from web.api import area
from web.common.rights import api_scope
from web.extensions import db
from workflows.engine import clock
from workflows.errors import InvalidInput
from workflows.services import safety_scores, supervision_measures
from workflows.services.shanghai_time import today

bp = area("measures_api", __name__)


def filters() -> tuple[int | None, int | None]:
    return api.int_arg("county"), api.int_arg("enterprise")


def parse_day(text: str | None) -> date:
    if text is None:
        return today()
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("day: write it as YYYY-MM-DD", {"day": ["Write the day as YYYY-MM-DD."]}) from None


@bp.get("/indicators")
@api_scope("read")
def indicators():
    """The month's supervision measures (?month=YYYY-MM, default this month; ?county=, ?enterprise= ids) per
    enterprise, per county and for the caller's area: household inspection coverage with the users never
    inspected in the cycle, patrol completion, on-time rectification, data timeliness, warning disposal hours."""
    _not_blank("month")
    month = supervision_measures.parse_month(request.args.get("month"), today())
    county, enterprise = filters()
    return jsonify(supervision_measures.indicators(db.session, api.me(), PERIODIC, month, clock.now(),
                                                   county, enterprise))


@bp.get("/scores")
@api_scope("read")
def scores():
    """Daily safety scores (?day=YYYY-MM-DD, default today, computed now; earlier days as the daily job stored
    them) with every rule's points, ranks in the county and the city; and the credit grades of ?quarter=YYYY-Qn
    (default the last quarter; an enterprise sees published grades only)."""
    day = parse_day(request.args.get("day"))
    county, enterprise = filters()
    me = api.me()
    out = safety_scores.scores(db.session, me, PERIODIC, day, today(), clock.now(), county, enterprise)
    _not_blank("quarter")
    out.update(safety_scores.grades(db.session, me, request.args.get("quarter"), today(), county, enterprise))
    return jsonify(out)


def _not_blank(name: str) -> None:
    """A parameter given empty is not the default: the document's pattern refuses it, and so does the API."""
    if request.args.get(name) == "":
        from workflows.errors import InvalidInput

        raise InvalidInput(f"{name}: empty", {name: ["Must not be empty; leave it out for the default."]})
