"""Key rotation for personal data at rest (O3) with `gasflow data rekey`: a new key goes first, both
read during the rotation, the command re-encrypts, and with the old key dropped everything still reads
(reported personal data and the second-factor keys alike)."""
import json

from click.testing import CliRunner
from sqlalchemy import select, text

ID_A = "11010519491231002X"


def use_keys(app, keys):
    app.config["DATA_KEYS"] = keys
    app.extensions.pop("gasflow.cipher", None)  # the cipher is built from the configuration once


def id_number_seen(api) -> str:
    items = api("keqiao_supervisor").get("/data/gas_user?status=all").json["items"]
    assert len(items) == 1
    return items[0]["data"]["id_number"]


def stored_values(app) -> list[str]:
    from models import User
    from web.extensions import db

    with app.app_context():
        rows = [json.loads(r) if isinstance(r, str) else r
                for r in db.session.execute(text("SELECT data FROM data_records")).scalars()]
        secrets = list(db.session.scalars(select(User.totp_secret).where(User.totp_secret.is_not(None))))
    return [r["id_number"] for r in rows] + secrets


def test_rekey_rotates_to_the_new_key_and_the_old_one_can_go(app, api, browser, database_url, monkeypatch):
    from models.crypto import FieldCipher
    from web.cli import main

    answer = api("kq_bottled_admin").post("/data/gas_user", {"records": [
        {"external_id": "U1", "name": "王小明", "id_number": ID_A, "user_type": "residential"}]})
    assert answer.status_code == 202 and answer.json["rejected"] == [], answer.json
    old_key, lookup = app.config["DATA_KEYS"][0], app.config["DATA_LOOKUP_KEY"]
    new_key = FieldCipher.new_key()
    before = stored_values(app)
    assert len(before) == 1 + 5  # one personal value, five demo authority accounts' second-factor keys

    # During the rotation: the new key first, the old one still there; everything reads.
    use_keys(app, [new_key, old_key])
    assert id_number_seen(api) == ID_A
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_KEYS", f"{new_key},{old_key}")
    monkeypatch.setenv("DATA_LOOKUP_KEY", lookup)
    out = CliRunner().invoke(main, ["data", "rekey"])
    assert out.exit_code == 0, out.output
    assert "re-encrypted 1 data records and 5 second-factor keys" in out.output
    after = stored_values(app)
    assert all(a != b for a, b in zip(before, after, strict=True))
    assert id_number_seen(api) == ID_A

    # The old key dropped: all still reads, under the new key alone and not under the old one.
    use_keys(app, [new_key])
    assert id_number_seen(api) == ID_A
    assert api("keqiao_supervisor").get(f"/data/gas_user?status=all&id_number={ID_A}").json["items"]
    assert browser("keqiao_supervisor").client.get("/cases").status_code == 200  # its TOTP key decrypts
    for value in after:
        FieldCipher([new_key], lookup).decrypt(value)
        try:
            FieldCipher([old_key], lookup).decrypt(value)
        except ValueError:
            continue
        raise AssertionError("a value is still under the old key")


def test_rekey_without_a_new_key_changes_nothing_readable(app, database_url, monkeypatch):
    from web.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    out = CliRunner().invoke(main, ["data", "rekey"])
    assert out.exit_code == 0 and "0 data records and 5 second-factor keys" in out.output
    from conftest import sign_in_form

    assert sign_in_form(app.test_client(), "admin", "Gasflow-demo-2026").status_code == 302
