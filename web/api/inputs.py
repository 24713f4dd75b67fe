"""What an API request brings, read one way by every area: its JSON body, the page it asks for,
integer query arguments; and a page of results as the API answers it."""
from flask import abort, jsonify, request
from sqlalchemy import func, select

from web.common.params import range_message, whole_number
from web.extensions import db
from workflows.errors import InvalidInput

MAX_PER_PAGE = 200


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        if request.data:
            abort(400, "malformed JSON body")
        data = {}
    if not isinstance(data, dict):
        raise InvalidInput("body must be a JSON object", {"body": ["Must be a JSON object."]})
    return data


def page_args() -> tuple[int, int]:
    """page and per_page: whole numbers from 1 (a per_page above MAX_PER_PAGE gets MAX_PER_PAGE)."""
    page, per_page = int_arg("page", 1), int_arg("per_page", 50)
    return page, min(per_page, MAX_PER_PAGE)


def int_arg(name: str, default: int | None = None) -> int | None:
    """A whole-number query parameter (an id, a page, a version): from 1 to 2**31 - 1, else 422."""
    value = request.args.get(name)
    if value in (None, ""):
        return default
    number = whole_number(value)
    if number is None:
        raise InvalidInput(f"{name}: {range_message()}", {name: [range_message()]})
    return number


def paged(stmt, to_dict):
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify({"items": [to_dict(i) for i in items], "total": total, "page": page})
