"""Data timeliness (§7.1.2, issue 15 item 3) on a moving clock (spring 2035, the clock held at each step): the
daily round finds a periodic report missing at its limit and raises one warning and one notice for it, however
often it runs; the late report closes it and is recorded late; a report in time raises nothing; a kind that does
not apply to an enterprise, or another enterprise's reports, change nothing; the enterprise home (and the
authority's view of it) lists the late and missing reports; the data catalogue lists every kind's declaration."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from conftest import enterprise_id
from sqlalchemy import func, select

from forms.data_kinds import KINDS
from models import PERIOD_LATE, PERIOD_MISSING, EarlyWarning, Notification, ReportPeriod, User
from workflows.engine import clock

SH = ZoneInfo("Asia/Shanghai")
KQB, YCP = "柯桥区瓶装液化气供应有限公司", "越城燃气有限公司"


def at(*args):
    return clock.frozen_at(datetime(*args, tzinfo=SH).astimezone(UTC))


def run_round(app, *when) -> int:
    from web.background.schedule import daily_data_timeliness

    with at(*when):
        return daily_data_timeliness(app)


def volume(api, username, day: str, ref: str):
    sent = api(username).post("/data/daily_volume", {"records": [
        {"external_id": ref, "date": day, "unit": "kg", "inbound": 100, "supplied": 90, "stock": 10}]})
    assert sent.status_code == 202, sent.json
    return sent.json


def warnings_of(app, ent: int, kind: str, period: str) -> list[tuple[str, int]]:
    from web.extensions import db

    with app.app_context():
        return [(w.status, w.level) for w in db.session.scalars(select(EarlyWarning).where(
            EarlyWarning.enterprise_id == ent, EarlyWarning.category == "timeliness",
            EarlyWarning.key == f"timeliness:{kind}:{period}"))]


def period_row(app, ent: int, kind: str, period: str):
    from web.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(ReportPeriod).where(
            ReportPeriod.enterprise_id == ent, ReportPeriod.kind == kind, ReportPeriod.period == period)).all()
        assert len(rows) <= 1
        for r in rows:
            db.session.expunge(r)
        return rows[0] if rows else None


def notices(app, username, needle: str) -> list[str]:
    from web.extensions import db

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
        return [n.text for n in db.session.scalars(select(Notification).where(
            Notification.user_id == uid, Notification.kind == "message")) if needle in n.text]


def timeliness_warnings(app, ent: int) -> int:
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(EarlyWarning.id)).where(
            EarlyWarning.enterprise_id == ent, EarlyWarning.category == "timeliness"))


def test_a_daily_report_missing_warns_once_and_the_late_report_closes_it(app, api, browser):
    kqb, ycp = enterprise_id(app, KQB), enterprise_id(app, YCP)
    with at(2035, 3, 10, 9, 0):  # 9 March reported the next morning: in time (by the end of 10 March)
        volume(api, "kq_bottled_admin", "2035-03-09", "V-0309")
        volume(api, "yc_pipeline_staff", "2035-03-09", "Y-0309")
        volume(api, "yc_pipeline_staff", "2035-03-08", "Y-0308")  # after its limit, before any round
    assert run_round(app, 2035, 3, 11, 1, 0) > 0
    assert warnings_of(app, kqb, "daily_volume", "2035-03-09") == []
    assert period_row(app, kqb, "daily_volume", "2035-03-09") is None
    # 8 March never came: one level-3 warning, one notice to the enterprise, the period recorded missing.
    assert warnings_of(app, kqb, "daily_volume", "2035-03-08") == [("open", 3)]
    row = period_row(app, kqb, "daily_volume", "2035-03-08")
    assert row.status == PERIOD_MISSING and row.received_at is None
    assert row.due_at == datetime(2035, 3, 10, 0, 0, tzinfo=SH)
    assert len(notices(app, "kq_bottled_admin", "每日气量（2035-03-08）未在上报时限 2035-03-10 00:00 前上报")) == 1
    # Yuecheng reported both days: nothing for those, and Keqiao's gap is not theirs.
    assert warnings_of(app, ycp, "daily_volume", "2035-03-08") == []
    assert warnings_of(app, ycp, "daily_volume", "2035-03-09") == []
    assert notices(app, "yc_pipeline_staff", "（2035-03-08）") == []

    # The next day's round (and a second round the same day) finds the same gap: no second warning or notice.
    before = timeliness_warnings(app, kqb)
    run_round(app, 2035, 3, 12, 1, 0)
    assert run_round(app, 2035, 3, 12, 2, 0) == 0
    assert warnings_of(app, kqb, "daily_volume", "2035-03-08") == [("open", 3)]
    assert timeliness_warnings(app, kqb) == before + 1  # only 11 March, newly past its limit
    assert len(notices(app, "kq_bottled_admin", "（2035-03-08）")) == 1

    # The late report closes the warning at once and the period is recorded late, with when it came.
    with at(2035, 3, 12, 10, 30):
        volume(api, "kq_bottled_admin", "2035-03-08", "V-0308")
    assert warnings_of(app, kqb, "daily_volume", "2035-03-08") == [("closed", 3)]
    row = period_row(app, kqb, "daily_volume", "2035-03-08")
    assert row.status == PERIOD_LATE and row.received_at == datetime(2035, 3, 12, 10, 30, tzinfo=SH)
    run_round(app, 2035, 3, 13, 1, 0)
    assert warnings_of(app, kqb, "daily_volume", "2035-03-08") == [("closed", 3)]

    # A report after its limit but before the round found it missing is recorded late, with no warning.
    with at(2035, 3, 14, 0, 30):
        volume(api, "kq_bottled_admin", "2035-03-12", "V-0312")
    run_round(app, 2035, 3, 14, 1, 0)
    assert warnings_of(app, kqb, "daily_volume", "2035-03-12") == []
    assert period_row(app, kqb, "daily_volume", "2035-03-12").status == PERIOD_LATE
    # A correction of 9 March (reported in time) after its limit does not make that day late.
    with at(2035, 3, 14, 8, 0):
        sent = api("kq_bottled_admin").post("/data/daily_volume", {"records": [
            {"external_id": "V-0309", "date": "2035-03-09", "unit": "kg", "inbound": 100, "supplied": 95,
             "stock": 5}]})
        assert sent.status_code == 202, sent.json
    assert period_row(app, kqb, "daily_volume", "2035-03-09") is None

    # The enterprise home lists them: missing with a link to report, late with how late; so does the
    # authority's view of the enterprise; Yuecheng's home does not show Keqiao's. (Viewed on today's clock:
    # an authority's password would have expired by 2035.)
    page = browser("kq_bottled_admin").client.get("/enterprise/").data.decode()
    seen = browser("keqiao_supervisor").client.get(f"/enterprise/{kqb}").data.decode()
    other = browser("yc_pipeline_staff").client.get("/enterprise/").data.decode()
    section = page.split('id="late-reports"', 1)[1].split("</section>", 1)[0]
    assert 'data-period="2035-03-08" data-report-status="late"' in section
    late_row = section.split('data-period="2035-03-08"', 1)[1].split("</tr>", 1)[0]
    assert "逾期" in late_row and "2 天 10 小时" in late_row  # limit 10 March 00:00, came 12 March 10:30
    missing_row = section.split('data-period="2035-03-11"', 1)[1].split("</tr>", 1)[0]
    assert 'data-report-status="missing"' in missing_row and "未报" in missing_row
    assert 'href="/data/daily_volume/new"' in missing_row and "2035-03-13 00:00" in missing_row
    assert 'data-period="2035-03-09"' not in section  # in time
    authority = seen.split('id="late-reports"', 1)[1].split("</section>", 1)[0]
    assert 'data-period="2035-03-08" data-report-status="late"' in authority
    assert 'data-period="2035-03-11" data-report-status="missing"' in authority
    assert "/data/daily_volume/new" not in authority
    # Yuecheng's own 8 March came on the morning of 10 March: late, never missing, so never warned.
    theirs = other.split('id="late-reports"', 1)[1].split("</section>", 1)[0]
    assert 'data-period="2035-03-08" data-report-status="late"' in theirs
    assert 'data-period="2035-03-12" data-report-status="late"' not in theirs  # Keqiao's, not theirs


def test_a_monthly_report_only_where_it_applies(app, api):
    kqb, ycp = enterprise_id(app, KQB), enterprise_id(app, YCP)
    with at(2035, 5, 6, 9, 0):  # March's supply, reported long after its limit (10 April)
        sent = api("yc_pipeline_staff").post("/data/monthly_supply", {"records": [
            {"external_id": "M-2035-03", "month": "2035-03", "residential": 100}]})
        assert sent.status_code == 202, sent.json
    assert run_round(app, 2035, 5, 10, 23, 0) > 0  # April's limit (the end of 10 May) not yet passed
    assert warnings_of(app, ycp, "monthly_supply", "2035-04") == []
    assert period_row(app, ycp, "monthly_supply", "2035-03").status == PERIOD_LATE
    assert warnings_of(app, ycp, "monthly_supply", "2035-03") == []
    run_round(app, 2035, 5, 11, 0, 30)
    assert warnings_of(app, ycp, "monthly_supply", "2035-04") == [("open", 3)]
    run_round(app, 2035, 5, 12, 1, 0)
    assert warnings_of(app, ycp, "monthly_supply", "2035-04") == [("open", 3)]
    assert len(notices(app, "yc_pipeline_staff", "分类月度供气量（2035-04）")) == 1
    with at(2035, 5, 12, 15, 0):
        sent = api("yc_pipeline_staff").post("/data/monthly_supply", {"records": [
            {"external_id": "M-2035-04", "month": "2035-04", "residential": 120}]})
        assert sent.status_code == 202, sent.json
    assert warnings_of(app, ycp, "monthly_supply", "2035-04") == [("closed", 3)]
    row = period_row(app, ycp, "monthly_supply", "2035-04")
    assert row.status == PERIOD_LATE and row.due_at == datetime(2035, 5, 11, 0, 0, tzinfo=SH)
    # A bottled company supplies no network: monthly supply is not asked of it.
    from web.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count(ReportPeriod.id)).where(
            ReportPeriod.enterprise_id == kqb, ReportPeriod.kind == "monthly_supply")) == 0


def test_the_city_admin_moves_a_limit_in_the_decision_table(app, api, engine):
    """The daily limit becomes 10:00 of the next day: a report at 11:00 the next day is late."""
    from pathlib import Path

    kqb = enterprise_id(app, KQB)
    xml = (Path(app.config["BPMN_DIR"]) / "data_reporting_limits.dmn").read_text(encoding="utf-8")
    daily = xml.split('<rule id="Rule_daily">', 1)[1].split("</rule>", 1)[0]
    moved = daily.replace('<outputEntry id="Out_daily_days"><text>1</text>',
                          '<outputEntry id="Out_daily_days"><text>0</text>').replace(
        '<outputEntry id="Out_daily_hours"><text>0</text>', '<outputEntry id="Out_daily_hours"><text>10</text>')
    with app.app_context():
        engine.deploy_decision(xml.replace(daily, moved).encode())
    from web.extensions import db
    from workflows.services import data_timeliness

    with app.app_context():
        assert data_timeliness.limits(db.session)["daily"] == (0, 10)
    api_user = api("kq_bottled_admin")
    with at(2035, 6, 2, 11, 0):
        sent = api_user.post("/data/daily_volume", {"records": [
            {"external_id": "V-0601", "date": "2035-06-01", "unit": "kg", "inbound": 1, "supplied": 1, "stock": 0}]})
        assert sent.status_code == 202, sent.json
    row = period_row(app, kqb, "daily_volume", "2035-06-01")
    assert row.status == PERIOD_LATE and row.due_at == datetime(2035, 6, 2, 10, 0, tzinfo=SH)


def test_the_catalogue_lists_every_kind_with_unit_cycle_limit_and_methods(app, browser):
    client = browser("kq_bottled_admin").client
    home = client.get("/").data.decode()
    assert 'href="/data-catalogue"' in home and "数据目录" in home
    page = client.get("/data-catalogue").data.decode()
    table = page.split('id="data-catalogue"', 1)[1].split("</table>", 1)[0]
    for kind in KINDS:
        row = table.split(f'data-kind="{kind.key}"', 1)[1].split("</tr>", 1)[0]
        assert f'data-cycle="{kind.cycle}"' in row and "燃气经营企业" in row, kind.key
        assert "接口（API）" in row and "网页表单" in row and "Excel 导入" in row, kind.key
        assert kind.item in row
    daily = table.split('data-kind="daily_volume"', 1)[1].split("</tr>", 1)[0]
    assert "按日" in daily and "周期结束后 1 天内" in daily
    monthly = table.split('data-kind="monthly_supply"', 1)[1].split("</tr>", 1)[0]
    assert "按月" in monthly and "周期结束后 10 天内" in monthly and "管道燃气" in monthly
    realtime = table.split('data-kind="delivery_order"', 1)[1].split("</tr>", 1)[0]
    assert "实时" in realtime
    assert browser("keqiao_supervisor").client.get("/data-catalogue").status_code == 200
