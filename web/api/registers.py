"""REST API v1, the enterprise register: list, read, register (POST) and change (PATCH) enterprises.
The page and the API validate with the same form and write through the same register service."""
from flask import jsonify, request
from sqlalchemy import or_, select

from forms.enterprises import KIND_LABELS, REGISTER_ERRORS, EnterpriseForm
from forms.schema import formdata_from_json, type_errors, unknown_fields
from models import ENTERPRISE_KINDS, Enterprise
from web import api
from web.api import area
from web.common.rights import api_scope, check_right
from web.common.unit_of_work import writes_done
from web.common.xlsx import local
from web.extensions import db
from workflows import access
from workflows.engine import clock
from workflows.errors import InvalidInput
from workflows.services import enterprise_register as register

bp = area("register_api", __name__)
FORM_FIELDS = ("name", "uscc", "kind", "county_id", "address", "lon", "lat", "licence_no", "licence_valid_until")


MAX_SEARCH = 64


def _search() -> str:
    """?q=: at most MAX_SEARCH characters (422 beyond, as the document says)."""
    q = request.args.get("q", "")
    if len(q) > MAX_SEARCH:
        raise InvalidInput("q: too long", {"q": [f"At most {MAX_SEARCH} characters."]})
    return q.strip()


def as_dict(e: Enterprise, history: bool = False) -> dict:
    out = {"id": e.id, "name": e.name, "uscc": e.uscc, "kind": e.kind, "kind_label": str(KIND_LABELS.get(e.kind, "")),
           "county": {"id": e.county.id, "code": e.county.code, "name": e.county.name}, "address": e.address,
           "lon": e.lon, "lat": e.lat, "licences": e.licences or [], "active": e.active,
           "created_at": e.created_at.isoformat() if e.created_at else None,
           "updated_at": e.updated_at.isoformat() if e.updated_at else None}
    if history:
        out["history"] = [{"at": h.at.isoformat(), "at_local": local(h.at), "by": h.actor.display_name if h.actor
                           else None, "source": h.source, "changes": h.changes}
                          for h in register.history(db.session, e.id)]
    return out


def _current(e: Enterprise) -> dict:
    licence = next((x for x in (e.licences or []) if x.get("kind") == "gas_business"), {})
    return {"name": e.name, "uscc": e.uscc, "kind": e.kind, "county_id": e.county_id, "address": e.address,
            "lon": e.lon, "lat": e.lat, "licence_no": licence.get("number"),
            "licence_valid_until": licence.get("valid_until")}


def _validated(data: dict, base: dict | None = None) -> dict:
    """The register's values from a JSON object, through the page's form; 422 naming each bad field."""
    if "active" in data and not isinstance(data["active"], bool):
        raise InvalidInput("active must be true or false", {"active": ["Must be a boolean."]})
    fields = {k: v for k, v in data.items() if k != "active"}
    merged = {**(base or {}), **fields}
    md, errors = formdata_from_json(merged)
    form = EnterpriseForm(formdata=md, meta={"csrf": False})
    form.county_id.choices = [(r.id, r.name) for r in register.counties(db.session)]
    errors.update(unknown_fields(form, fields))
    errors.update(type_errors(form, fields))
    if not form.validate() or errors:
        raise InvalidInput("invalid enterprise", {**form.errors, **errors})
    return form.values()


def _worded(exc: InvalidInput) -> InvalidInput:
    return InvalidInput("invalid enterprise", {f: [str(REGISTER_ERRORS.get(c, c))] for f, c in exc.fields.items()})


@bp.get("/enterprises")
@api_scope("read")
def list_enterprises():
    """Enterprises in the caller's area: ?q= (name or credit code), ?county= (id), ?kind=, ?active=true|false|all
    (default true)."""
    stmt = select(Enterprise).where(access.enterprise_scope(api.me())).order_by(Enterprise.id)
    q = _search()
    if q:
        stmt = stmt.where(or_(Enterprise.name.contains(q, autoescape=True),
                              Enterprise.uscc.contains(q.upper(), autoescape=True)))
    county = api.int_arg("county")
    if county:
        stmt = stmt.where(Enterprise.county_id == county)
    kind = request.args.get("kind")
    if kind:
        if kind not in ENTERPRISE_KINDS:
            raise InvalidInput("kind: unknown", {"kind": [f"One of {', '.join(ENTERPRISE_KINDS)}."]})
        stmt = stmt.where(Enterprise.kind == kind)
    active = request.args.get("active", "true")
    if active not in ("true", "false", "all"):
        raise InvalidInput("active: true, false or all", {"active": ["One of true, false, all."]})
    if active != "all":
        stmt = stmt.where(Enterprise.active.is_(active == "true"))
    return api.paged(stmt, as_dict)


@bp.post("/enterprises")
@api_scope("enterprises:write")
def create_enterprise():
    """Register an enterprise: {name, uscc, kind, county_id, address?, lon?, lat?, licence_no?,
    licence_valid_until?}; 201 with it. A bad or already registered credit code is 422 naming uscc."""
    me = api.me()
    check_right(me, "enterprises.manage")
    values = _validated(api.body())
    try:
        enterprise = register.create(db.session, me, values, clock.now(), source="api")
    except InvalidInput as exc:
        raise _worded(exc) from None
    writes_done()
    return jsonify(as_dict(enterprise, history=True)), 201


@bp.get("/enterprises/<int:enterprise_id>")
@api_scope("read")
def get_enterprise(enterprise_id):
    """One enterprise of the caller's area, with the history of its register entry."""
    return jsonify(as_dict(register.get(db.session, api.me(), enterprise_id), history=True))


@bp.patch("/enterprises/<int:enterprise_id>")
@api_scope("enterprises:write")
def patch_enterprise(enterprise_id):
    """Change the fields given (the same as for registering, and active: true|false); the rest stays."""
    me = api.me()
    check_right(me, "enterprises.manage")
    enterprise = register.get(db.session, me, enterprise_id)
    data = api.body()
    values = _validated(data, _current(enterprise))
    given = set(data)
    wanted = {k: v for k, v in values.items() if k in given or (k == "licences" and given & {"licence_no",
                                                                                            "licence_valid_until"})}
    try:
        register.update(db.session, me, enterprise, wanted, clock.now(), source="api")
        if "active" in data:
            register.set_active(db.session, me, enterprise, data["active"], clock.now())
    except InvalidInput as exc:
        raise _worded(exc) from None
    writes_done()
    return jsonify(as_dict(enterprise, history=True))


def certificate_dict(c) -> dict:
    from forms.certificate import KINDS
    from forms.certificate_register import STATUS_LABELS

    return {"id": c.id, "enterprise": {"id": c.enterprise_id, "name": c.enterprise.name}, "kind": c.kind,
            "kind_label": str(dict(KINDS).get(c.kind, "")), "number": c.number, "holder": c.holder,
            "issued_on": c.issued_on.isoformat() if c.issued_on else None, "expires_on": c.expires_on.isoformat(),
            "status": c.status, "status_label": str(STATUS_LABELS.get(c.status, "")), "case_id": c.case_id}


@bp.get("/certificates")
@api_scope("read")
def list_certificates():
    """Certificates of the caller's area, soonest expiry first: ?kind=, ?status= (valid, renewing, expired,
    revoked), ?county= (id), ?q= (number or holder)."""
    from forms.certificate import KINDS
    from forms.certificate_register import STATUS_LABELS
    from workflows.services import certificate_register

    kind, status = request.args.get("kind") or None, request.args.get("status") or None
    if kind is not None and kind not in dict(KINDS):
        raise InvalidInput("kind: unknown", {"kind": [f"One of {', '.join(dict(KINDS))}."]})
    if status is not None and status not in STATUS_LABELS:
        raise InvalidInput("status: unknown", {"status": [f"One of {', '.join(STATUS_LABELS)}."]})
    stmt = certificate_register.query(api.me(), kind, status, api.int_arg("county"), _search() or None)
    return api.paged(stmt, certificate_dict)
