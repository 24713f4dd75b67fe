"""The case page and its API twin: comments with files, linked (parent and child) cases with their
diagrams, and the history labels of the new events."""
import io
import re
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CHROMIUM_ARGS, csrf_of, enterprise_id, future, sign_in_page
from flows import open_order
from sqlalchemy import update

from models import Case, CaseEvent
from web.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"



def link(app, parent_id, child_id):
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == child_id).values(parent_id=parent_id))
        child = db.session.get(Case, child_id)
        db.session.add(CaseEvent(case_id=parent_id, event="case_opened",
                                 detail={"case": child_id, "process": child.process_key, "title": child.title}))
        db.session.commit()


def english(b):
    b.client.get("/locale/en")
    return b


def test_comment_with_files_on_the_case_page(app, api, browser):
    case_id = open_order(api, app, hazard="阀门锈蚀")["id"]
    staff = english(browser("kq_bottled_staff"))
    page = staff.client.get(f"/cases/{case_id}")
    assert b'id="comment-form"' in page.data
    resp = staff.client.post(f"/cases/{case_id}/comments", data={
        "text": "已安排维修，附照片和检测报告", "csrf_token": csrf_of(page.data),
        "files": [(io.BytesIO(PNG), "valve.png", "image/png"), (io.BytesIO(PDF), "报告.pdf", "application/pdf")]},
        content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{case_id}#history")
    html = staff.client.get(f"/cases/{case_id}").data.decode()
    history = html[html.index('id="history"'):]
    assert "已安排维修，附照片和检测报告" in history and "valve.png" in history and "报告.pdf" in history
    assert "<td>Comment</td>" in history
    links = re.findall(r'href="/attachments/(\d+)">valve.png<', history)
    assert len(links) == 1 and staff.client.get(f"/attachments/{links[0]}").data == PNG

    # The inspector of the county sees it too; another county's user does not see the case at all.
    assert "valve.png" in browser("keqiao_inspector").client.get(f"/cases/{case_id}").data.decode()
    other = browser("yc_pipeline_staff")
    assert other.client.post(f"/cases/{case_id}/comments", data={
        "text": "x", "csrf_token": csrf_of(other.client.get("/").data)}).status_code == 404


def test_bad_comments_on_the_page(app, api, browser):
    case_id = open_order(api, app, hazard="阀门锈蚀")["id"]
    inspector = english(browser("keqiao_inspector"))
    token = csrf_of(inspector.client.get(f"/cases/{case_id}").data)
    empty = inspector.client.post(f"/cases/{case_id}/comments", data={"text": "  ", "csrf_token": token})
    assert empty.status_code == 422 and b"Write a comment or attach a file." in empty.data
    exe = inspector.client.post(f"/cases/{case_id}/comments", data={
        "text": "见附件", "csrf_token": token, "files": [(io.BytesIO(b"MZ"), "x.exe", "application/x-msdownload")]},
        content_type="multipart/form-data")
    assert exe.status_code == 422 and "见附件".encode() in exe.data  # the text is kept for a second try
    assert inspector.client.post(f"/cases/{case_id}/comments", data={"text": "no token"}).status_code == 400
    history = api("keqiao_inspector").get(f"/cases/{case_id}").json["history"]
    assert [h for h in history if h["event"] == "comment"] == []


def test_comments_over_the_api(app, api):
    case_id = open_order(api, app, hazard="阀门锈蚀")["id"]
    inspector, staff = api("keqiao_inspector"), api("kq_bottled_staff")
    resp = inspector.post(f"/cases/{case_id}/comments", {"text": "  请本周内完成  "})
    assert resp.status_code == 201, resp.json
    assert resp.json["event"] == "comment" and resp.json["detail"]["text"] == "请本周内完成"
    assert resp.json["actor"] == "keqiao_inspector" and resp.json["attachments"] == []

    multi = staff.post(f"/cases/{case_id}/comments", data={
        "text": "照片", "files": [(io.BytesIO(PNG), "a.png", "image/png")]}, content_type="multipart/form-data")
    assert multi.status_code == 201, multi.json
    att = multi.json["attachments"][0]
    assert att["filename"] == "a.png" and att["size"] == len(PNG)
    assert inspector.get(f"/attachments/{att['id']}").data == PNG
    only_file = staff.post(f"/cases/{case_id}/comments", data={"files": [(io.BytesIO(PNG), "b.png", "image/png")]},
                           content_type="multipart/form-data")
    assert only_file.status_code == 201 and only_file.json["detail"]["text"] == ""

    case = inspector.get(f"/cases/{case_id}").json
    comments = [h for h in case["history"] if h["event"] == "comment"]
    assert [c["detail"]["text"] for c in comments] == ["请本周内完成", "照片", ""]
    assert [a["filename"] for a in comments[1]["attachments"]] == ["a.png"]
    assert {"a.png", "b.png"} <= {a["filename"] for a in case["attachments"]}

    for payload in ({"text": ""}, {}, {"text": 12}, {"text": "x" * 4001}):
        bad = inspector.post(f"/cases/{case_id}/comments", payload)
        assert bad.status_code == 422 and "text" in bad.json["error"]["fields"], payload
    exe = staff.post(f"/cases/{case_id}/comments", data={"text": "x", "files": [(io.BytesIO(b"MZ"), "x.exe",
                                                                                 "application/x-msdownload")]},
                     content_type="multipart/form-data")
    assert exe.status_code == 422 and "files" in exe.json["error"]["fields"]
    assert inspector.post(f"/cases/{case_id}/comments", ["a list"]).status_code == 422
    assert inspector.client.post(f"/api/v1/cases/{case_id}/comments", data="{bad", headers={
        **inspector.headers, "Content-Type": "application/json"}).status_code == 400
    assert api("yc_pipeline_staff").post(f"/cases/{case_id}/comments", {"text": "x"}).status_code == 404
    assert inspector.post("/cases/999999/comments", {"text": "x"}).status_code == 404


def test_linked_cases_in_the_api(app, api):
    parent = open_order(api, app, "柯桥天然气有限公司", hazard="阀门锈蚀")["id"]
    child = open_order(api, app, hazard="阀门锈蚀")["id"]
    second = open_order(api, app, "柯桥汽车加气站", hazard="阀门锈蚀")["id"]
    link(app, parent, child)
    link(app, parent, second)
    inspector = api("keqiao_inspector")
    got = inspector.get(f"/cases/{parent}").json
    assert got["parent"] is None
    assert [c["id"] for c in got["children"]] == [child, second]
    assert set(got["children"][0]) == {"id", "process", "title", "status"}
    assert got["children"][0]["process"] == "rectification" and got["children"][0]["status"] == "active"
    assert inspector.get(f"/cases/{child}").json["parent"]["id"] == parent
    assert inspector.get(f"/cases/{child}").json["children"] == []
    # The bottled-gas enterprise sees its own case, not the pipeline company's case that opened it.
    staff = api("kq_bottled_staff").get(f"/cases/{child}").json
    assert staff["parent"] is None and staff["children"] == []


def test_linked_cases_on_the_case_page(app, api, browser):
    parent = open_order(api, app, "柯桥天然气有限公司", hazard="阀门锈蚀")["id"]
    child = open_order(api, app, hazard="阀门锈蚀")["id"]
    link(app, parent, child)
    inspector = english(browser("keqiao_inspector"))
    html = inspector.client.get(f"/cases/{parent}").data.decode()
    table = html[html.index('id="child-cases"'):html.index("</table>", html.index('id="child-cases"'))]
    assert f'data-case="{child}"' in table and f'href="/cases/{child}"' in table and "In progress" in table
    assert f'id="linked-diagram-{child}"' in html and f'data-src="/cases/{child}/diagram.bpmn"' in html
    assert '"Task_respond"' in html  # the child's current step, marked on its diagram
    assert "Linked case opened" in html and 'id="diagram"' in html

    page = inspector.client.get(f"/cases/{child}").data.decode()
    assert 'id="parent-case"' in page and f'href="/cases/{parent}"' in page
    assert f'id="linked-diagram-{parent}"' in page and 'id="child-cases"' not in page
    assert inspector.client.get(f"/cases/{child}/diagram.bpmn").data.startswith(b"<?xml")

    lonely = browser("kq_bottled_staff").client.get(f"/cases/{child}").data.decode()
    assert 'id="parent-case"' not in lonely and 'id="linked-cases"' not in lonely


def test_history_labels_for_new_events(app, api, browser):
    case_id = open_order(api, app, hazard="阀门锈蚀")["id"]
    with app.app_context():
        for event, detail in (("follow_up_set", {"follow_up_at": "2030-01-02T03:00:00+00:00"}),
                              ("message_handled", {"message": "warn_enterprise"})):
            db.session.add(CaseEvent(case_id=case_id, event=event, detail=detail))
        db.session.commit()
    html = english(browser("keqiao_inspector")).client.get(f"/cases/{case_id}").data.decode()
    assert "Follow-up date changed" in html and "2030-01-02 11:00" in html
    assert "Message handled" in html and "warn_enterprise" in html


def transferred_to_penalty(app, api, engine):
    """A rectification whose missed deadline the supervisor transfers: the engine opens a penalty case."""
    case_id = api("keqiao_inspector").post("/cases", {"process": "rectification", "data": {
        "enterprise_id": enterprise_id(app), "hazard_description": "无证经营", "hazard_class": "I",
        "deadline_at": future(1)}}).json["id"]
    engine.run_due_timers(datetime.now(UTC) + timedelta(hours=2))
    supervisor = api("keqiao_supervisor")
    task = next(t for t in supervisor.get("/tasks?scope=group").json["items"] if t["case_id"] == case_id)
    done = supervisor.post(f"/tasks/{task['id']}/complete", {"data": {"action": "transfer"}})
    assert done.status_code == 200, done.json
    return case_id, done.json["children"][0]["id"]


def test_a_penalty_opened_by_the_engine_shows_as_linked(app, api, browser, engine):
    parent, child = transferred_to_penalty(app, api, engine)
    got = api("keqiao_supervisor").get(f"/cases/{child}").json
    assert got["parent"] == {"id": parent, "process": "rectification", "title": got["parent"]["title"],
                             "status": "completed"}
    html = english(browser("keqiao_supervisor")).client.get(f"/cases/{parent}").data.decode()
    history = html[html.index('id="history"'):]
    assert "Linked case opened" in history and f'href="/cases/{child}"' in history
    assert f'data-src="/cases/{child}/diagram.bpmn"' in html


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")
@pytest.mark.browser
def test_linked_diagrams_render_and_switch_in_the_browser(app, api, engine):
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server


    parent, child = transferred_to_penalty(app, api, engine)
    other = open_order(api, app, "柯桥汽车加气站", hazard="阀门锈蚀")["id"]
    link(app, parent, other)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
            page = chromium.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            sign_in_page(page, base, "keqiao_supervisor")  # password and second factor
            page.goto(f"{base}/cases/{parent}")
            page.wait_for_selector(f"#linked-diagram-{child}[data-rendered]")
            assert page.get_attribute(f"#linked-diagram-{child}", "data-rendered") == "true"
            assert page.locator(f"#linked-diagram-{child} .gf-current").count() >= 1  # the penalty's open step
            assert page.get_attribute(f"#linked-diagram-{other}", "data-rendered") is None  # drawn when shown
            assert not page.is_visible(f"#linked-diagram-{other}")
            page.click(f".linked-tab[data-target='linked-diagram-{other}']")
            page.wait_for_selector(f"#linked-diagram-{other}[data-rendered='true']")
            assert page.is_visible(f"#linked-diagram-{other}") and not page.is_visible(f"#linked-diagram-{child}")
            assert page.get_attribute("#diagram", "data-rendered") == "true"
            chromium.close()
            assert errors == []
    finally:
        server.shutdown()


def test_an_inspection_activity_names_its_checklist_template_not_its_id(demo_cases, browser):
    """The plan form's template_id (a number) sat beside the template's name under the same label:
    检查表模板 7, then 检查表模板 LPG 场站检查表."""
    from sqlalchemy import select

    with demo_cases.app_context():
        case = db.session.scalars(select(Case).where(Case.process_key == "inspection_activity")).first()
        assert case.data["template_id"] and case.data["template_name"]
        name, number = case.data["template_name"], case.data["template_id"]
    html = browser("keqiao_supervisor").client.get(f"/cases/{case.id}").data.decode()
    rows = re.findall(r"<dt>\s*检查表模板\s*</dt>\s*<dd>(.*?)</dd>", html, re.S)
    assert [r.strip() for r in rows] == [name], rows
    assert not re.search(rf"<dd>\s*{number}\s*</dd>", html)
