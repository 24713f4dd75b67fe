"""Demo data as the README promises it, and credit codes checked by their check digit."""
from sqlalchemy import func, select

from models import Enterprise, Region, User
from models.uscc import make_uscc, uscc_error


def test_demo_has_city_six_counties_twelve_enterprises_and_every_role(app):
    from web.extensions import db

    with app.app_context():
        counties = db.session.scalars(select(Region.name).where(Region.level == "county")).all()
        assert sorted(counties) == sorted(["越城区", "柯桥区", "上虞区", "诸暨市", "嵊州市", "新昌县"])
        kinds = dict(db.session.execute(select(Enterprise.kind, func.count()).group_by(Enterprise.kind)).all())
        assert kinds == {"bottled": 4, "pipeline": 5, "vehicle": 3}
        assert all(uscc_error(code) is None for code in db.session.scalars(select(Enterprise.uscc)))
        roles = set(db.session.scalars(select(User.role)))
        assert roles == {"city_admin", "county_supervisor", "inspector", "enterprise_admin", "enterprise_staff"}


def test_credit_code_check_digit():
    code = make_uscc("91330603MA0000001")
    assert uscc_error(code) is None
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert uscc_error(wrong) == "check digit does not match"
    assert uscc_error(code[:17]) == "must be 18 characters"
    assert uscc_error(code[:16] + "I" + code[17]) == "contains characters not allowed in a credit code"
    # The worked example printed in GB 32100-2015 itself: an independent check of the algorithm.
    assert uscc_error("91350100M000100Y43") is None


def test_demo_cases_give_every_demo_account_work(app, api):
    from web.demo.cases import seed_demo_cases
    from web.extensions import case_engine, db

    with app.app_context():
        assert seed_demo_cases(case_engine(app), db.session) is True
        assert seed_demo_cases(case_engine(app), db.session) is False  # idempotent
    processes = {c["process"] for c in api("admin").get("/cases?per_page=100").json["items"]}
    assert processes == {"inspection_activity", "inspection", "rectification", "penalty", "accident",
                         "certificate", "data_review"}
    for username in ("keqiao_supervisor", "keqiao_inspector", "kq_bottled_staff", "kq_bottled_admin"):
        assert api(username).get("/tasks?scope=group").json["total"] + \
            api(username).get("/tasks?scope=mine").json["total"] > 0, username
