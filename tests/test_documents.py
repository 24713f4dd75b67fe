"""Official documents: the rectification notice when an order is issued, the penalty decision when it is
approved. Driven through the real lifecycles over the API; the PDFs are fetched over HTTP and read back
with poppler (pdftotext, pdftoppm, pdffonts), as a person opening them would see them."""
import re
import subprocess
import threading
import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from conftest import enterprise_id, future
from flows import complete, open_order
from penalty_versions import penalty_2025  # noqa: F401 (a fixture)
from PIL import Image
from sqlalchemy import func, select
from test_penalty import file_penalty, investigate_and_propose

pytestmark = [pytest.mark.documents,
              pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
                                 reason="poppler-utils (pdftotext, pdftoppm) not installed")]

ENTERPRISE = "柯桥区瓶装液化气供应有限公司"
HAZARD = "储瓶间可燃气体报警器失效，未设置防倾倒措施"


def this_year() -> int:
    return datetime.now(ZoneInfo("Asia/Shanghai")).year


def written(instant: str) -> str:
    """How a document writes an instant: Beijing time, 2026年12月3日09时05分."""
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local.year}年{local.month}月{local.day}日{local.hour:02d}时{local.minute:02d}分"



def pdfs(case: dict) -> list[dict]:
    return [a for a in case["attachments"] if a["content_type"] == "application/pdf"]


def fetch(client, att_id: int) -> bytes:
    """The PDF over HTTP, from the web page's link or the API (both are scoped to the case)."""
    resp = client.get(f"/attachments/{att_id}")
    assert resp.status_code == 200, resp.data[:300]
    assert resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF-")
    return resp.data


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout
    # Lines wrap wherever the page ends; compare without the breaks.
    return re.sub(r"\s+", "", out.decode())


def first_page_png(pdf: bytes, tmp_path) -> Image.Image:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True, capture_output=True)
    png = next(tmp_path.glob("page*.png"))
    return Image.open(BytesIO(png.read_bytes()))


def assert_not_blank(image: Image.Image) -> None:
    gray = image.convert("L")
    dark = sum(1 for v in gray.getdata() if v < 128)
    share = dark / (gray.width * gray.height)
    # Characters, not a stray dot: a page of text at 60 dpi is a few per cent ink.
    assert 0.005 < share < 0.5, share
    red = sum(1 for r, g, b in image.convert("RGB").getdata() if r > 150 and g < 80 and b < 80)
    assert red > 20  # the red line under the number


def assert_font_embedded(pdf: bytes, tmp_path) -> None:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()
    rows = out.splitlines()[2:]
    assert rows, out
    for row in rows:  # every font in the file is embedded (emb = yes), so no installed font is needed
        assert "NotoSerifCJKSC" in row and " yes yes yes " in row, out


def test_rectification_notice_is_attached_when_the_order_is_issued(app, api, browser, tmp_path):
    deadline = future(72)
    case = open_order(api, app, hazard=HAZARD, deadline=deadline)
    year = this_year()
    number = f"绍燃整〔{year}〕第0001号"
    [notice] = pdfs(case)
    assert notice["filename"] == f"整改通知书 {number}.pdf" and notice["task_id"] is None
    # The enterprise reads it from the case page, where its task is.
    staff = browser("kq_bottled_staff")
    page = staff.client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and f"/attachments/{notice['id']}".encode() in page.data
    pdf = fetch(staff.client, notice["id"])
    assert len(pdf) < 200_000  # the font is subset to the glyphs used, not the 2 MB bundled file

    text = pdf_text(pdf, tmp_path)
    for expected in ("责令限期整改通知书", number, ENTERPRISE + "：", HAZARD, "二类",
                     written(deadline) + "前整改完毕", "柯桥区燃气主管部门"):
        assert expected in text, (expected, text)
    assert_not_blank(first_page_png(pdf, tmp_path))
    assert_font_embedded(pdf, tmp_path)

    # The same file over the API, for the inspector who issued it.
    assert api("keqiao_inspector").get(f"/attachments/{notice['id']}").data == pdf


@pytest.mark.usefixtures("penalty_2025")  # cases of the first penalty model
def test_penalty_decision_is_attached_when_approved_not_before(app, api, tmp_path):
    case_id = file_penalty(api, app)
    inspector, supervisor, city = api("keqiao_inspector"), api("keqiao_supervisor"), api("admin")
    investigate_and_propose(api, case_id, amount=60000)
    county = complete(supervisor, case_id, "Task_county", {"decision": "approve"})
    # Above 50 000 yuan the city approves too: nothing is issued until it has.
    assert pdfs(county) == []
    approved = complete(city, case_id, "Task_city", {"decision": "approve"})
    number = f"绍燃罚〔{this_year()}〕第0001号"
    [decision] = pdfs(approved)
    assert decision["filename"] == f"行政处罚决定书 {number}.pdf"

    pdf = fetch(inspector, decision["id"])
    text = pdf_text(pdf, tmp_path)
    for expected in ("行政处罚决定书", number, "当事人：" + ENTERPRISE, "群众举报", "调取送气记录三份",
                     "《城镇燃气管理条例》第四十五条", "罚款，人民币60,000.00元", "申请行政复议", "提起行政诉讼",
                     "柯桥区燃气主管部门"):
        assert expected in text, (expected, text)
    assert_not_blank(first_page_png(pdf, tmp_path))
    assert_font_embedded(pdf, tmp_path)

    # Serving and carrying it out keep the one decision.
    complete(inspector, case_id, "Task_serve", {"document_no": number, "served_at": "2026-01-05T10:00:00+08:00"})
    done = complete(inspector, case_id, "Task_execute", {"outcome": "paid", "paid_amount": 60000})
    assert [a["id"] for a in pdfs(done)] == [decision["id"]]


@pytest.mark.usefixtures("penalty_2025")  # cases of the first penalty model
def test_numbers_count_per_kind_and_year(app, api, engine):
    from models import DocumentCounter, User
    from web.extensions import db

    year = this_year()
    first, second = open_order(api, app, hazard=HAZARD, hours=72), open_order(api, app, hazard=HAZARD, hours=72)
    assert pdfs(first)[0]["filename"].endswith(f"〔{year}〕第0001号.pdf")
    assert pdfs(second)[0]["filename"].endswith(f"〔{year}〕第0002号.pdf")
    # Penalties have their own count.
    case_id = file_penalty(api, app)
    investigate_and_propose(api, case_id, penalty_type="warning", amount=0)
    approved = complete(api("keqiao_supervisor"), case_id, "Task_county", {"decision": "approve"})
    assert pdfs(approved)[0]["filename"] == f"行政处罚决定书 绍燃罚〔{year}〕第0001号.pdf"

    # Half past midnight on New Year's Day in Shaoxing is still 16:30 UTC the day before: a new year's count.
    new_year = datetime(year, 12, 31, 16, 30, tzinfo=UTC)
    with app.app_context():
        inspector = db.session.scalar(select(User).where(User.username == "keqiao_inspector"))
        data = {"hazard_description": HAZARD, "hazard_class": "I",
                "deadline_at": (new_year + timedelta(days=7)).isoformat()}
        third = engine.start_case("rectification", data, inspector, enterprise_id=enterprise_id(app), now=new_year)
    case = api("keqiao_inspector").get(f"/cases/{third}").json
    assert pdfs(case)[0]["filename"] == f"整改通知书 绍燃整〔{year + 1}〕第0001号.pdf"
    with app.app_context():
        counters = {(c.kind, c.year): c.last for c in db.session.scalars(select(DocumentCounter))}
    assert counters == {("rectification_notice", year): 2, ("penalty_decision", year): 1,
                        ("rectification_notice", year + 1): 1}


def test_issuing_again_keeps_the_number(app, api, tmp_path):
    from models import Attachment, Case, DocumentCounter, IssuedDocument
    from web.extensions import db
    from workflows.services.documents.issue import issue_document

    case = open_order(api, app, hazard=HAZARD, hours=72)
    [notice] = pdfs(case)
    with app.app_context():
        row = db.session.get(Case, case["id"])
        row.data = {**row.data, "hazard_description": "报警器已拆除"}
        doc = issue_document(db.session, row, "rectification_notice", None, datetime.now(UTC))
        db.session.commit()
        assert doc.attachment_id == notice["id"]
        assert db.session.scalar(select(func.count()).select_from(IssuedDocument)) == 1
        assert db.session.scalar(select(func.count()).select_from(Attachment)
                                 .where(Attachment.case_id == case["id"])) == 1
        assert db.session.scalar(select(DocumentCounter.last)) == 1
    pdf = api("keqiao_inspector").get(f"/attachments/{notice['id']}").data
    text = pdf_text(pdf, tmp_path)
    assert f"绍燃整〔{this_year()}〕第0001号" in text and "报警器已拆除" in text and HAZARD not in text


def test_a_rolled_back_or_concurrent_issue_neither_skips_nor_repeats_a_number(app):
    from sqlalchemy.orm import Session

    from web.extensions import db
    from workflows.services.documents.numbering import next_serial

    with app.app_context():
        bind = db.engine
        with Session(bind) as s:
            assert next_serial(s, "test_kind", 2030) == 1
            s.rollback()  # the transition failed: its number is given back
        with Session(bind) as s:
            assert next_serial(s, "test_kind", 2030) == 1
            s.commit()

        taken, errors = [], []

        def issuer():
            try:
                for _ in range(5):
                    with Session(bind) as s:
                        serial = next_serial(s, "test_kind", 2030)
                        s.commit()
                    taken.append(serial)
            except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=issuer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert sorted(taken) == list(range(2, 22))


def _issue_in_a_transition(bind, case_id: int, kind: str, statements: list | None = None):
    """``kind`` issued for the case in a transaction of its own that first locks the case, as a
    transition does; returns (serial, number, fields)."""
    from sqlalchemy import event, update
    from sqlalchemy.orm import Session

    from models import Case
    from workflows.services.documents.issue import issue_document

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with Session(bind) as s:
        s.execute(update(Case).where(Case.id == case_id).values(revision=Case.revision + 1))
        case = s.get(Case, case_id)
        if statements is not None:
            event.listen(bind, "before_cursor_execute", note)
        try:
            doc = issue_document(s, case, kind, None, datetime.now(UTC))
        finally:
            if statements is not None:
                event.remove(bind, "before_cursor_execute", note)
        found = (doc.serial, doc.number, doc.fields)
        s.commit()
    return found


def test_documents_issued_at_once_by_several_transitions_get_distinct_numbers(app, api):
    """Four transitions issuing at the same time queue on the counter: no number twice, none skipped."""
    from models import DocumentCounter, IssuedDocument
    from web.extensions import db

    cases = [open_order(api, app, hazard=HAZARD, hours=72)["id"] for _ in range(8)]
    with app.app_context():
        bind = db.engine
    taken, errors = [], []

    def issuer(chunk):
        try:
            for case_id in chunk:
                taken.append(_issue_in_a_transition(bind, case_id, "rectification_review")[:2])
        except Exception as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=issuer, args=(cases[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    year = this_year()
    assert sorted(taken) == [(n, f"绍燃复〔{year}〕第{n:04d}号") for n in range(1, 9)]
    with app.app_context():
        assert db.session.scalar(select(DocumentCounter.last).where(DocumentCounter.kind == "rectification_review")) \
            == 8
        stored = db.session.execute(select(IssuedDocument.case_id, IssuedDocument.serial)
                                    .where(IssuedDocument.kind == "rectification_review")).all()
    assert sorted(case_id for case_id, _ in stored) == sorted(cases) and len({n for _, n in stored}) == 8


def test_issuing_a_document_reads_once_and_writes_once(app, api):
    """The enterprise, the issuing authority's names and the case's documents come in one read; on
    PostgreSQL the number is taken in that statement too (SQLite allows no INSERT in a WITH clause)."""
    from web.extensions import db

    case = open_order(api, app, hazard=HAZARD, hours=72)
    with app.app_context():
        bind = db.engine
    seen: list[str] = []
    serial, number, fields = _issue_in_a_transition(bind, case["id"], "rectification_review", seen)
    assert serial == 1 and number == f"绍燃复〔{this_year()}〕第0001号"
    # What the ORM read in four statements before: the same names, the notice the review quotes.
    assert fields["authority"] == "绍兴市柯桥区燃气主管部门" and fields["enterprise"] == ENTERPRISE
    assert fields["review_body"] == "绍兴市柯桥区人民政府"
    assert fields["notice_number"] == pdfs(case)[0]["filename"].removeprefix("整改通知书 ").removesuffix(".pdf")
    assert len([s for s in seen if "INSERT INTO issued_documents" in s]) == 1, seen
    assert len(seen) == (2 if bind.dialect.name == "postgresql" else 3), seen


def test_documents_are_out_of_scope_for_other_counties_and_enterprises(app, api, browser):
    case = open_order(api, app, hazard=HAZARD, hours=72)
    att = pdfs(case)[0]["id"]
    for username in ("yuecheng_inspector", "yc_pipeline_staff"):
        assert api(username).get(f"/attachments/{att}").status_code == 404
        assert browser(username).client.get(f"/attachments/{att}").status_code == 404
    for username in ("admin", "keqiao_supervisor", "kq_bottled_admin"):
        assert api(username).get(f"/attachments/{att}").status_code == 200
    # Another enterprise of the same county does not see this one's notice.
    other = pdfs(open_order(api, app, "柯桥天然气有限公司", hazard=HAZARD, hours=72))[0]["id"]
    assert api("kq_bottled_staff").get(f"/attachments/{other}").status_code == 404
    assert browser("kq_bottled_staff").client.get(f"/attachments/{other}").status_code == 404
    assert api("keqiao_inspector2").get(f"/attachments/{other}").status_code == 200


def queue_rendering(app, redis_url: str) -> str:
    """Switch the app to production's way: PDFs are rendered by RQ workers after the commit, on a queue
    of this test's own. Returns the queue's name."""
    from web.background.queueing import configure_documents

    name = f"gasflow-test-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=redis_url, DOCUMENTS_RENDER="queue", QUEUE_NAME=name)
    configure_documents(app)
    return name


@pytest.mark.slow
def test_on_a_queue_the_step_commits_at_once_and_a_worker_renders_the_pdf(app, api, database_url, redis,
                                                                         tmp_path):
    from conftest import REDIS_URL
    from rq import Queue
    from test_faults import kill, start_worker

    queue = queue_rendering(app, REDIS_URL)
    case = open_order(api, app, hazard=HAZARD, hours=72)
    number = f"绍燃整〔{this_year()}〕第0001号"
    # Numbered and worded in the step; no PDF yet, and the case page says it is coming.
    assert pdfs(case) == []
    assert case["documents"] == [{"kind": "rectification_notice", "title": "整改通知书", "number": number,
                                  "issued_at": case["documents"][0]["issued_at"], "status": "pending",
                                  "attachment_id": None}]

    # The case goes on before any worker ran.
    (respond,) = [t for t in api("kq_bottled_staff").get(f"/cases/{case['id']}").json["tasks"]]
    done = api("kq_bottled_staff").post(f"/tasks/{respond['id']}/complete", {"data": {"response": "已更换报警器"}})
    assert done.status_code == 200, done.json

    assert Queue(queue, connection=redis).count == 1  # the rendering, waiting for a worker
    worker = start_worker(database_url, tmp_path / "worker.log", "--burst", queue=queue)
    try:
        assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
    finally:
        kill(worker)
        Queue(queue, connection=redis).delete(delete_jobs=True)
    after = api("keqiao_inspector").get(f"/cases/{case['id']}").json
    [notice] = pdfs(after)
    assert notice["filename"] == f"整改通知书 {number}.pdf"
    assert after["documents"][0]["status"] == "ready" and after["documents"][0]["attachment_id"] == notice["id"]
    text = pdf_text(fetch(api("keqiao_inspector"), notice["id"]), tmp_path)
    assert number in text and HAZARD in text


@pytest.mark.slow
def test_commits_waiting_for_a_worker_share_one_rendering_job_and_the_next_commit_queues_the_next(
        app, api, database_url, redis, tmp_path):
    from conftest import REDIS_URL
    from rq import Queue
    from test_faults import kill, start_worker

    queue = queue_rendering(app, REDIS_URL)
    waiting = Queue(queue, connection=redis)

    def work_off():
        worker = start_worker(database_url, tmp_path / "worker.log", "--burst", queue=queue)
        try:
            assert worker.wait(timeout=120) == 0, (tmp_path / "worker.log").read_text()
        finally:
            kill(worker)

    try:
        first, second = (open_order(api, app, hazard=HAZARD, hours=72) for _ in range(2))
        assert waiting.count == 1  # the second commit found a job already waiting
        work_off()
        inspector = api("keqiao_inspector")
        for case in (first, second):
            assert [d["status"] for d in inspector.get(f"/cases/{case['id']}").json["documents"]] == ["ready"]
        third = open_order(api, app, hazard=HAZARD, hours=72)
        assert waiting.count == 1  # the job that ran cleared its mark: this commit queued the next
        work_off()
        assert [d["status"] for d in inspector.get(f"/cases/{third['id']}").json["documents"]] == ["ready"]
    finally:
        waiting.delete(delete_jobs=True)


def test_a_queue_that_is_down_loses_no_document_the_periodic_round_renders_it(app, api, browser, tmp_path):
    from web.background.schedule import run_all as periodic

    queue_rendering(app, "redis://127.0.0.1:1/0")  # nothing listens there
    case = open_order(api, app, hazard=HAZARD, hours=72)
    assert pdfs(case) == [] and case["documents"][0]["status"] == "pending"
    page = browser("kq_bottled_staff").client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and "整改通知书".encode() in page.data and b"pending-document" in page.data

    assert periodic(app)["documents"] == 1
    assert periodic(app)["documents"] == 0  # rendered once, not again
    after = api("keqiao_inspector").get(f"/cases/{case['id']}").json
    [notice] = pdfs(after)
    assert after["documents"][0]["status"] == "ready"
    assert HAZARD in pdf_text(fetch(api("keqiao_inspector"), notice["id"]), tmp_path)
    page = browser("kq_bottled_staff").client.get(f"/cases/{case['id']}")
    assert b"pending-document" not in page.data and f"/attachments/{notice['id']}".encode() in page.data


def test_a_document_that_cannot_be_rendered_holds_up_no_other(app, api, tmp_path):
    from models import IssuedDocument
    from web.background.schedule import run_all as periodic
    from web.extensions import db

    queue_rendering(app, "redis://127.0.0.1:1/0")  # nothing listens: both wait for the periodic round
    broken, good = open_order(api, app, hazard=HAZARD, hours=72), open_order(api, app, hazard=HAZARD, hours=72)
    with app.app_context():
        doc = db.session.scalar(select(IssuedDocument).where(IssuedDocument.case_id == broken["id"]))
        doc.fields = {"number": doc.number}  # its wording lost: the template's placeholders cannot be filled
        db.session.commit()
    with pytest.raises(RuntimeError, match="documents not rendered"):
        periodic(app)
    inspector = api("keqiao_inspector")
    assert inspector.get(f"/cases/{broken['id']}").json["documents"][0]["status"] == "pending"
    after = inspector.get(f"/cases/{good['id']}").json
    assert after["documents"][0]["status"] == "ready"
    assert HAZARD in pdf_text(fetch(inspector, pdfs(after)[0]["id"]), tmp_path)


def test_documents_of_a_rolled_back_transaction_are_not_sent_to_be_rendered(app):
    """A request's work rolled back (a 5xx, an audit entry refused) takes its documents with it: the session's
    next commit (the refused request's own entry) sends only what that commit kept to the renderer."""
    from sqlalchemy import text

    from web.background.queueing import configure_documents
    from web.extensions import db
    from workflows.services.documents.dispatch import dispatch_with, to_render

    sent: list[int] = []
    with app.app_context():
        dispatch_with(db.engine, sent.extend)
        try:
            s = db.session()
            s.execute(text("SELECT 1"))
            to_render(s, 12345)
            s.rollback()
            s.execute(text("SELECT 1"))
            to_render(s, 67890)
            s.commit()
        finally:
            configure_documents(app)
    assert sent == [67890]


def test_the_documents_of_a_case_are_told_apart_by_occurrence_after_migration_0034(tmp_path):
    """Migration 0034: a case's document keeps its row (occurrence 0), a repeatable kind may then hold several per
    case, and a downgrade refuses to drop any of them (a served notice is not thrown away)."""
    from alembic import command
    from casemix import new_database
    from sqlalchemy import create_engine, exc, text

    from web.database import alembic_config, upgrade

    with new_database(tmp_path) as url:
        upgrade(url, "0033")
        engine = create_engine(url)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO process_models (id, key, version, name, checksum, bpmn_xml, spec, meta, "
                              "created_at) VALUES (1, 'penalty', 1, 'p', 'c', '', '{}', '{}', :now)"), {"now": now})
            conn.execute(text("INSERT INTO cases (id, process_model_id, process_key, status, title, data, state, "
                              "revision, created_at) VALUES (1, 1, 'penalty', 'active', 't', '{}', '{}', 0, :now)"),
                         {"now": now})
            conn.execute(text("INSERT INTO issued_documents (case_id, kind, year, serial, number, issued_at) "
                              "VALUES (1, 'hearing_notice', 2026, 1, 'n1', :now)"), {"now": now})
        upgrade(url)

        def insert(conn, serial, occurrence):
            conn.execute(text("INSERT INTO issued_documents (case_id, kind, occurrence, year, serial, number, "
                              "issued_at) VALUES (1, 'hearing_postponement', :o, 2026, :s, :n, :now)"),
                         {"o": occurrence, "s": serial, "n": f"p{serial}", "now": now})

        with engine.begin() as conn:
            assert conn.scalar(text("SELECT occurrence FROM issued_documents WHERE kind = 'hearing_notice'")) == 0
            insert(conn, 1, 1)
            insert(conn, 2, 2)
        with pytest.raises(exc.IntegrityError), engine.begin() as conn:  # the same occurrence twice: still one
            insert(conn, 3, 2)
        with pytest.raises(RuntimeError, match="cannot go below revision 0034"):
            command.downgrade(alembic_config(url), "0033")
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT count(*) FROM issued_documents")) == 3  # nothing lost
            conn.execute(text("DELETE FROM issued_documents WHERE occurrence = 2"))
        command.downgrade(alembic_config(url), "0033")
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT count(*) FROM issued_documents")) == 2
        with pytest.raises(exc.IntegrityError), engine.begin() as conn:  # one per case and kind again
            conn.execute(text("INSERT INTO issued_documents (case_id, kind, year, serial, number, issued_at) "
                              "VALUES (1, 'hearing_notice', 2026, 9, 'n9', :now)"), {"now": now})
        engine.dispose()
