"""`gasflow backup` / `gasflow restore` (O1): the whole state into an empty database, checked, and working."""
import hashlib
import json
import shutil

import pytest
from casemix import app_on, finish, make_cases, new_database
from click.testing import CliRunner
from conftest import Api
from sqlalchemy import create_engine, select

from models import Base
from web.cli import main

# The backup carries the issued documents' PDFs: they render right after the commit here.
pytestmark = pytest.mark.documents


def every_row(url: str) -> dict[str, list[dict]]:
    """Every row of every table of the schema, read through the models' column types, ordered by key."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: [dict(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))
                           .mappings()] for name, table in Base.metadata.tables.items()}
    finally:
        engine.dispose()


def audit_verdict(app):
    from web.extensions import db
    from workflows.services import audit_chain

    with app.app_context():
        try:
            return audit_chain.verify(db.session)
        finally:
            db.session.remove()


def cli(url, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)


@pytest.fixture
def backed_up(app, api, database_url, tmp_path):
    cases = make_cases(app, api)
    out = cli(database_url, "backup", str(tmp_path / "backup"))
    assert out.exit_code == 0, out.output
    _MADE.setdefault("backup", tmp_path / "backup-kept")
    if not _MADE["backup"].exists():
        shutil.copytree(tmp_path / "backup", _MADE["backup"])
    return cases, tmp_path / "backup"


_MADE: dict = {}


@pytest.fixture
def a_backup(request, tmp_path):
    """A copy of the backup ``backed_up`` made, for the tests that only read (or damage) the folder, not the
    database it came from: making the cases and backing them up costs seconds, once is enough."""
    if "backup" not in _MADE:
        request.getfixturevalue("backed_up")
    shutil.copytree(_MADE["backup"], tmp_path / "backup-copy")
    return tmp_path / "backup-copy"


def test_restore_into_an_empty_database_gives_back_every_case_and_it_goes_on(backed_up, database_url, tmp_path):
    cases, path = backed_up
    manifest = json.loads((path / "manifest.json").read_text())
    # Every table is in the backup; the attachments are the six photos, the notice PDF each of the four
    # rectification orders was issued with, and the re-inspection opinion (整改复查意见书) of the one accepted.
    assert set(Base.metadata.tables) | {"alembic_version"} == set(manifest["tables"])
    assert manifest["tables"]["cases"] == len(cases) and manifest["tables"]["issued_documents"] == 5
    assert manifest["tables"]["attachments"] == 6 + 5
    assert manifest["tables"]["audit_entries"] > 0 and manifest["tables"]["audit_chain_head"] == 1
    assert manifest["schema_revision"] and len(manifest["sha256"]) == 64
    assert hashlib.sha256((path / manifest["file"]).read_bytes()).hexdigest() == manifest["sha256"]
    # The keys that decrypt the data are named, never stored next to it.
    assert set(manifest["data_keys"]) == {"fingerprints", "lookup_fingerprint"}
    assert not any("key" in f.name for f in path.iterdir())

    before = every_row(database_url)
    with new_database(tmp_path) as fresh:
        out = cli(fresh, "restore", str(path))
        assert out.exit_code == 0, out.output
        assert "counts verified" in out.output
        after = every_row(fresh)
        assert after == before
        for att in after["attachments"]:
            assert hashlib.sha256(att["content"]).hexdigest() == att["sha256"]
        assert {a["sha256"] for a in after["attachments"]} == {a["sha256"] for a in before["attachments"]}

        restored = app_on(fresh)
        try:
            users = {}

            def api(name):
                return users.setdefault(name, Api(restored, name))

            # The audit chain comes back whole, and goes on from its restored head.
            verdict = audit_verdict(restored)
            assert verdict.ok and verdict.checked == manifest["tables"]["audit_entries"], verdict
            staff = api("kq_bottled_staff")
            photo = staff.get(f"/attachments/{after['attachments'][0]['id']}")
            assert photo.status_code == 200
            assert hashlib.sha256(photo.data).hexdigest() == after["attachments"][0]["sha256"]
            for name, case_id in cases.items():
                done = finish(api, case_id)
                assert done["status"] == "completed", done
                ends = [h for h in done["history"] if h["event"] == "case_completed"]
                assert len(ends) == 1 and ends[0]["detail"]["end"] == "End_closed", (name, ends)
            verdict = audit_verdict(restored)
            assert verdict.ok and verdict.checked > manifest["tables"]["audit_entries"], verdict
        finally:
            with restored.app_context():
                from web.extensions import db

                db.session.remove()
                db.engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(a_backup, database_url):
    path = a_backup
    rows = every_row(database_url)
    out = cli(database_url, "restore", str(path))
    assert out.exit_code != 0 and "not empty" in out.output
    assert every_row(database_url) == rows


def test_restore_refuses_a_newer_schema_a_damaged_file_and_foreign_keys(a_backup, tmp_path, monkeypatch):
    path = a_backup
    manifest_file = path / "manifest.json"
    good = manifest_file.read_text()
    with new_database(tmp_path) as fresh:
        manifest_file.write_text(good.replace('"schema_revision": "', '"schema_revision": "9999'))
        out = cli(fresh, "restore", str(path))
        assert out.exit_code != 0 and "newer release" in out.output

        manifest_file.write_text(good)
        data = path / json.loads(good)["file"]
        original = data.read_bytes()
        data.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        out = cli(fresh, "restore", str(path))
        assert out.exit_code != 0 and "checksum" in out.output
        data.write_bytes(original)

        # Another installation's keys could not read the personal fields: refused before anything is written.
        monkeypatch.setenv("GASFLOW_INSTANCE", str(tmp_path / "other-instance"))
        out = cli(fresh, "restore", str(path))
        assert out.exit_code != 0 and "data keys" in out.output

        (path / "manifest.json").unlink()
        out = cli(fresh, "restore", str(path))
        assert out.exit_code != 0 and "manifest.json" in out.output


def test_backup_refuses_a_directory_in_use(app, database_url, tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    out = cli(database_url, "backup", str(tmp_path / "used"))
    assert out.exit_code != 0 and "not an empty directory" in out.output
