"""REST API v1, cylinder trace (A1.4): GET /cylinders/<code>/trace, from the accepted data records, scoped
like the data: an enterprise its own cylinders, a county authority its county's, the city all. A code
outside the caller's scope is not found, exactly like a code nobody registered."""

from flask import jsonify

from web import api
from web.api import area
from web.common.rights import api_scope
from web.extensions import db
from workflows import access
from workflows.errors import InvalidInput, NotFound
from workflows.services import cylinder_trace
from workflows.services.shanghai_time import today

bp = area("cylinder_api", __name__)
# U+FFFD: the server's decoding of bytes that were not UTF-8 (a lone surrogate's), never part of a real code.
REPLACEMENT = "\ufffd"


def checked_code(code: str) -> str:
    if not cylinder_trace.valid_code(code) or REPLACEMENT in code:
        raise InvalidInput("code: not a cylinder code", {"code": [
            f"1 to {cylinder_trace.MAX_CODE} characters, without NUL or unpaired surrogates."]})
    return code


def _day(value):
    return value.isoformat() if value is not None else None


def as_dict(t: cylinder_trace.Trace) -> dict:
    v = t.validity
    return {"enterprise": {"id": t.enterprise_id, "name": t.enterprise_name}, "code": t.code,
            "external_id": t.external_id, "details": t.details, "location": t.location,
            "inspection": {"state": v.state, "valid_until": _day(v.valid_until),
                           "last_inspected_on": _day(v.last_inspected_on)},
            "events": [{"kind": e.kind, "at": _day(e.at), "station": e.station, "user_ref": e.user_ref,
                        "user_name": e.user_name, "address": e.address, "result": e.result,
                        "inspection_unit": e.unit, "next_due_on": _day(e.next_due_on), "staff": e.staff,
                        "order_no": e.order_no} for e in t.events],
            "users": t.users, "places": t.places}


# path: a code may hold a "/" (SX/LPG/0001), which the default converter stops at; slashes kept as sent, so
# "a//b" is refused by the code check (422) rather than redirected to another code.
@bp.get("/cylinders/<path:code>/trace", merge_slashes=False)
@api_scope("read")
def cylinder_trace_of(code):
    """A cylinder's trace: its movements, deliveries and inspections (newest first), the users it went to,
    the places it was, and whether its inspection is valid; one entry per enterprise in the caller's scope
    that registered the code (?enterprise= narrows to one)."""
    code = checked_code(code)
    traces = cylinder_trace.find(db.session, access.enterprise_scope(api.me()), code, today(),
                                 api.int_arg("enterprise"))
    if not traces:
        raise NotFound("no such cylinder")
    return jsonify({"code": code, "cylinders": [as_dict(t) for t in traces]})
