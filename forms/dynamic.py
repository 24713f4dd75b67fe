"""Forms whose fields come from the case: a checklist's items, a data batch's rows.

The subclass is built once per item list and cached, so a case always gets the same class and
the JSON Schema of a task lists exactly the fields its page shows.
"""
import hashlib
import json
from functools import lru_cache


def dynamic_form(base: type, items: list, build) -> type:
    """``base`` plus the fields ``build(items)`` returns (a dict of name → unbound field)."""
    return _build(base, json.dumps(items or [], sort_keys=True, ensure_ascii=False), build)


@lru_cache(maxsize=512)
def _build(base: type, items_json: str, build) -> type:
    digest = hashlib.sha1(items_json.encode()).hexdigest()[:10]  # noqa: S324 - a class name, not security
    return type(f"{base.__name__}_{digest}", (base,), build(json.loads(items_json)))


def pair_rows(data: dict, choice: str, note: str, ref: str, as_choice: str, as_note: str) -> tuple[list, dict]:
    """The generated field pairs (``item_3`` + ``note_3``) back as rows ``[{ref: 3, as_choice: ..., as_note: ...}]``
    in order, and the form's other fields as they were."""
    rows, rest = [], {}
    for key, value in data.items():
        if key.startswith(choice):
            n = int(key[len(choice):])
            rows.append({ref: n, as_choice: value, as_note: data.get(f"{note}{n}") or ""})
        elif not key.startswith(note):
            rest[key] = value
    return sorted(rows, key=lambda r: r[ref]), rest
