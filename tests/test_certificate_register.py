"""The certificate register (A4.3, issue 15): list, filters and statistics of the caller's area, its
history, revocation, the authority's 90- and 30-day notices and a warning for an expired certificate,
and GET /api/v1/certificates."""
from datetime import UTC, date, datetime, time, timedelta

from conftest import enterprise_id
from sqlalchemy import select
from test_certificate import register, renew

from models import Certificate, EarlyWarning, Notification, User


def run_daily(app, day: date):
    from web.extensions import db
    from workflows.services.certificate_register import daily

    with app.app_context():
        return daily(db.session, datetime.combine(day, time(2, 0), tzinfo=UTC))


def notes_of(app, username):
    from web.extensions import db

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        return [n.text for n in db.session.scalars(select(Notification).where(Notification.user_id == uid,
                                                                             Notification.kind == "message"))]


def cert_row(app, number):
    from web.extensions import db

    with app.app_context():
        row = db.session.scalar(select(Certificate).where(Certificate.number == number))
        db.session.expunge(row)
        return row


def test_register_lists_counts_and_keeps_history(app, api, browser):
    assert register(api, app, days=200).status_code == 201
    assert register(api, app, days=400, number="ZJ-RQ-2024-0099", kind="safety_officer").status_code == 201
    page = browser("keqiao_supervisor").client.get("/certificates").data.decode()
    assert "ZJ-RQ-2024-0017" in page and "ZJ-RQ-2024-0099" in page and "王建国" in page
    assert 'id="certificate-stats"' in page and "principal" not in page.split("<main", 1)[-1].replace(
        'value="principal"', "")
    filtered = browser("keqiao_supervisor").client.get("/certificates?kind=safety_officer").data.decode()
    assert "ZJ-RQ-2024-0099" in filtered and "ZJ-RQ-2024-0017" not in filtered
    assert browser("keqiao_supervisor").client.get("/certificates?status=nonsense").status_code == 422
    # Another county sees none of them.
    assert "ZJ-RQ-2024-0017" not in browser("yuecheng_inspector").client.get("/certificates").data.decode()
    listed = api("keqiao_inspector").get("/certificates?status=valid").json
    assert {c["number"] for c in listed["items"]} == {"ZJ-RQ-2024-0017", "ZJ-RQ-2024-0099"}
    assert listed["items"][0]["expires_on"] < listed["items"][1]["expires_on"]
    assert api("yuecheng_inspector").get("/certificates").json["total"] == 0
    assert api("keqiao_inspector").get("/certificates?kind=pilot").status_code == 422
    cert = cert_row(app, "ZJ-RQ-2024-0017")
    detail = browser("keqiao_supervisor").client.get(f"/certificates/{cert.id}").data.decode()
    assert "登记" in detail and "王建国" in detail


def test_renewal_is_recorded_in_the_history(app, api, engine, browser):
    case = register(api, app, days=60).json
    new_expiry = date.today() + timedelta(days=60 + 1095)
    assert renew(api, case["id"], new_expiry).status_code == 200
    cert = cert_row(app, "ZJ-RQ-2024-0017")
    detail = browser("keqiao_supervisor").client.get(f"/certificates/{cert.id}").data.decode()
    assert new_expiry.isoformat() in detail


def test_the_authority_hears_90_and_30_days_ahead_once_each(app, api):
    expires = date.today() + timedelta(days=120)
    assert register(api, app, days=120).status_code == 201
    assert run_daily(app, expires - timedelta(days=91)) == 0
    assert run_daily(app, expires - timedelta(days=90)) == 1
    assert run_daily(app, expires - timedelta(days=89)) == 0  # once
    told = notes_of(app, "keqiao_supervisor")
    assert len(told) == 1 and "剩余 90 天" in told[0] and "ZJ-RQ-2024-0017" in told[0]
    assert notes_of(app, "yuecheng_inspector") == []
    assert run_daily(app, expires - timedelta(days=30)) == 1
    assert "剩余 30 天" in notes_of(app, "keqiao_inspector")[-1]


def test_an_expired_certificate_raises_a_warning_until_revoked(app, api, browser):
    assert register(api, app, days=10).status_code == 201
    cert = cert_row(app, "ZJ-RQ-2024-0017")
    run_daily(app, cert.expires_on + timedelta(days=1))
    assert cert_row(app, "ZJ-RQ-2024-0017").status == "expired"
    with app.app_context():
        from web.extensions import db

        warning = db.session.scalar(select(EarlyWarning).where(EarlyWarning.category == "certificate"))
        assert warning.status == "open" and warning.enterprise_id == enterprise_id(app)
    sup = browser("keqiao_supervisor")
    empty = sup.form_post(f"/certificates/{cert.id}/revoke", {"reason": "  "}, page_path=f"/certificates/{cert.id}")
    assert empty.status_code == 422
    assert browser("keqiao_inspector").client.get(f"/certificates/{cert.id}").status_code == 200
    inspector = browser("keqiao_inspector")
    assert "revoke-form" not in inspector.client.get(f"/certificates/{cert.id}").data.decode()
    done = sup.form_post(f"/certificates/{cert.id}/revoke", {"reason": "伪造证书"},
                         page_path=f"/certificates/{cert.id}")
    assert done.status_code == 303
    assert cert_row(app, "ZJ-RQ-2024-0017").status == "revoked"
    with app.app_context():
        assert db.session.scalar(select(EarlyWarning.status).where(EarlyWarning.category == "certificate")) == "closed"
    assert any("已被吊销" in t for t in notes_of(app, "kq_bottled_staff"))
    page = sup.client.get(f"/certificates/{cert.id}").data.decode()
    assert "伪造证书" in page and "吊销" in page
