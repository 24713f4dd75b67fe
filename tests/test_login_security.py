"""Sign-in lockout per account name and throttling per address (GB/T 22239 level 3)."""
from datetime import UTC, datetime, timedelta

from conftest import sign_in_form as sign_in
from sqlalchemy import func, select, update


def test_five_failures_lock_the_name_even_with_the_right_password_then_it_opens_again(app):
    from models import LoginFailure
    from web.demo.seed import DEMO_PASSWORD
    from web.extensions import db

    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "keqiao_inspector", "wrong").status_code == 200
    locked = sign_in(client, "keqiao_inspector", DEMO_PASSWORD)
    assert locked.status_code == 429 and "该账户登录失败次数过多" in locked.data.decode()
    # Another account is not affected; a name that does not exist locks just the same.
    assert sign_in(app.test_client(), "keqiao_supervisor", DEMO_PASSWORD).status_code == 302
    for _ in range(5):
        sign_in(client, "nobody_here", "x")
    assert sign_in(client, "nobody_here", "x").status_code == 429

    with app.app_context():  # the window passes
        db.session.execute(update(LoginFailure).values(at=datetime.now(UTC) - timedelta(minutes=16)))
        db.session.commit()
    assert sign_in(app.test_client(), "keqiao_inspector", DEMO_PASSWORD).status_code == 302
    with app.app_context():  # a successful sign-in clears the name's failures
        left = db.session.scalar(select(func.count()).select_from(LoginFailure)
                                 .where(LoginFailure.username == "keqiao_inspector"))
    assert left == 0


def test_many_failures_from_one_address_throttle_it(app, monkeypatch):
    from web.demo.seed import DEMO_PASSWORD
    from web.pages.account import login

    monkeypatch.setattr(login, "THROTTLE_AFTER", 6)
    client = app.test_client()
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        assert sign_in(client, name, "wrong").status_code == 200
    resp = sign_in(client, "keqiao_supervisor", DEMO_PASSWORD)
    assert resp.status_code == 429
    assert "该地址登录失败次数过多" in resp.data.decode()
