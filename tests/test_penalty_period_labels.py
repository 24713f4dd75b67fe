"""A period reads as its case's model version counts it: bpmn/penalty.bpmn counts statement and defence (and the
law's short periods) in working days (Administrative Penalty Law art. 85), the version before it
(tests/bpmn/penalty_2026_calendar_days.bpmn) in calendar days; the case page and the payment reminder (催告书) say
which, from the case's version's own scripts (workflows/engine/period_kinds.py), not one label for every version
(a task's context, page and API, labels a period the same way, though no shipped form shows one)."""
import shutil
from datetime import datetime, timedelta

import pytest
from penalty_versions import PENALTY_2026_CALENDAR_DAYS, deploy_calendar_days_version
from test_penalty_working_days import LOCAL, act, data_of, notified

MONDAY = datetime(2026, 10, 19, 10, 0, tzinfo=LOCAL)
WORKING, CALENDAR = "陈述申辩期限（工作日）", "陈述申辩期限（日）"


def case_page(browser, case_id) -> str:
    return browser("keqiao_inspector").client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_statement_and_defence_is_labelled_in_working_days_or_in_days_as_the_version_counts_it(
        app, api, browser, engine):
    case_id = notified(api, app, MONDAY)
    assert data_of(api("keqiao_inspector"), case_id)["defence_days"] == 3
    page = case_page(browser, case_id)
    # The case's data and its decision record (处罚程序期限) both.
    assert page.count(WORKING) == 2 and CALENDAR not in page
    assert "决定书送达期限（工作日）" in page and "决定书送达期限（日）" not in page
    # A case started on the version that counted calendar days.
    deploy_calendar_days_version(engine)
    case_id = notified(api, app, MONDAY)
    data = data_of(api("keqiao_inspector"), case_id)
    assert data["defence_days"] == 3 and datetime.fromisoformat(data["defence_due"]) == MONDAY + timedelta(days=3)
    page = case_page(browser, case_id)
    assert page.count(CALENDAR) == 2 and WORKING not in page


def test_a_calendar_days_case_that_read_the_working_day_table_says_days(app, api, browser, engine):
    """A case started on the calendar-days model after the working-days periods table was uploaded reads the
    table's working-day periods, yet its model counts its own: 3 calendar days for statement and defence from
    the table, 7 and 10 calendar days of its own for service and the court."""
    _kind, _id, created = engine.deploy_file(PENALTY_2026_CALENDAR_DAYS.read_bytes())
    assert created
    case_id = notified(api, app, MONDAY)
    data = data_of(api("keqiao_inspector"), case_id)
    assert data["court_days"] == 10 and data["service_days"] == 7
    page = case_page(browser, case_id)
    assert page.count(CALENDAR) == 2 and WORKING not in page
    for label in ("决定书送达期限（日）", "催告后申请强制执行期限（日）", "要求听证期限（日）"):
        assert page.count(label) == 2, label
    for label in ("决定书送达期限（工作日）", "催告后申请强制执行期限（工作日）", "要求听证期限（工作日）"):
        assert label not in page, label
    # The period to ask for a hearing the hearing notice's form counts from the table (hearing_notice_days)
    # stays in working days, as the form counts it.
    assert page.count("听证通知提前期限（工作日）") == 2


@pytest.mark.documents
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed")
def test_the_reminder_of_a_calendar_days_case_states_ten_days(app, api, engine, tmp_path):
    """The calendar-days model counts the court's wait as 10 days from the reminder's instant, whatever
    court_days the table gave the case: its 催告书 says 十日, not 十个工作日."""
    from test_documents import fetch, pdf_text

    from web.extensions import db
    from workflows.services.documents.issue import render_pending

    _kind, _id, created = engine.deploy_file(PENALTY_2026_CALENDAR_DAYS.read_bytes())
    assert created
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    case_id = notified(api, app, MONDAY)
    assert data_of(inspector, case_id)["court_days"] == 10
    assert engine.run_due_timers(MONDAY + timedelta(days=3, minutes=1)) == 1
    friday = MONDAY + timedelta(days=4)
    act(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 20000,
                                             "legal_basis": "《城镇燃气管理条例》第四十五条"}, friday)
    act(supervisor, case_id, "Task_county", {"decision": "approve"}, friday)
    act(inspector, case_id, "Task_serve", {"service_method": "direct", "served_at": friday.isoformat()}, friday)
    reminded = act(inspector, case_id, "Task_payment", {"payment": "unpaid"}, friday + timedelta(days=16))
    assert datetime.fromisoformat(reminded["data"]["court_from"]) == friday + timedelta(days=26)
    with app.app_context():
        render_pending(db.session)
    reminder = {d["kind"]: d for d in inspector.get(f"/cases/{case_id}").json["documents"]}["penalty_reminder"]
    text = pdf_text(fetch(api("kq_bottled_admin"), reminder["attachment_id"]), tmp_path)
    assert "十日内履行" in text and "工作日" not in text, text
