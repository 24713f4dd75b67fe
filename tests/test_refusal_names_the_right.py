"""A key refused for something its user's rights never allow is told about the missing right (权限), not
about a scope no key of that user could ever carry; a key that only lacks a scope its user could give it
is still told about the scope."""
from pathlib import Path

from conftest import BPMN_DIR

ROOT_BPMN = Path(__file__).resolve().parent.parent / "bpmn"


def test_an_enterprise_user_uploading_a_model_is_told_about_the_right(app, api):
    staff = api("kq_bottled_admin")
    for path, content in (("/processes", (ROOT_BPMN / "rectification.bpmn").read_bytes()),
                          ("/decisions", (BPMN_DIR / "sample_decision.dmn").read_bytes())):
        resp = staff.post(path, data=content, content_type="application/xml")
        assert resp.status_code == 403
        error = resp.json["error"]
        assert error["code"] == "forbidden" and "权限" in error["message"]
        assert "scope" not in error["message"] and "API" not in error["message"]
        assert "管理流程模型" in error["message"]
        assert error["fields"] == {"right": ["models.manage", "templates.manage"]}


def test_a_key_that_lacks_a_scope_its_user_could_have_still_names_the_scope(app):
    from sqlalchemy import select

    from models import User
    from web.common.security import new_token
    from web.extensions import db

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        raw = new_token(db.session, admin, "read only", scopes=["read"])
        db.session.commit()
    resp = app.test_client().post("/api/v1/processes", data=(ROOT_BPMN / "rectification.bpmn").read_bytes(),
                                  content_type="application/xml", headers={"Authorization": f"Bearer {raw}"})
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "missing_scope" and resp.json["error"]["fields"] == {"scope": ["models:write"]}


def test_the_message_speaks_english_to_a_client_that_asks_for_it(app, api):
    staff = api("kq_bottled_admin")
    staff.client.set_cookie("locale", "en")
    resp = staff.post("/processes", data=(ROOT_BPMN / "rectification.bpmn").read_bytes(),
                      content_type="application/xml")
    assert resp.status_code == 403
    assert resp.json["error"]["message"] == ("Your account lacks the right this needs: Manage process models / "
                                             "Manage checklist templates.")
