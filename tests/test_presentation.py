"""The presentation layer (workflows/services/presentation.py and its Flask adapter web/common/labels.py):
how a value reads for a person, in Chinese and in English."""
from datetime import UTC, date, datetime
from decimal import Decimal

from conftest import enterprise_id
from flows import ACCEPT, KQ_BOTTLED, open_order
from leaks import page_leaks, visible_text
from sqlalchemy import select

from workflows.services import presentation
from workflows.services.presentation import Labels, Presenter, case_title, model_name

ZH = {"Yes": "是", "No": "否", "Accept": "通过", "Accept: rectified": "合格：已整改到位", "Decision": "结论"}


def zh(text):
    return ZH.get(text, text)


def test_money_yes_no_time_and_numbers():
    p = Presenter(zh, "zh")
    assert p.money(80000) == p.money(80000.0) == p.money("80000") == p.money(Decimal("80000.00")) == "80,000.00 元"
    assert p.money(0.5) == "0.50 元" and p.money(None) == "—" and p.money("") == "—"
    assert Presenter(None, "en").money(1234567.891) == "1,234,567.89 yuan"
    assert p.yes_no(True) == p.value("delegated", True) == "是" and p.value("qualified", False) == "否"
    assert Presenter(None, "en").value("qualified", False) == "No"
    assert p.value("anything", None) == p.value("anything", "") == p.value("anything", []) == "—"
    # Beijing time, to the minute, from an aware instant, an ISO string or a naive (UTC) database value.
    assert p.instant(datetime(2026, 12, 6, 8, 5, tzinfo=UTC)) == "2026-12-06 16:05"
    assert p.value("deadline_at", "2026-12-06T08:05:00+00:00") == "2026-12-06 16:05"
    assert presentation.instant(datetime(2026, 12, 31, 20, 0)) == "2027-01-01 04:00"
    assert p.value("planned_on", date(2026, 3, 5)) == "2026-03-05"
    # Numbers as a person writes them: no float tail, grouped where asked.
    assert p.number(2100.0) == "2,100" and p.number(85.5) == "85.5" and p.number(3) == "3"
    assert presentation.number(2100.0) == "2100" and presentation.number(0.125) == "0.12"
    assert p.value("score", 82.0) == "82" and p.value("amount", 80000.0) == "80,000.00 元"
    assert presentation.plain_number(10.0) == 10 and presentation.plain_number(0.5) == 0.5
    assert presentation.file_size(40) == "40 B" and presentation.file_size(41472) == "40.5 KB"
    assert presentation.file_size(2 * 1024 * 1024) == "2 MB" and presentation.file_size(None) == "—"


def test_model_names_in_one_language():
    assert model_name("整改 Rectification", "zh") == "整改"
    assert model_name("整改 Rectification", "en") == "Rectification"
    assert model_name("考核检查活动 Inspection activity", "en") == "Inspection activity"
    assert model_name("处罚是否需市级审批 Penalty needs city approval", "zh") == "处罚是否需市级审批"
    assert model_name("Only English", "zh") == "Only English" and model_name("只有中文", "en") == "只有中文"
    # An end state named with half-width punctuation reads with full-width in Chinese.
    assert Presenter(zh, "zh").end_name("屡改不合格, 移交处罚") == "屡改不合格，移交处罚"
    assert Presenter(zh, "zh").end_name(None) == "—"


def test_field_and_value_labels_by_the_case_s_own_process():
    labels = Labels(
        fields={"decision": "Decision", "photos": "Photos"},
        choices={("decision", "accept"): "Accept: rectified"},
        by_form={"data_review": ({}, {("decision", "accept"): "Accept"}),
                 "inspection_checklist": ({"photos": "Inspection photos"}, {})},
        forms_of={"data_review": ["data_batch", "data_review"], "inspection": ["inspection_checklist"]},
        extra_fields={"score": "Score", "ref": "序号"}, extra_values={"template_kind": {"lpg_station": "LPG station"}})
    p = Presenter(zh, "zh", labels=labels)
    assert p.value("decision", "accept", "data_review") == "通过"
    assert p.value("decision", "accept", "rectification") == "合格：已整改到位"
    assert p.field_label("photos", "inspection") == "Inspection photos"
    assert p.field_label("photos", "rectification") == "Photos"
    assert p.field_label("score") == "Score"
    assert p.value("template_kind", "lpg_station") == "LPG station"
    # A field no form names (a model the city admin uploaded) reads as words, not as a key.
    assert p.field_label("pipe_length") == "pipe length"
    # Nested values: labels, not a repr.
    text = p.value("review", [{"ref": 1, "decision": "accept"}], "data_review")
    assert "{" not in text and "'" not in text and "通过" in text
    assert page_leaks(f"<p>{text}</p>") == []


def test_case_titles_from_the_model_s_template():
    template = "整改 · {inspection_item|hazard_description:12} · {enterprise}"
    hazard = {"hazard_description": "瓶库可燃气体报警器未定期校验，且无校验记录"}
    titled = case_title(template, hazard, "整改 Rectification", "柯桥瓶装")
    assert titled == "整改 · 瓶库可燃气体报警器未定期… · 柯桥瓶装"
    assert case_title(template, {"inspection_item": "LPG-01", "hazard_description": "x"}, "", "柯桥瓶装") \
        == "整改 · LPG-01 · 柯桥瓶装"
    # A part whose every slot is empty is left out, not shown as "· ·".
    assert case_title(template, {}, "", "柯桥瓶装") == "整改 · 柯桥瓶装"
    assert case_title("{process} · {enterprise}", {}, "整改", "") == "整改"


def test_orders_of_one_enterprise_can_be_told_apart_and_a_typed_title_is_kept(app, api, engine):
    from models import Case
    from web.extensions import db

    first = open_order(api, app, hazard="瓶库可燃气体报警器未定期校验")
    second = open_order(api, app, hazard="钢瓶检验标签缺失")
    with app.app_context():
        titles = {c.id: c.title for c in db.session.scalars(select(Case).where(Case.id.in_([first["id"],
                                                                                              second["id"]])))}
        assert titles[first["id"]] == f"整改 · 瓶库可燃气体报警器未定期校验 · {KQ_BOTTLED} · II 类"
        assert titles[second["id"]] == f"整改 · 钢瓶检验标签缺失 · {KQ_BOTTLED} · II 类"
    # An accident's reporter types its title: the case keeps it.
    typed = api("keqiao_inspector").post("/cases", {"process": "accident", "data": {
        "enterprise_id": enterprise_id(app, KQ_BOTTLED), "source": "public", "accident_type": "leak",
        "title": "柯桥街道中压管道泄漏", "occurred_at": "2026-01-05T08:00:00+08:00", "address": "柯桥区笛扬路",
        "description": "第三方施工挖破中压管道"}})
    assert typed.status_code == 201, typed.json
    with app.app_context():
        assert db.session.get(Case, typed.json["id"]).title == "柯桥街道中压管道泄漏"


def test_names_of_people_enterprises_and_files(app):
    from models import Attachment
    from web.extensions import db
    from workflows.attachments import new_attachment

    with app.app_context():
        att = new_attachment("瓶库照片.jpg", "image/jpeg", b"\xff\xd8\xff", enterprise_id=None)
        db.session.add(att)
        db.session.flush()
        p = Presenter(zh, "zh", db.session)
        inspectors = p.value("inspectors", ["keqiao_inspector", "keqiao_inspector2"])
        assert inspectors == "柯桥区检查员 李明、柯桥区检查员 赵强"
        assert p.person("keqiao_supervisor") == "柯桥区主管部门 王科长"
        assert p.value("enterprise_id", enterprise_id(app, KQ_BOTTLED)) == KQ_BOTTLED
        assert p.value("photos", [att.id]) == "瓶库照片.jpg"
        assert p.value("photos", [att.id + 1000]) == "—"  # a file gone is not shown by its id
        assert p.process_label("rectification") == "整改"
        assert Presenter(None, "en", db.session).process_label("rectification") == "Rectification"
        db.session.rollback()
        assert db.session.get(Attachment, att.id) is None


def test_the_adapter_in_chinese_and_in_english(app, browser, api):
    order = open_order(api, app)
    inspector = browser("keqiao_inspector")
    page = inspector.client.get(f"/cases/{order['id']}").data.decode()
    assert "<dd>整改 · v" in page and "Rectification" not in page
    inspector.client.set_cookie("locale", "en")
    page = inspector.client.get(f"/cases/{order['id']}").data.decode()
    assert "<dd>Rectification · v" in page and "整改 · v" not in page
    assert "<dd>Class II</dd>" in page  # the hazard class by its label


def test_error_pages_in_the_reader_s_language(app, browser):
    enterprise = browser("kq_bottled_staff")
    missing = enterprise.client.get("/no-such-page")
    assert missing.status_code == 404
    text = missing.data.decode()
    assert "页面不存在" in text and "Not Found" not in text and "requested URL" not in text
    refused = enterprise.client.get("/admin/users")
    assert refused.status_code == 403 and "无权" in refused.data.decode()
    assert "Forbidden" not in refused.data.decode()
    no_case = enterprise.client.get("/cases/999999")
    assert no_case.status_code == 404 and "no such" not in no_case.data.decode()
    assert page_leaks(missing.data) == page_leaks(refused.data) == page_leaks(no_case.data) == []
    enterprise.client.set_cookie("locale", "en")
    missing = enterprise.client.get("/no-such-page")
    assert missing.status_code == 404 and "Page not found" in missing.data.decode()
    assert "页面不存在" not in missing.data.decode()


def test_every_status_has_its_words(app):
    from web.common.http_errors import PAGE_TEXTS, PAGE_TITLES, error_page

    for status in (400, 403, 404, 405, 409, 413, 422, 429, 500, 503):
        assert status in PAGE_TITLES and status in PAGE_TEXTS
    with app.test_request_context("/"):
        html = error_page(413, "Request Entity Too Large")  # werkzeug's English stays off a Chinese page
        assert "文件过大" in html and "Entity" not in html
        assert "请求过于频繁" in error_page(429) and "暂时无法使用" in error_page(503)


def test_a_rectification_read_through_its_pages_names_files_and_people(app, api, browser):
    """The answer's photos by file name (not "整改照片 8, 9"), the verification by its label, the end by its
    name, with no internal value on the case page, its task page or the ledger."""
    import io
    import re

    from conftest import csrf_of

    order = open_order(api, app, hazard="调压箱漏气")
    staff = browser("kq_bottled_staff")
    task_id = int(re.search(rb'href="/tasks/(\d+)"', staff.client.get("/?scope=group").data).group(1))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    done = staff.client.post(f"/tasks/{task_id}", data={
        "response": "已更换调压箱密封件", "photos": [(io.BytesIO(png), "调压箱整改后.png", "image/png"),
                                                   (io.BytesIO(png), "密封件.png", "image/png")],
        "csrf_token": csrf_of(staff.client.get(f"/tasks/{task_id}").data)}, content_type="multipart/form-data")
    assert done.status_code == 302, done.data[:2000]
    inspector = browser("keqiao_inspector")
    verify = int(re.search(rb'href="/tasks/(\d+)"', inspector.client.get("/?scope=mine").data).group(1))
    assert page_leaks(inspector.client.get(f"/tasks/{verify}").data) == []
    assert inspector.form_post(f"/tasks/{verify}", {**ACCEPT, "comment": "合格"}).status_code == 302
    page = inspector.client.get(f"/cases/{order['id']}")
    text = page.data.decode()
    assert "调压箱整改后.png、密封件.png" in text  # the history's photos, by name
    assert "整改照片" in text and "合格：已整改到位" in text and "柯桥瓶装 安全员 张华" in text
    assert "整改完成" in text and "End_closed</" not in text  # the end by its name
    assert page_leaks(page.data) == []
    assert page_leaks(inspector.client.get("/ledger/rectifications").data) == []


def test_a_refused_filter_reads_in_the_reader_s_language(app, browser):
    admin = browser("admin")
    page = admin.client.get("/ledger/penalties?date_from=2026-13-01&county=999999")
    assert page.status_code == 400
    text = visible_text(page.data)
    assert "起始日期：不是有效日期" in text and "date_from" not in text and "Not a date" not in text
    assert page_leaks(page.data) == []
    warnings = admin.client.get("/warnings/?level=9&category=nonsense")
    assert warnings.status_code == 400 and page_leaks(warnings.data) == []


def test_money_in_an_excel_export_is_a_number_written_as_yuan(app, demo_cases, browser):
    from io import BytesIO

    from openpyxl import load_workbook

    resp = browser("admin").client.get("/ledger/penalties/export.xlsx")
    assert resp.status_code == 200
    sheet = load_workbook(BytesIO(resp.data)).active
    headers = [c.value for c in sheet[1]]
    amount = sheet.cell(row=2, column=headers.index("处罚金额(元)") + 1)
    assert amount.value == 80000 and amount.number_format == "#,##0.00"  # 80,000.00 in Excel, right-aligned
    status = sheet.cell(row=2, column=headers.index("状态") + 1).value
    assert status == "办理中"


def test_a_check_in_reads_the_same_in_a_value_and_in_the_history():
    """A location check-in is worded by the presentation layer, so a page, an export and a PDF say the same."""
    words = {"latitude %(lat).6f, longitude %(lon).6f": "纬度 %(lat).6f，经度 %(lon).6f",
             ", accuracy about %(m)s m": "，精度约 %(m)s 米", "checkin": "签到位置"}
    labels = Labels(extra_fields={"checkin": "checkin", "end_name": "结束"})
    p = Presenter(lambda text: words.get(text, text), "zh", labels=labels)
    checkin = {"latitude": 30.085123, "longitude": 120.492456, "accuracy_m": 12.6}
    assert p.value("checkin", checkin) == "纬度 30.085123，经度 120.492456，精度约 13 米"
    assert p.value("checkin", {"latitude": "30.1", "longitude": 120}) == "纬度 30.100000，经度 120.000000"
    assert p.value("checkin", {"latitude": "north"}) == p.value("checkin", {}) == "—"  # no repr of a broken one
    odd = {"latitude": 30, "longitude": 120, "accuracy_m": True}
    assert p.value("checkin", odd) == "纬度 30.000000，经度 120.000000"
    assert Presenter(None, "en").value("checkin", checkin) == "latitude 30.085123, longitude 120.492456, " \
                                                               "accuracy about 13 m"
    # The history: the check-in in the same words, the engine's ids left off, the end by its name.
    rows = p.history({"checkin": checkin, "element": "Task_fill", "task_id": 7, "end": "End_ok",
                      "end_name": "检查完成", "note": ""})
    assert rows == [("签到位置", "纬度 30.085123，经度 120.492456，精度约 13 米"), ("结束", "检查完成")]
    assert p.history({"checkin": checkin}, hidden=("checkin",)) == [] and p.history(None) == []


def test_the_adapter_words_a_check_in_as_the_presentation_layer_does(app):
    from web.common.labels import presenter

    checkin = {"latitude": 30.0852, "longitude": 120.4925, "accuracy_m": 15}
    with app.test_request_context("/"):
        template = app.jinja_env.from_string("{{ value_label('checkin', c) }}|{% for l, t in history_detail(d) %}"
                                             "{{ t }}{% endfor %}")
        shown = template.render(c=checkin, d={"checkin": checkin})
        assert shown == "纬度 30.085200，经度 120.492500，精度约 15 米|纬度 30.085200，经度 120.492500，精度约 15 米"
        assert presenter("zh").value("checkin", checkin) == shown.split("|")[0]  # an export's presenter


def test_the_engine_s_refusals_read_in_the_reader_s_language(app, api, browser):
    """The engine words a refusal once, in English (the API's, the logs'); a page shows it in its reader's
    language: a claim of a task someone else holds, flashed on the task page."""
    from flows import task_named

    order = open_order(api, app)
    task_id = task_named(api("kq_bottled_staff"), order["id"], "Task_respond")["id"]
    staff, boss = browser("kq_bottled_staff"), browser("kq_bottled_admin")
    assert staff.form_post(f"/tasks/{task_id}/claim", {}, page_path=f"/tasks/{task_id}").status_code == 302
    refused = boss.form_post(f"/tasks/{task_id}/claim", {}, page_path=f"/tasks/{task_id}")
    assert refused.status_code == 302
    page = boss.client.get(refused.headers["Location"]).data
    assert "该任务已指派给他人。" in visible_text(page) and "someone else" not in visible_text(page)
    assert page_leaks(page) == []
    boss.client.set_cookie("locale", "en")
    again = boss.form_post(f"/tasks/{task_id}/claim", {}, page_path=f"/tasks/{task_id}")
    assert "This task is assigned to someone else." in visible_text(boss.client.get(again.headers["Location"]).data)


def test_a_refusal_no_page_words_falls_back_to_what_to_do(app):
    from web.common.http_errors import refusal

    with app.test_request_context("/"):
        assert refusal("task is no longer open") == "此任务已不在办理中。"
        assert refusal("x changed concurrently, try again", 409) == "他人已在此期间修改了该内容，请重新打开后再操作。"
        assert refusal("请选择县（区）。") == "请选择县（区）。"  # a page's own words stand
    with app.test_request_context("/", headers={"Cookie": "locale=en"}):
        assert refusal("x changed concurrently, try again", 409) == "x changed concurrently, try again"
