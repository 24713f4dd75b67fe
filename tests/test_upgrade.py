"""Upgrades are backward compatible: a database of the previous release (schema 0005), with cases in
flight, is upgraded to this release's head and its cases go on to completion; API v1 keeps every
path, method and response field the previous release documented."""
import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from casemix import api_shapes, app_on, finish, new_database
from conftest import Api
from sqlalchemy import JSON, MetaData, Table, create_engine, text

from web.database import alembic_config, upgrade

RELEASE = Path(__file__).resolve().parent / "fixtures" / "release-0005"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def decode(value, kind: str, column, dialect: str):
    if value is None:
        return None
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        return moment.astimezone(UTC).replace(tzinfo=None) if dialect == "sqlite" else moment
    if kind == "date":
        return datetime.fromisoformat(value).date()
    if kind == "binary":
        return base64.b64decode(value)
    if kind == "json" and not isinstance(column.type, JSON):
        return json.dumps(value)
    return value


def load_release(url: str) -> dict:
    """The release's schema built by its own migrations (0001–0005), then its rows as they were."""
    fixture = json.loads((RELEASE / "rows.json").read_text())
    upgrade(url, fixture["schema_revision"])
    engine = create_engine(url)
    with engine.begin() as conn:
        meta = MetaData()
        for entry in fixture["tables"]:
            if not entry["rows"]:
                continue
            table = Table(entry["name"], meta, autoload_with=conn)
            kinds = entry["columns"]
            conn.execute(table.insert(), [
                {c: decode(v, kinds[c], table.c[c], engine.dialect.name) for c, v in zip(kinds, row, strict=True)}
                for row in entry["rows"]])
            if engine.dialect.name == "postgresql" and "id" in kinds:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{entry['name']}', 'id'), "
                                  f"(SELECT max(id) FROM {entry['name']}))"))
    engine.dispose()
    return fixture


def test_a_release_0005_database_upgrades_to_head_and_its_cases_go_on(tmp_path, monkeypatch):
    from alembic.script import ScriptDirectory

    keys = json.loads((RELEASE / "keys.json").read_text())
    monkeypatch.setenv("DATA_KEYS", keys["DATA_KEYS"])
    monkeypatch.setenv("DATA_LOOKUP_KEY", keys["DATA_LOOKUP_KEY"])
    monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path / "instance"))
    cases = json.loads((RELEASE / "cases.json").read_text())
    with new_database(tmp_path) as url:
        fixture = load_release(url)
        attachments = next(t for t in fixture["tables"] if t["name"] == "attachments")
        upgrade(url)
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        engine.dispose()

        app = app_on(url)
        try:
            users = {}

            def api(name):
                return users.setdefault(name, Api(app, name))

            staff = api("kq_bottled_staff")
            columns = list(attachments["columns"])
            for row in attachments["rows"]:
                got = staff.get(f"/attachments/{row[columns.index('id')]}")
                assert got.status_code == 200
                assert hashlib.sha256(got.data).hexdigest() == row[columns.index("sha256")]

            # Every field the previous release answered with, the same calls still answer with.
            before = json.loads((RELEASE / "responses.json").read_text())
            now = api_shapes(api, cases)
            assert {label: sorted(set(paths) - set(now[label])) for label, paths in before.items()} \
                == {label: [] for label in before}

            done = api("keqiao_inspector").get(f"/cases/{cases['completed']}").json
            assert done["status"] == "completed" and done["history"][-1]["event"] == "case_completed"
            live = {name: i for name, i in cases.items() if name != "completed"}
            assert all(api("keqiao_inspector").get(f"/cases/{i}").json["status"] == "active" for i in live.values())
            for name, case_id in live.items():
                case = finish(api, case_id)
                ends = [h["detail"].get("end") for h in case["history"] if h["event"] == "case_completed"]
                assert ends == ["End_closed"], (name, case["history"])
                # The case kept the model version it started on.
                assert case["version"] == 1, (name, case["version"])
        finally:
            with app.app_context():
                from web.extensions import db

                db.session.remove()
                db.engine.dispose()


def _resolve(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def fields(spec: dict, schema: dict, prefix: str = "", seen: frozenset = frozenset()) -> set[str]:
    """Every property path a response schema documents (through $ref, items, allOf/anyOf/oneOf)."""
    if not isinstance(schema, dict):
        return set()
    ref = schema.get("$ref")
    if ref in seen:
        return set()
    seen = seen | {ref} if ref else seen
    schema = _resolve(spec, schema)
    out = set()
    for name, sub in schema.get("properties", {}).items():
        out.add(prefix + name)
        out |= fields(spec, sub, f"{prefix}{name}.", seen)
    if "items" in schema:
        out |= fields(spec, schema["items"], f"{prefix}[].", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            out |= fields(spec, sub, prefix, seen)
    return out


def response_fields(spec: dict, response: dict) -> set[str]:
    response = _resolve(spec, response)
    return set().union(*(fields(spec, body.get("schema", {})) | {f"<{media}>"}
                         for media, body in response.get("content", {}).items()))


def test_api_v1_keeps_every_path_method_and_response_field_of_release_0005(app, api):
    old = json.loads((RELEASE / "openapi.json").read_text())
    new = api("kq_bottled_admin").get("/openapi.json").json
    missing = []
    for path, operations in old["paths"].items():
        if path not in new["paths"]:
            missing.append(path)
            continue
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            current = new["paths"][path].get(method)
            if current is None:
                missing.append(f"{method.upper()} {path}")
                continue
            for status, response in operation.get("responses", {}).items():
                if status not in current.get("responses", {}):
                    missing.append(f"{method.upper()} {path} → {status}")
                    continue
                lost = response_fields(old, response) - response_fields(new, current["responses"][status])
                missing += [f"{method.upper()} {path} → {status}: {f}" for f in sorted(lost)]
    assert missing == []
    # The fixture is the real document, not an empty one.
    assert len(old["paths"]) >= 30
    assert response_fields(old, old["paths"]["/api/v1/cases/{case_id}"]["get"]["responses"]["404"]) >= {
        "error.code", "error.message", "error.fields"}
