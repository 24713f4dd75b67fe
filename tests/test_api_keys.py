"""API keys: scopes enforced (403 naming the scope), expiry, revocation, last use (time and address)
shown, the secret shown once and only its hash stored; keys made before scopes existed keep working."""
import hashlib
import re
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

from conftest import csrf_of, enterprise_id, future, statements
from sqlalchemy import select, text

from models import ApiToken, User


def make_key(app, username, scopes=None, expires_at=None) -> str:
    from web.common.security import new_token
    from web.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        raw = new_token(db.session, user, "test key", expires_at, scopes=scopes)
        db.session.commit()
    return raw


def call(app, raw, method, path, json=None, address="127.0.0.1"):
    client = app.test_client()
    return client.open("/api/v1" + path, method=method, json=json, headers={"Authorization": f"Bearer {raw}"},
                       environ_base={"REMOTE_ADDR": address})


def rectification(app):
    return {"process": "rectification", "data": {"enterprise_id": enterprise_id(app), "hazard_class": "II",
                                                 "hazard_description": "软管老化", "deadline_at": future()}}


def test_a_read_key_reads_and_every_write_names_the_scope_it_lacks(app):
    raw = make_key(app, "keqiao_inspector", scopes=["read"])
    assert call(app, raw, "GET", "/cases").status_code == 200
    assert call(app, raw, "GET", "/tasks").status_code == 200
    resp = call(app, raw, "POST", "/cases", rectification(app))
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "missing_scope" and resp.json["error"]["fields"] == {"scope": ["cases:write"]}
    assert "cases:write" in resp.json["error"]["message"]
    resp = call(app, raw, "POST", "/tasks/1/claim")
    assert resp.status_code == 403 and resp.json["error"]["fields"]["scope"] == ["tasks:write"]
    resp = call(app, raw, "POST", "/readings", {"readings": []})
    assert resp.status_code == 403 and resp.json["error"]["fields"]["scope"] == ["readings:write"]

    writer = make_key(app, "keqiao_inspector", scopes=["cases:write"])
    created = call(app, writer, "POST", "/cases", rectification(app))
    assert created.status_code == 201
    # cases:write alone does not read.
    resp = call(app, writer, "GET", f"/cases/{created.json['id']}")
    assert resp.status_code == 403 and resp.json["error"]["fields"]["scope"] == ["read"]


def test_a_key_never_does_more_than_its_users_rights(app, browser):
    from web.common.security import TokenError, new_token
    from web.extensions import db

    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "kq_bottled_staff"))
        try:
            new_token(db.session, staff, "too much", scopes=["models:write"])
        except TokenError as exc:
            assert exc.field == "scopes" and "models:write" in exc.message
        else:
            raise AssertionError("a key beyond the user's rights was made")
        db.session.rollback()
    # The admin key with models:write: when the admin's right goes, the key's scope is worth nothing.
    raw = make_key(app, "admin")
    with app.app_context():
        from models import UserRight

        admin = db.session.scalar(select(User).where(User.username == "admin"))
        db.session.add(UserRight(user_id=admin.id, right="models.manage", granted=False))
        db.session.commit()
    resp = call(app, raw, "POST", "/processes", None)
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden"


def test_expired_and_revoked_keys_are_refused(app, browser):
    from web.extensions import db

    raw = make_key(app, "kq_bottled_staff", expires_at=datetime.now(UTC) + timedelta(days=1))
    assert call(app, raw, "GET", "/cases").status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE api_tokens SET expires_at = :t"),
                           {"t": datetime.now(UTC) - timedelta(seconds=1)})
        db.session.commit()
    resp = call(app, raw, "GET", "/cases")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"

    other = make_key(app, "kq_bottled_staff")
    assert call(app, other, "GET", "/cases").status_code == 200
    staff = browser("kq_bottled_staff")
    page = staff.client.get("/api-keys")
    key_id = re.search(rb'<tr data-key="(\d+)" data-prefix="' + other[:10].encode(), page.data).group(1).decode()
    resp = staff.client.post(f"/api-keys/{key_id}/revoke", data={"csrf_token": csrf_of(page.data)})
    assert resp.status_code == 303
    assert call(app, other, "GET", "/cases").status_code == 401


def test_a_key_its_user_and_his_rights_come_in_one_read_that_leaves_the_credentials_alone(app):
    """Every API request reads its key with the user and his rights in one statement, of the columns a
    request uses: not the password hash, the second factor or the mobile number, and nothing read again
    later in the request. Deactivating the user still refuses the key."""
    from web.extensions import db

    raw = make_key(app, "keqiao_inspector")
    with statements(app) as seen:
        resp = call(app, raw, "POST", "/cases", rectification(app))
    assert resp.status_code == 201, resp.json
    reads = [s for s in seen if "FROM api_tokens" in s]
    assert len(reads) == 1 and "users" in reads[0] and "user_rights" in reads[0], reads
    columns = reads[0].split(" FROM ")[0]
    for credential in ("password_hash", "totp_secret", "mobile", "token_hash"):
        assert credential not in columns, columns
    assert [s for s in seen if "user_rights" in s] == reads  # the rights the engine checks came with it
    assert [s for s in seen if re.search(r"FROM users\b.*WHERE users\.id = ", s)] == []
    with app.app_context():
        db.session.execute(text("UPDATE users SET active = false WHERE username = 'keqiao_inspector'"))
        db.session.commit()
    resp = call(app, raw, "GET", "/cases")
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"


def test_a_key_is_read_as_one_row_of_the_columns_a_request_reads_however_many_rights_its_user_has(app):
    """The key's read is one row whatever the number of the user's grants and revocations (a joined
    collection made one per right, each repeating the key and the user), of the columns a request reads:
    a revoked key and a deactivated user are refused by the statement, not by columns read to decide it.
    The rights it reads are the ones checked: a revoked right refuses the request that needs it."""
    from models import UserRight
    from web.extensions import db

    raw = make_key(app, "keqiao_inspector")
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "keqiao_inspector"))
        for right, granted in (("cases.start", False), ("cases.transfer", True), ("data.personal", True)):
            db.session.add(UserRight(user_id=inspector.id, right=right, granted=granted))
        db.session.commit()
        engine = db.engine
    with statements(app, parameters=True) as seen:
        resp = call(app, raw, "POST", "/cases", rectification(app))
    assert resp.status_code == 403 and resp.json["error"]["code"] == "forbidden", resp.json
    reads = [(text, given) for text, given in seen if "FROM api_tokens" in text]
    assert len(reads) == 1 and [text for text, _given in seen if "user_rights" in text] == [reads[0][0]]
    with engine.connect() as connection:  # the same statement again, to see what it returns
        result = connection.exec_driver_sql(*reads[0])
        columns, rows = list(result.keys()), result.fetchall()
    assert len(rows) == 1, rows
    assert "revoked_at" not in columns and "active" not in columns and len(columns) == 13, columns
    assert "reference_token" in columns  # the reference revision rides along (workflows/reference_cache.py)


def test_the_keys_user_is_the_sessions_user_with_his_other_columns_loading_when_read(app):
    """The user a key names is an entity of the request's session like one a query loaded: ``get`` finds
    it without a statement, a column not read with the key loads when read, his rights come with a
    writing request's key and load when checked after a read's."""
    from models import UserRight
    from web.common.security import token_for
    from web.extensions import db

    raw = make_key(app, "keqiao_inspector")
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "keqiao_inspector"))
        db.session.add(UserRight(user_id=inspector.id, right="cases.transfer", granted=True))
        expected = (inspector.id, inspector.email, inspector.password_hash, inspector.created_at)
        db.session.commit()
    for rights in (True, False):
        with app.app_context():
            with statements(app) as seen:
                bearer = token_for(db.session, raw, "127.0.0.1", rights=rights)
                user = bearer.user
                assert db.session.get(User, expected[0]) is user and bearer.id and "read" in bearer.scope_list
                assert (user.username, user.role, user.active) == ("keqiao_inspector", "inspector", True)
            assert len([s for s in seen if s.startswith("SELECT")]) == 1, seen  # (and the last use noted)
            with statements(app) as seen:
                assert {(o.right, o.granted) for o in user.right_overrides} == {("cases.transfer", True)}
            assert len(seen) == (0 if rights else 1), seen
            with statements(app) as seen:
                assert (user.id, user.email, user.password_hash, user.created_at) == expected
                assert user.enterprise is None and user.county.id == user.county_id
            assert [s for s in seen if re.search(r"FROM users\b.*WHERE users\.id = ", s)], seen
            assert user not in db.session.dirty and not db.session.new
            db.session.rollback()


def test_only_the_owner_or_the_city_admin_revokes_a_key(app, browser):
    raw = make_key(app, "kq_bottled_staff")
    from web.extensions import db

    with app.app_context():
        key_id = db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == raw[:10]))
    for outsider in ("kq_bottled_admin", "keqiao_supervisor"):
        b = browser(outsider)
        token = csrf_of(b.client.get("/api-keys").data)
        assert b.client.post(f"/api-keys/{key_id}/revoke", data={"csrf_token": token}).status_code == 404
    assert call(app, raw, "GET", "/cases").status_code == 200
    admin = browser("admin")
    listing = admin.client.get("/admin/users/api-keys")
    assert listing.status_code == 200 and raw[:10].encode() in listing.data
    resp = admin.client.post(f"/api-keys/{key_id}/revoke", data={"csrf_token": csrf_of(listing.data),
                                                                 "next": "/admin/users/api-keys"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/users/api-keys")
    assert call(app, raw, "GET", "/cases").status_code == 401
    assert browser("keqiao_supervisor").client.get("/admin/users/api-keys").status_code == 403


def test_last_use_time_and_address_are_kept_and_shown(app, browser):
    from web.extensions import db

    raw = make_key(app, "keqiao_supervisor")
    sup = browser("keqiao_supervisor")
    row = re.search(rb'<tr data-key="\d+" data-prefix="' + raw[:10].encode() + rb'">.*?</tr>',
                    sup.client.get("/api-keys").data, re.S).group(0)
    assert b'class="last-used">' in row and b"203.0.113.7" not in row
    before = datetime.now(UTC)
    assert call(app, raw, "GET", "/tasks", address="203.0.113.7").status_code == 200
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == raw[:10]))
        assert token.last_used_address == "203.0.113.7" and token.last_used_at >= before - timedelta(seconds=1)
    row = re.search(rb'<tr data-key="\d+" data-prefix="' + raw[:10].encode() + rb'">.*?</tr>',
                    sup.client.get("/api-keys").data, re.S).group(0)
    assert b"203.0.113.7" in row
    # A use from another address within the minute is still noted.
    assert call(app, raw, "GET", "/tasks", address="198.51.100.2").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_address).where(ApiToken.prefix == raw[:10])) \
            == "198.51.100.2"
    admin_view = browser("admin").client.get("/admin/users/api-keys").data
    assert b"198.51.100.2" in admin_view


def test_the_create_page_shows_the_secret_once_and_stores_its_hash(app, browser):
    from web.extensions import db

    staff = browser("kq_bottled_staff")
    page = staff.client.get("/api-keys")
    html = page.data.decode()
    offered = set(re.findall(r'name="scopes"[^>]*value="([a-z:]+)"', html)) | \
        set(re.findall(r'value="([a-z:]+)"[^>]*name="scopes"', html))
    assert {"read", "data:submit", "tasks:write"} <= offered
    assert "models:write" not in offered and "thresholds:write" not in offered
    resp = staff.client.post("/api-keys", data={"name": "ERP docking", "scopes": ["read", "data:submit"], "days": "30",
                                                "csrf_token": csrf_of(page.data)})
    assert resp.status_code == 201
    secret = re.search(r'<code id="secret">(gf_[^<]+)</code>', resp.data.decode()).group(1)
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.name == "ERP docking"))
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (token.token_hash, token.prefix) and token.prefix == secret[:10]
        assert token.scope_list == ["read", "data:submit"]
        assert timedelta(days=29) < token.expires_at - datetime.now(UTC) <= timedelta(days=30)
        stored = db.session.execute(text("SELECT * FROM api_tokens WHERE id = :i"), {"i": token.id}).one()
        assert all(secret not in str(v) for v in stored)
    again = staff.client.get("/api-keys").data.decode()
    assert secret not in again and secret[:10] in again
    assert call(app, secret, "GET", "/data/station").status_code == 200
    records = {"records": [{"external_id": "ST-9", "name": "新站", "station_type": "supply"}]}
    assert call(app, secret, "POST", "/data/station", records).status_code == 202
    assert call(app, secret, "POST", "/tasks/1/claim").json["error"]["fields"]["scope"] == ["tasks:write"]


def test_the_create_form_refuses_bad_input_and_scopes_beyond_rights(app, browser):
    from web.extensions import db

    staff = browser("kq_bottled_staff")
    token = csrf_of(staff.client.get("/api-keys").data)
    cases = {
        "days": {"name": "k", "scopes": ["read"], "days": "400"},
        "name": {"name": "", "scopes": ["read"], "days": "30"},
        "scopes": {"name": "k", "scopes": ["models:write"], "days": "30"},
    }
    for field, data in cases.items():
        resp = staff.client.post("/api-keys", data={**data, "csrf_token": token})
        assert resp.status_code == 422, field
        html = resp.data.decode()
        assert 'id="field-' + field + '"' in html
        assert re.search(r'id="field-' + field + r'".*?class="errors"', html, re.S), field
        assert 'id="secret"' not in html
    missing = staff.client.post("/api-keys", data={"name": "k", "days": "30", "csrf_token": token})
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id)) is None


def test_keys_made_before_scopes_get_their_roles_scopes_in_the_migration(tmp_path):
    """An installation at 0005 with keys of every role: after the upgrade they work as before, and expire."""
    from conftest import PG_URL
    from sqlalchemy import create_engine

    from web.database import scratch_database, upgrade

    scratch = (scratch_database(PG_URL, "gasflow_mig", durable=False) if PG_URL
               else nullcontext(f"sqlite:///{tmp_path / 'old.db'}"))
    with scratch as url:
        upgrade(url, "0005")
        engine = create_engine(url)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for i, role in enumerate(("city_admin", "county_supervisor", "inspector", "enterprise_admin",
                                      "enterprise_staff")):
                conn.execute(text("INSERT INTO users (id, username, display_name, password_hash, role, active, email, "
                                  "created_at) VALUES (:i, :u, :u, 'x', :r, :a, '', :t)"),
                             {"i": i + 1, "u": f"u{i}", "r": role, "a": True, "t": now})
                conn.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
                                  "VALUES (:i, 'old', :h, 'gf_old', :t)"), {"i": i + 1, "h": f"{i:064d}", "t": now})
        upgrade(url)
        with engine.connect() as conn:
            rows = {r.role: (r.scopes.split(), r.expires_at) for r in conn.execute(text(
                "SELECT users.role, api_tokens.scopes, api_tokens.expires_at FROM api_tokens "
                "JOIN users ON users.id = api_tokens.user_id"))}
        engine.dispose()
    from workflows.permissions import role_scopes

    # Scopes added after that migration (enterprises:write) are not handed to keys made before them.
    later = {"enterprises:write"}
    for role, (scopes, expires_at) in rows.items():
        assert scopes == [s for s in role_scopes(role) if s not in later], role
        assert expires_at is not None
    assert "models:write" in rows["city_admin"][0] and "data:submit" in rows["enterprise_staff"][0]
    assert "models:write" not in rows["inspector"][0]


def test_cli_token_create_takes_scopes(app, monkeypatch, database_url):
    from click.testing import CliRunner

    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["token", "create", "kq_bottled_admin", "--scope", "read",
                                       "--scope", "data:submit", "--days", "7"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert call(app, raw, "GET", "/data/station").status_code == 200
    assert call(app, raw, "POST", "/cases", rectification(app)).json["error"]["fields"]["scope"] == ["cases:write"]
    bad = CliRunner().invoke(main, ["token", "create", "kq_bottled_admin", "--scope", "models:write"])
    assert bad.exit_code != 0 and "models:write" in bad.output


def test_the_openapi_document_names_each_operations_scope(app, api):
    doc = api("admin").get("/openapi.json").json
    assert doc["paths"]["/api/v1/cases"]["post"]["security"] == [{"bearer": ["cases:write"]}]
    assert doc["paths"]["/api/v1/cases"]["get"]["security"] == [{"bearer": ["read"]}]
    assert {"bearer": ["tasks:write"]} in doc["paths"]["/api/v1/attachments"]["post"]["security"]
    assert doc["paths"]["/api/v1/readings"]["post"]["security"] == [{"bearer": ["readings:write"]}]


def test_a_read_reads_its_key_and_user_without_his_rights_which_a_right_checked_reads_then(app, api):
    """A read checks no right as a rule: its key and user come without the rights' column. A
    read that does check one (personal data shown unmasked) reads them then, in its own session: a grant
    or a revocation holds from the next request on (tests/test_rights.py)."""
    raw = make_key(app, "kq_bottled_staff")
    with statements(app) as seen:
        resp = call(app, raw, "GET", "/cases")
    assert resp.status_code == 200, resp.json
    reads = [s for s in seen if "FROM api_tokens" in s]
    assert len(reads) == 1 and "users" in reads[0], reads
    assert [s for s in seen if "user_rights" in s] == [], seen
    record = {"external_id": "U-9", "name": "王小明", "id_number": "11010519491231002X", "user_type": "residential",
              "phone": "13912345678", "address": "柯桥区华舍街道"}
    assert api("kq_bottled_admin").post("/data/gas_user", {"records": [record]}).status_code == 202
    with statements(app) as seen:
        resp = call(app, raw, "GET", "/data/gas_user?status=pending")  # masked unless the reader holds data.personal
    assert resp.status_code == 200, resp.json
    assert resp.json["items"][0]["data"]["id_number"] != record["id_number"]
    assert len([s for s in seen if "FROM user_rights" in s]) == 1, seen
