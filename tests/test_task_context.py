"""Every task page and API task shows what it decides on (issue 13, item 1): the task's declared context,
labelled and formatted for people, above the form; an enterprise sees only what is addressed to it."""
import io
import re
from html import unescape

from conftest import csrf_of, enterprise_id
from flows import complete, open_order, task_named

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def page_text(html: bytes) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html.decode())))


def context_section(html: bytes) -> str:
    match = re.search(rb'<section class="task-context[^"]*" data-task-context>(.*?)</section>', html, re.S)
    assert match, "no task context on the page"
    return match.group(1).decode()


def by_key(context: list) -> dict:
    return {item["key"]: item for item in context}


def upload(user, name="after.png", content=PNG, mimetype="image/png") -> int:
    resp = user.post("/attachments", data={"file": (io.BytesIO(content), name, mimetype)},
                     content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def test_verification_shows_the_order_every_reply_with_photos_and_the_send_back(app, api, browser):
    staff, inspector = api("kq_bottled_staff"), api("keqiao_inspector")
    case = open_order(api, app, hazard="储瓶间可燃气体报警器失效")
    photo = upload(staff)
    complete(staff, case["id"], "Task_respond", {"response": "已更换报警器", "photos": [photo]})
    complete(inspector, case["id"], "Task_verify", {"decision": "send_back", "comment": "照片不清晰，请补拍"})

    # The enterprise's answer task says why it came back, prominently, on the API and the page.
    again = task_named(staff, case["id"], "Task_respond")
    context = staff.get(f"/tasks/{again['id']}").json["context"]
    assert context[0]["key"] == "send_back_reason" and context[0]["prominent"] is True
    assert context[0]["value"] == "照片不清晰，请补拍" and context[0]["label"]
    facts = by_key(context)
    assert facts["hazard_description"]["value"] == "储瓶间可燃气体报警器失效"
    assert facts["hazard_class"]["value"] == "II" and facts["hazard_class"]["text"] == "Ⅱ类隐患"
    assert facts["deadline_at"]["kind"] == "datetime" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d",
                                                                       facts["deadline_at"]["text"])
    # Nothing internal reaches the enterprise: no supervisor's escalations, no overdue count.
    assert "overdue_count" not in facts
    enterprise_page = browser("kq_bottled_staff").client.get(f"/tasks/{again['id']}")
    section = context_section(enterprise_page.data)
    assert 'class="context-prominent" data-context-key="send_back_reason"' in section
    assert "照片不清晰，请补拍" in section and "退回" in page_text(section.encode())
    # The notification of the returned task says why, not just "new task".
    notes = staff.get("/notifications").json["items"]
    assert any("照片不清晰，请补拍" in (n["text"] or "") and n["task_id"] == again["id"] for n in notes), notes

    second = upload(staff, "again.png")
    complete(staff, case["id"], "Task_respond", {"response": "已补拍照片", "photos": [second]})
    verify = task_named(inspector, case["id"], "Task_verify")
    context = by_key(inspector.get(f"/tasks/{verify['id']}").json["context"])
    rounds = context["rounds"]["value"]
    assert [r["form"] for r in rounds] == ["rectification_respond", "rectification_verify", "rectification_respond"]
    first, back, latest = rounds
    assert first["actor"] and first["actor"] != "kq_bottled_staff"  # a person's name, not the username
    assert by_key(first["items"])["response"]["value"] == "已更换报警器"
    assert [f["filename"] for f in by_key(first["items"])["photos"]["value"]] == ["after.png"]
    assert by_key(back["items"])["comment"]["value"] == "照片不清晰，请补拍"
    assert by_key(back["items"])["decision"]["text"] == "退回整改"
    assert [f["filename"] for f in by_key(latest["items"])["photos"]["value"]] == ["again.png"]
    assert context["send_back_count"]["text"] == "1"
    assert context["rectification_notice"]["kind"] == "files"

    html = browser("keqiao_inspector").client.get(f"/tasks/{verify['id']}").data
    section = context_section(html)
    assert html.index(b"data-task-context") < html.index(b'id="submit"')  # above the form
    text = page_text(section.encode())
    assert "已更换报警器" in text and "已补拍照片" in text and "照片不清晰，请补拍" in text
    assert section.count('class="context-thumb"') == 2 and 'alt="again.png"' in section
    assert "整改通知书" in text or "绍燃整" in text
    assert "rectification_respond" not in text and "send_back" not in text and "None" not in text



def test_penalty_approvals_show_facts_basis_amount_evidence_and_earlier_opinions(app, api, browser):
    """The procedure of the Administrative Penalty Law (the model's second version): every approval shows
    the facts, the evidence, the notified and the drafted penalty, the party's defence and the opinions so far."""
    from datetime import UTC, datetime, timedelta

    inspector, county, city, party = api("keqiao_inspector"), api("keqiao_supervisor"), api("admin"), \
        api("kq_bottled_admin")
    resp = inspector.post("/cases", {"process": "penalty", "data": {
        "enterprise_id": enterprise_id(app), "source": "complaint", "facts": "群众举报：违规向无证经营者供气"}})
    assert resp.status_code == 201, resp.json
    case_id = resp.json["id"]
    # The filing approval shows what is to be filed.
    filing = by_key(county.get(f"/tasks/{task_named(county, case_id, 'Task_file_approve')['id']}").json["context"])
    assert filing["facts"]["value"] == "群众举报：违规向无证经营者供气" and filing["source"]["text"] == "投诉举报"
    assert filing["enterprise_id"]["text"] == "柯桥区瓶装液化气供应有限公司"
    complete(county, case_id, "Task_file_approve", {"filing_decision": "approve", "filing_comment": "同意立案"})
    evidence = upload(inspector, "送气记录.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    photo = upload(inspector, "现场.png")
    complete(inspector, case_id, "Task_investigate", {"findings": "现场查实，调取送气记录三份",
                                                       "evidence_list": "现场检查笔录\n送气记录三份",
                                                       "evidence": [evidence, photo]})
    complete(inspector, case_id, "Task_propose", {"penalty_type": "fine", "amount": 80000, "listed": False,
                                                  "legal_basis": "《城镇燃气管理条例》第四十五条"})

    # The party sees the notified penalty and the notice, none of the authority's opinions among themselves.
    defence = party.get(f"/tasks/{task_named(party, case_id, 'Task_defence')['id']}").json["context"]
    told = by_key(defence)
    assert told["notified_amount"]["text"] == "80,000.00 元" and told["notified_type"]["text"] == "罚款"
    assert told["facts"]["value"] == "群众举报：违规向无证经营者供气" and told["penalty_notice"]["kind"] == "files"
    assert "rounds" not in told and "findings" not in told and "同意立案" not in str(defence)
    complete(party, case_id, "Task_defence", {"statement": "初次违规，请求从轻处罚"})
    complete(inspector, case_id, "Task_redraft", {"penalty_type": "fine", "amount": 80000, "listed": False,
                                                  "legal_basis": "《城镇燃气管理条例》第四十五条",
                                                  "defence_response": "违法事实清楚，不予采纳"})
    # 80,000 元 is a large fine: legal review and collective discussion (table penalty_review) see the same.
    review = by_key(county.get(f"/tasks/{task_named(county, case_id, 'Task_legal_review')['id']}").json["context"])
    assert review["amount"]["text"] == "80,000.00 元" and review["statement"]["value"] == "初次违规，请求从轻处罚"
    assert review["evidence_list"]["value"] == ["现场检查笔录", "送气记录三份"]
    assert review["defence_response"]["value"] == "违法事实清楚，不予采纳"
    complete(county, case_id, "Task_legal_review", {"review_decision": "approve",
                                                     "review_opinion": "程序合法，证据充分"})
    complete(county, case_id, "Task_collective", {
        "discussed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), "participants": "局班子成员",
        "collective_decision": "approve", "minutes": "同意按八万元处罚"})

    task = task_named(county, case_id, "Task_county")
    detail = county.get(f"/tasks/{task['id']}").json
    facts = by_key(detail["context"])
    assert facts["amount"]["kind"] == "money" and facts["amount"]["value"] == 80000.0
    assert facts["amount"]["text"] == "80,000.00 元"
    assert facts["penalty_type"]["value"] == "fine" and facts["penalty_type"]["text"] == "罚款"
    assert facts["legal_basis"]["value"] == "《城镇燃气管理条例》第四十五条"
    assert facts["facts"]["value"] == "群众举报：违规向无证经营者供气"
    assert facts["findings"]["value"] == "现场查实，调取送气记录三份"
    assert [f["filename"] for f in facts["evidence"]["value"]] == ["送气记录.pdf", "现场.png"]
    assert facts["evidence_list"]["text"] == "现场检查笔录、送气记录三份"
    assert facts["notified_amount"]["text"] == "80,000.00 元"
    assert facts["statement"]["value"] == "初次违规，请求从轻处罚"
    assert facts["listed"]["text"] == "否" and facts["city_approval"]["text"] == "是"
    assert facts["enterprise_id"]["text"] == "柯桥区瓶装液化气供应有限公司"
    assert facts["penalty_notice"]["kind"] == "files" and facts["penalty_notice"]["value"]
    rounds = facts["rounds"]["value"]
    assert [r["task"] for r in rounds] == ["立案审批", "调查取证", "拟定处罚意见", "陈述申辩", "拟定处罚决定",
                                           "法制审核", "集体讨论"]
    assert by_key(rounds[5]["items"])["review_opinion"]["value"] == "程序合法，证据充分"
    assert by_key(rounds[6]["items"])["minutes"]["value"] == "同意按八万元处罚"
    # The choice reads as an approval, not as a verification's conclusion.
    assert detail["form"]["properties"]["decision"]["title"] == "审批意见"
    html = browser("keqiao_supervisor").client.get(f"/tasks/{task['id']}").data
    text = page_text(context_section(html).encode())
    assert "80,000.00 元" in text and "第四十五条" in text and "罚款" in text and "现场查实" in text
    assert "初次违规，请求从轻处罚" in text and "程序合法，证据充分" in text and "同意按八万元处罚" in text
    assert "行政处罚事先告知书" in text and "penalty notice" not in text
    assert 'alt="现场.png"' in context_section(html) and ">送气记录.pdf</a>" in context_section(html)
    assert "80000.0" not in text and "fine" not in text
    assert not LEAKS.search(text), LEAKS.search(text).group(0)
    form_part = html[html.index(b'id="field-decision"'):]
    assert "审批意见" in form_part.decode() and "核查结论" not in form_part.decode()

    # The city sees the county's opinion among the earlier rounds.
    complete(county, case_id, "Task_county", {"decision": "approve", "comment": "事实清楚，同意"})
    city_task = task_named(city, case_id, "Task_city")
    rounds = by_key(city.get(f"/tasks/{city_task['id']}").json["context"])["rounds"]["value"]
    assert [r["task"] for r in rounds][-3:] == ["法制审核", "集体讨论", "负责人审批"]
    county_round = by_key(rounds[-1]["items"])
    assert county_round["decision"]["text"] == "同意" and county_round["comment"]["value"] == "事实清楚，同意"
    assert by_key(rounds[4]["items"])["amount"]["text"] == "80,000.00 元"
    text = page_text(context_section(browser("admin").client.get(f"/tasks/{city_task['id']}").data).encode())
    assert "事实清楚，同意" in text and "负责人审批" in text and "同意立案" in text
    assert not LEAKS.search(text), LEAKS.search(text).group(0)

    # The enterprise cannot see the approval tasks at all (not addressed to it).
    assert api("kq_bottled_staff").get(f"/tasks/{city_task['id']}").status_code == 404


ID_NUMBER = "11010519491231002X"
USERS = [{"external_id": "U-1", "name": "王小明", "id_number": ID_NUMBER, "user_type": "residential",
          "phone": "13912345678", "address": "柯桥区华舍街道"},
         {"external_id": "U-2", "name": "李红", "user_type": "commercial", "address": "柯桥区柯岩街道"},
         {"external_id": "U-3", "name": "张强", "user_type": "residential", "address": "柯桥区湖塘街道"}]


def revoke_personal(app, browser, username):
    """The city admin revokes data.personal from ``username`` on the rights page, as a browser does."""
    from sqlalchemy import select

    from models import User
    from web.extensions import db

    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == username))
    admin = browser("admin")
    page = admin.client.get(f"/admin/users/{uid}")
    form = dict(re.findall(r'<select[^>]*name="(right_[a-z_]+)"[^>]*>.*?<option selected value="(\w+)"',
                           page.data.decode(), re.S))
    form["right_data_personal"] = "revoke"
    resp = admin.client.post(f"/admin/users/{uid}/rights", data={**form, "csrf_token": csrf_of(page.data)})
    assert resp.status_code in (200, 302, 303)


def review_task(api, app):
    answer = api("kq_bottled_admin").post("/data/gas_user", {"records": USERS})
    assert answer.status_code == 202 and answer.json["rejected"] == [], answer.json
    return answer.json["case"], task_named(api("keqiao_supervisor"), answer.json["case"], "Task_review")


def test_data_review_shows_each_record_labelled_personal_fields_masked_without_the_right(app, api, browser):
    supervisor = api("keqiao_supervisor")
    case_id, task = review_task(api, app)
    records = by_key(supervisor.get(f"/tasks/{task['id']}").json["context"])["records"]["value"]
    assert [r["external_id"] for r in records] == ["U-1", "U-2", "U-3"]
    fields = by_key(records[0]["fields"])
    assert fields["name"]["value"] == "王小明" and fields["name"]["label"] == "名称"
    assert fields["user_type"]["text"] == "居民" and fields["user_type"]["label"] != "user_type"
    assert fields["id_number"]["value"] == ID_NUMBER and fields["id_number"]["masked"] is False
    page = browser("keqiao_supervisor").client.get(f"/tasks/{task['id']}").data
    section = context_section(page)
    assert ID_NUMBER in section and "13912345678" in section and "residential" not in section
    # The page offers the batch as a whole: accept all, or reject the selected with one reason.
    assert b'name="verdict"' in page and b'name="reject_rows"' in page and b'name="reject_reason"' in page
    assert b'name="decision_1"' not in page and b"residential" not in page

    revoke_personal(app, browser, "keqiao_supervisor")
    records = by_key(supervisor.get(f"/tasks/{task['id']}").json["context"])["records"]["value"]
    fields = by_key(records[0]["fields"])
    assert fields["id_number"]["masked"] is True and fields["id_number"]["value"] != ID_NUMBER
    assert fields["id_number"]["value"].endswith(ID_NUMBER[-4:]) and "*" in fields["id_number"]["value"]
    assert fields["phone"]["value"] != "13912345678" and fields["name"]["value"] == "王小明"
    section = context_section(browser("keqiao_supervisor").client.get(f"/tasks/{task['id']}").data)
    assert ID_NUMBER not in section and "13912345678" not in section and "王小明" in section


def test_data_review_accept_all_on_the_page(app, api, browser):
    case_id, task = review_task(api, app)
    reviewer = browser("keqiao_supervisor")
    empty = reviewer.form_post(f"/tasks/{task['id']}", {})
    assert empty.status_code == 422 and "请选择全部通过，或勾选要驳回的记录" in page_text(empty.data)
    done = reviewer.form_post(f"/tasks/{task['id']}", {"verdict": "accept_all"})
    assert done.status_code == 302, page_text(done.data)[:2000]
    official = api("kq_bottled_admin").get("/data/gas_user").json["items"]
    assert sorted(r["external_id"] for r in official) == ["U-1", "U-2", "U-3"]
    assert api("keqiao_supervisor").get(f"/cases/{case_id}").json["status"] == "completed"


def test_data_review_reject_selected_with_one_reason_then_the_enterprise_sees_why(app, api, browser):
    case_id, task = review_task(api, app)
    reviewer = browser("keqiao_supervisor")
    no_reason = reviewer.form_post(f"/tasks/{task['id']}", {"verdict": "reject_selected", "reject_rows": ["2"]})
    assert no_reason.status_code == 422 and "请说明驳回所选记录的理由" in page_text(no_reason.data)
    none_selected = reviewer.form_post(f"/tasks/{task['id']}", {"verdict": "reject_selected",
                                                                "reject_reason": "地址不详"})
    assert none_selected.status_code == 422 and "请勾选要驳回的记录" in page_text(none_selected.data)
    hostile = reviewer.form_post(f"/tasks/{task['id']}", {"verdict": "reject_selected", "reject_rows": ["99"],
                                                          "reject_reason": "地址不详"})
    assert hostile.status_code == 422
    page = reviewer.client.get(f"/tasks/{task['id']}")
    done = reviewer.client.post(f"/tasks/{task['id']}", data={
        "verdict": "reject_selected", "reject_rows": ["2", "3"], "reject_reason": "地址不详，请补全门牌号",
        "csrf_token": csrf_of(page.data)}, content_type="multipart/form-data")
    assert done.status_code == 302, page_text(done.data)[:2000]
    admin = api("kq_bottled_admin")
    assert [r["external_id"] for r in admin.get("/data/gas_user").json["items"]] == ["U-1"]
    rejected = admin.get("/data/gas_user?status=rejected").json["items"]
    assert sorted((r["external_id"], r["review_reason"]) for r in rejected) == [
        ("U-2", "地址不详，请补全门牌号"), ("U-3", "地址不详，请补全门牌号")]


def test_data_review_verdict_over_the_api(app, api):
    supervisor = api("keqiao_supervisor")
    case_id, task = review_task(api, app)
    form = supervisor.get(f"/tasks/{task['id']}").json["form"]
    assert form["properties"]["verdict"]["enum"][:2] == ["accept_all", "reject_selected"]
    assert form["properties"]["reject_rows"]["items"]["enum"] == [1, 2, 3]
    bad = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"verdict": "reject_selected",
                                                                     "reject_rows": [1]}})
    assert bad.status_code == 422 and "reject_reason" in bad.json["error"]["fields"]
    done = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {
        "verdict": "reject_selected", "reject_rows": [1], "reject_reason": "身份证号与姓名不符"}})
    assert done.status_code == 200, done.json
    assert [(r["ref"], r["decision"], r["reason"]) for r in done.json["data"]["review"]] == [
        (1, "reject", "身份证号与姓名不符"), (2, "accept", ""), (3, "accept", "")]


LEAKS = re.compile(r"\b(None|True|False)\b|\b[a-z]+_[a-z_]+\b|\{'|\d+\.0\b")


def test_certificate_accident_warning_and_inspection_tasks_show_what_they_decide(app, api, browser, engine):
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import select

    from models import ChecklistTemplate
    from web.extensions import db

    admin, staff, supervisor, inspector = (api("kq_bottled_admin"), api("kq_bottled_staff"),
                                           api("keqiao_supervisor"), api("keqiao_inspector"))
    # Certificate: expiring in 60 days, so the renewal is asked for at once; applied for with a file.
    cert = admin.post("/cases", {"process": "certificate", "data": {
        "enterprise_id": enterprise_id(app), "kind": "delivery", "number": "ZJ-SX-2023-0158", "holder": "张华",
        "issued_on": (date.today() - timedelta(days=1000)).isoformat(),
        "expires_on": (date.today() + timedelta(days=60)).isoformat()}}).json
    engine.run_due_timers(datetime.now(UTC))
    scan = upload(admin, "培训合格证明.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    complete(admin, cert["id"], "Task_apply", {"note": "已完成继续教育", "documents": [scan]})
    review = by_key(supervisor.get(f"/tasks/{task_named(supervisor, cert['id'], 'Task_review')['id']}")
                    .json["context"])
    assert review["number"]["value"] == "ZJ-SX-2023-0158" and review["holder"]["value"] == "张华"
    assert review["kind"]["text"] == "送气工资格证" or review["kind"]["text"] != "delivery"
    assert [f["filename"] for f in review["documents"]["value"]] == ["培训合格证明.pdf"]
    assert review["note"]["value"] == "已完成继续教育"
    complete(supervisor, cert["id"], "Task_review", {"decision": "reject", "reasons": "缺少体检证明"})
    again = by_key(admin.get(f"/tasks/{task_named(admin, cert['id'], 'Task_apply')['id']}").json["context"])
    assert again["send_back_reason"]["value"] == "缺少体检证明" and again["send_back_reason"]["prominent"]

    # Accident: the enterprise's repair task shows the accident as reported.
    accident = inspector.post("/cases", {"process": "accident", "data": {
        "enterprise_id": enterprise_id(app), "source": "emergency_call", "accident_type": "leak",
        "title": "储瓶间泄漏", "occurred_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "address": "柯桥区华舍街道 12 号", "description": "一只钢瓶角阀泄漏，现场已疏散。"}}).json
    repair = by_key(staff.get(f"/tasks/{task_named(staff, accident['id'], 'Task_response')['id']}")
                    .json["context"])
    assert repair["description"]["value"] == "一只钢瓶角阀泄漏，现场已疏散。"
    assert repair["accident_type"]["text"] == "燃气泄漏" and repair["address"]["value"] == "柯桥区华舍街道 12 号"
    # The accident model's new steps (Decree 493): the enterprise's own report shows the accident as the
    # inspector reported it; the county's report to the city shows the enterprise's report and the grade.
    own = by_key(staff.get(f"/tasks/{task_named(staff, accident['id'], 'Task_enterprise_report')['id']}")
                 .json["context"])
    assert own["title"]["value"] == "储瓶间泄漏" and own["accident_type"]["text"] == "燃气泄漏"
    complete(staff, accident["id"], "Task_enterprise_report", {"situation": "角阀泄漏，已关阀，无人员伤亡",
                                                               "enterprise_reporter": "站长李四"})
    upward = by_key(supervisor.get(f"/tasks/{task_named(supervisor, accident['id'], 'Task_report_city')['id']}")
                    .json["context"])
    assert upward["situation"]["value"] == "角阀泄漏，已关阀，无人员伤亡"
    assert upward["enterprise_reporter"]["value"] == "站长李四"
    assert upward["grade"]["value"] == "general" and upward["grade"]["text"] == "一般事故"
    [own_round] = upward["reports"]["value"]
    assert own_round["task"] == "企业事故报告" and by_key(own_round["items"])["situation"]["value"].startswith("角阀")
    page = page_text(context_section(browser("keqiao_supervisor").client.get(
        f"/tasks/{task_named(supervisor, accident['id'], 'Task_report_city')['id']}").data).encode())
    assert "已作报告" in page and "站长李四" in page and "reports" not in page

    # Warning: a level-1 gas reading opens a case (the warning ladder): the enterprise first acknowledges it
    # (who answers on site, the first action), then disposes of it; both tasks show the warning.
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    readings = [{"site": "KQ-LPG-01", "site_kind": "storage_station", "sensor": "GAS-01",
                 "quantity": "gas_concentration", "value": v, "at": (t0 + timedelta(minutes=i)).isoformat()}
                for i, v in enumerate((30, 40, 45))]
    assert staff.post("/readings", {"readings": readings}).status_code == 202
    ack_task = next(t for t in staff.get("/tasks").json["items"] if t["name"] == "Task_acknowledge")
    ack = by_key(staff.get(f"/tasks/{ack_task['id']}").json["context"])
    assert "一级预警" in ack["description"]["value"] and ack["peak_value"]["text"] == "45"
    assert ack["quantity"]["text"] == "可燃气体浓度" and ack["ack_due"]["kind"] == "datetime"
    complete(staff, ack_task["case_id"], "Task_acknowledge", {"responder": "站长王五", "first_action": "关阀，疏散"})
    warning_task = task_named(staff, ack_task["case_id"], "Task_dispose")
    warning = by_key(staff.get(f"/tasks/{warning_task['id']}").json["context"])
    assert "一级预警" in warning["description"]["value"] and warning["peak_value"]["text"] == "45"
    assert warning["quantity"]["text"] == "可燃气体浓度"
    assert warning["responder"]["value"] == "站长王五" and warning["first_action"]["value"] == "关阀，疏散"

    # Inspection: the checklist shows what is inspected, for whom.
    with app.app_context():
        template_id = db.session.scalar(select(ChecklistTemplate.id).where(ChecklistTemplate.kind == "lpg_station"))
    insp = inspector.post("/cases", {"process": "inspection", "data": {
        "enterprise_id": enterprise_id(app), "name": "专项检查", "template_id": template_id}}).json
    fill = by_key(inspector.get(f"/tasks/{task_named(inspector, insp['id'], 'Task_fill')['id']}").json["context"])
    assert fill["name"]["value"] == "专项检查" and fill["enterprise_id"]["text"] == "柯桥区瓶装液化气供应有限公司"

    # Every open task page, for each role that works it: the context above the form, with no internal value.
    for username in ("kq_bottled_admin", "kq_bottled_staff", "keqiao_supervisor", "keqiao_inspector"):
        client = browser(username).client
        for task in api(username).get("/tasks?scope=all&per_page=200").json["items"]:
            html = client.get(f"/tasks/{task['id']}").data
            section = context_section(html)
            assert "<dt>" in section or "context-prominent" in section, (username, task["name"])
            text = page_text(section.encode())
            assert not LEAKS.search(text), (username, task["name"], LEAKS.search(text).group(0), text)


def test_last_reason_is_the_unanswered_send_back_only():
    from workflows.services.task_context import LastReason, last_reason

    part = LastReason("rectification_verify", "decision", ("send_back",), "comment")
    respond = ("rectification_respond", None, "张华", {"response": "已整改"}, "提交整改反馈")
    back = ("rectification_verify", None, "李明", {"decision": "send_back", "comment": "照片不清晰"}, "核查整改情况")
    extend = ("rectification_escalate", None, "王科长", {"action": "extend", "comment": "内部意见"}, "逾期督办")
    accept = ("rectification_verify", None, "李明", {"decision": "accept", "comment": ""}, "核查整改情况")
    assert last_reason(part, [], "rectification_respond") is None
    assert last_reason(part, [respond, back], "rectification_respond") == "照片不清晰"
    # A supervisor's extension in between does not hide the reason (nor replace it with his comment).
    assert last_reason(part, [respond, back, extend], "rectification_respond") == "照片不清晰"
    # Answered since: no longer the reason this task is here.
    assert last_reason(part, [respond, back, respond], "rectification_respond") is None
    assert last_reason(part, [respond, accept], "rectification_respond") is None


def test_values_of_unexpected_types_read_as_text_not_a_server_error(app):
    from web.common.task_context import text_of

    with app.test_request_context():
        assert text_of("datetime", "deadline_at", 5) == "5"
        assert text_of("datetime", "deadline_at", "not a time") == "not a time"
        assert text_of("datetime", "deadline_at", "2026-01-05T02:00:00+00:00") == "2026-01-05 10:00"
        assert text_of("number", "peak_value", "abc") == "abc" and text_of("number", "level", 2.0) == "2"
        assert text_of("bool", "listed", False) == "否" and text_of("text", "x", None) == "—"
        assert text_of("money", "amount", 1234567.5) == "1,234,567.50 元"
        assert text_of("enum", "penalty_type", "unknown_code") == "unknown_code"


def test_english_mode_shows_the_context_in_english(app, api, browser):
    case = open_order(api, app, hazard_class="II")
    task = task_named(api("kq_bottled_staff"), case["id"], "Task_respond")
    client = browser("kq_bottled_staff").client
    client.set_cookie("locale", "en")
    text = page_text(context_section(client.get(f"/tasks/{task['id']}").data).encode())
    assert "Hazard class" in text and "Deadline" in text and "Rectification notice" in text
    assert "隐患等级" not in text and "整改期限" not in text


def test_a_hand_typed_batch_comes_back_with_the_rejected_rows_and_their_reason(app, api, browser):
    staff, supervisor = api("kq_bottled_staff"), api("keqiao_supervisor")
    case = staff.post("/cases", {"process": "data_review", "data": {
        "data_kind": "vehicles", "period": "2026-Q1", "rows_text": "浙D·A1234 危险品运输车\n浙D·B5678 送气三轮车"}})
    assert case.status_code == 201, case.json
    review = task_named(supervisor, case.json["id"], "Task_review")
    done = supervisor.post(f"/tasks/{review['id']}/complete", {"data": {
        "verdict": "reject_selected", "reject_rows": [2], "reject_reason": "缺少行驶证号"}})
    assert done.status_code == 200, done.json
    correct = task_named(staff, case.json["id"], "Task_correct")
    rows = by_key(staff.get(f"/tasks/{correct['id']}").json["context"])["rejected_rows"]["value"]
    assert [(r["ref"], r["summary"], r["reason"]) for r in rows] == [(2, "浙D·B5678 送气三轮车", "缺少行驶证号")]
    section = context_section(browser("kq_bottled_staff").client.get(f"/tasks/{correct['id']}").data)
    assert "缺少行驶证号" in section and "浙D·B5678 送气三轮车" in section
