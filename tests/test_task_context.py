"""Every task page and API task shows what it decides on (issue 13, item 1): the task's declared context,
labelled and formatted for people, above the form; an enterprise sees only what is addressed to it."""
import io
import re
from html import unescape

from conftest import enterprise_id
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

