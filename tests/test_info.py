"""Industry information (A6) through HTTP: the authority writes and publishes, the public reads without
signing in; drafts and withdrawn items are not there for the public; files are checked and scoped."""
import io
import re
from datetime import date, timedelta

from conftest import csrf_of
from sqlalchemy import func, select

PDF = b"%PDF-1.4\n% gasflow test\n" + b"0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def new_item(browser, title="关于开展燃气安全检查的通知", body="请各企业做好自查。", category="announcement",
             files=None, **extra):
    data = {"category": category, "title": title, "body": body, "doc_number": "", **extra}
    if files is not None:
        data["files"] = files
    return browser.form_post("/info/manage/new", data)


def item_id_of(resp) -> int:
    assert resp.status_code == 302, resp.data[:800]
    return int(re.search(r"/info/manage/(\d+)$", resp.headers["Location"]).group(1))


def act(browser, item_id, action):
    return browser.form_post(f"/info/manage/{item_id}/{action}", {}, page_path=f"/info/manage/{item_id}")


def rows(app, model):
    from web.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_draft_published_withdrawn_and_what_the_public_sees(app, browser):
    from models import InfoItem

    admin, public = browser("admin"), app.test_client()
    resp = new_item(admin, title="绍兴市燃气经营许可管理办法", category="policy", doc_number="绍市建〔2026〕3号",
                    body="第一条 <script>alert(1)</script> 为规范燃气经营许可。\n\n第二条 本办法自发布之日起施行。",
                    files=[(io.BytesIO(PDF), "办法全文.pdf")])
    item_id = item_id_of(resp)
    att_id = int(re.search(rb'/info/manage/%d/files/(\d+)' % item_id, admin.client.get(f"/info/manage/{item_id}")
                           .data).group(1))

    # A draft: nowhere on the public site, not even by its id or its file's address.
    assert item_id not in listed(public.get("/info/"))
    assert public.get(f"/info/{item_id}").status_code == 404
    assert public.get(f"/info/{item_id}/files/{att_id}").status_code == 404
    # The editor previews it and its file.
    preview = admin.client.get(f"/info/manage/{item_id}")
    assert preview.status_code == 200 and b'class="status-draft" id="item-status"' in preview.data
    assert admin.client.get(f"/info/manage/{item_id}/files/{att_id}").data == PDF

    assert act(admin, item_id, "publish").status_code == 302
    assert item_id in listed(public.get("/info/"))
    page = public.get(f"/info/{item_id}")
    assert page.status_code == 200
    # The body is text: markup in it is shown, escaped, never run.
    assert b"<script>alert(1)</script>" not in page.data and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.data
    assert "绍市建〔2026〕3号".encode() in page.data
    public.get(f"/info/{item_id}")
    file = public.get(f"/info/{item_id}/files/{att_id}")
    assert file.status_code == 200 and file.data == PDF and file.mimetype == "application/pdf"
    assert file.headers["Content-Disposition"].startswith("attachment;")
    # Each public view counts; the editor's preview does not.
    admin.client.get(f"/info/manage/{item_id}")
    with app.app_context():
        from web.extensions import db

        assert db.session.get(InfoItem, item_id).view_count == 2
    # A published item is not edited in place, and is not published twice.
    assert admin.client.get(f"/info/manage/{item_id}/edit").status_code == 409
    assert act(admin, item_id, "publish").status_code == 409
    assert act(admin, item_id, "delete").status_code == 409

    assert act(admin, item_id, "withdraw").status_code == 302
    assert item_id not in listed(public.get("/info/"))
    assert public.get(f"/info/{item_id}").status_code == 404
    assert public.get(f"/info/{item_id}/files/{att_id}").status_code == 404
    # Kept, with its views, for the authority.
    manage = admin.client.get("/info/manage/?status=withdrawn")
    assert f'data-item="{item_id}" data-status="withdrawn"'.encode() in manage.data
    with app.app_context():
        from web.extensions import db

        kept = db.session.get(InfoItem, item_id)
        assert kept.status == "withdrawn" and kept.view_count == 2 and kept.withdrawn_at and kept.published_at

    # Revised as a draft, corrected, published again.
    assert act(admin, item_id, "revise").status_code == 302
    edit = admin.form_post(f"/info/manage/{item_id}/edit", {
        "category": "policy", "title": "绍兴市燃气经营许可管理办法（修订）", "body": "修订后的正文", "county_id": "0",
        "remove_files": str(att_id)})
    assert edit.status_code == 302, edit.data[:800]
    assert act(admin, item_id, "publish").status_code == 302
    page = public.get(f"/info/{item_id}")
    assert "（修订）".encode() in page.data and "修订后的正文".encode() in page.data
    assert public.get(f"/info/{item_id}/files/{att_id}").status_code == 404  # the removed file is gone


def total(resp) -> int:
    return int(re.search(rb'id="info-total">\D*(\d+)', resp.data).group(1))


def listed(resp) -> set[int]:
    assert resp.status_code == 200
    return {int(i) for i in re.findall(rb'data-item="(\d+)"', resp.data)}


def test_attachments_are_checked_for_type_and_size_and_belong_to_their_item(app, browser):
    from models import InfoAttachment, InfoItem

    admin, public = browser("admin"), app.test_client()
    before = rows(app, InfoItem), rows(app, InfoAttachment)

    exe = new_item(admin, files=[(io.BytesIO(b"MZ\x90\x00"), "setup.exe")])
    assert exe.status_code == 422 and b"setup.exe" in exe.data
    assert b'id="field-files"' in exe.data and b'class="errors"' in exe.data
    # A PNG called .pdf is refused: the stored type is never the one a browser claims.
    disguised = new_item(admin, files=[(io.BytesIO(PNG), "notice.pdf")])
    assert disguised.status_code == 422 and b"notice.pdf" in disguised.data
    big = new_item(admin, files=[(io.BytesIO(b"%PDF-" + b"0" * (10 * 1024 * 1024)), "big.pdf")])
    assert big.status_code == 413 and b"big.pdf" in big.data
    # One bad file among good ones: nothing is written, neither the item nor the good file.
    mixed = new_item(admin, files=[(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"x"), "bad.txt")])
    assert mixed.status_code == 422
    assert (rows(app, InfoItem), rows(app, InfoAttachment)) == before

    first = item_id_of(new_item(admin, title="甲", files=[(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PNG), "b.png")]))
    second = item_id_of(new_item(admin, title="乙", files=[(io.BytesIO(PDF), "c.pdf")]))
    for item_id in (first, second):
        act(admin, item_id, "publish")
    files = {name: int(i) for i, name in re.findall(rb'/files/(\d+)">([^<]+)</a>', public.get(f"/info/{first}").data)}
    assert set(files) == {b"a.pdf", b"b.png"}
    png = public.get(f"/info/{first}/files/{files[b'b.png']}")
    assert png.status_code == 200 and png.data == PNG and png.mimetype == "image/png"
    other = int(re.search(rb'/files/(\d+)"', public.get(f"/info/{second}").data).group(1))
    # The second item's file through the first item's address: not found.
    assert public.get(f"/info/{first}/files/{other}").status_code == 404
    assert admin.client.get(f"/info/manage/{first}/files/{other}").status_code == 404
    assert public.get(f"/info/{first}/files/99999").status_code == 404


def test_search_pagination_and_counts(app, browser):
    admin, public = browser("admin"), app.test_client()
    ids = {}
    for n in range(22):
        title = f"燃气安全公告 第{n:02d}号" if n != 7 else "液化石油气钢瓶检验规定"
        body = "居民用气安全提示" if n != 3 else "餐饮场所须安装可燃气体报警器"
        category = "policy" if n in (7, 8) else "announcement"
        ids[n] = item_id_of(new_item(admin, title=title, body=body, category=category))
        if n != 21:  # one stays a draft
            assert act(admin, ids[n], "publish").status_code == 302

    first = public.get("/info/")
    assert len(listed(first)) == 20 and b'id="next-page"' in first.data and total(first) == 21
    second = public.get("/info/?page=2")
    assert listed(second) | listed(first) == {ids[n] for n in range(21)}
    assert not listed(second) & listed(first)

    assert listed(public.get("/info/?q=钢瓶检验")) == {ids[7]}  # title
    assert listed(public.get("/info/?q=报警器")) == {ids[3]}  # body
    assert listed(public.get("/info/?q=100%")) == set()  # LIKE wildcards are matched literally
    assert listed(public.get("/info/?category=policy")) == {ids[7], ids[8]}
    assert listed(public.get("/info/?category=policy&q=钢瓶")) == {ids[7]}
    today, tomorrow = date.today(), date.today() + timedelta(days=1)
    assert total(public.get(f"/info/?date_from={today - timedelta(days=1)}&q=第")) == 20
    assert listed(public.get(f"/info/?date_from={tomorrow + timedelta(days=1)}")) == set()
    assert listed(public.get(f"/info/?date_to={today - timedelta(days=2)}")) == set()
    bad = public.get("/info/?date_from=2026-13-45")
    assert bad.status_code == 400 and b'id="search-errors"' in bad.data
    reversed_range = public.get(f"/info/?date_from={today}&date_to={today - timedelta(days=3)}")
    assert reversed_range.status_code == 400
    assert public.get("/info/?category=rumours").status_code == 400

    for _ in range(3):
        public.get(f"/info/{ids[8]}")
    counts = admin.client.get("/info/manage/").data
    row = re.search(rb'<tr data-category="announcement">(.*?)</tr>', counts, re.S).group(1)
    assert re.findall(rb'data-status="(\w+)">(\d+)<', row) == [(b"draft", b"1"), (b"published", b"19"),
                                                               (b"withdrawn", b"0")]
    policy = re.search(rb'<tr data-category="policy">(.*?)</tr>', counts, re.S).group(1)
    assert re.search(rb"data-views>(\d+)<", policy).group(1) == b"3"


def test_who_may_write_and_what_each_editor_sees(app, browser):
    from models import InfoItem, Region

    before = rows(app, InfoItem)
    for username in ("kq_bottled_admin", "kq_bottled_staff", "keqiao_inspector"):
        user = browser(username)
        assert user.client.get("/info/manage/").status_code == 403
        assert user.client.get("/info/manage/new").status_code == 403
        token = csrf_of(user.client.get("/info/").data)
        resp = user.client.post("/info/manage/new", data={"csrf_token": token, "category": "announcement",
                                                          "title": "企业自行发布", "body": "x"})
        assert resp.status_code == 403
        # The public site is theirs to read, signed in or not.
        assert user.client.get("/info/").status_code == 200
    assert rows(app, InfoItem) == before

    admin, supervisor = browser("admin"), browser("keqiao_supervisor")
    city = item_id_of(new_item(admin, title="市级公告"))
    with app.app_context():
        from web.extensions import db

        yuecheng = db.session.scalar(select(Region.id).where(Region.code == "330602"))
        keqiao = db.session.scalar(select(Region.id).where(Region.code == "330603"))
    # A county supervisor writes for his own county, whatever county the request names.
    county = item_id_of(new_item(supervisor, title="柯桥区公告", county_id=str(yuecheng)))
    with app.app_context():
        from web.extensions import db

        assert db.session.get(InfoItem, county).county_id == keqiao
        assert db.session.get(InfoItem, city).county_id is None
    assert supervisor.client.get(f"/info/manage/{city}").status_code == 404
    assert act(supervisor, county, "publish").status_code == 302
    token = csrf_of(supervisor.client.get("/info/manage/").data)
    assert supervisor.client.post(f"/info/manage/{city}/publish", data={"csrf_token": token}).status_code == 404
    assert listed(supervisor.client.get("/info/manage/")) == {county}
    assert listed(admin.client.get("/info/manage/")) == {city, county}
    # The city admin files an item under a county if he chooses.
    filed = item_id_of(new_item(admin, title="越城区通知", county_id=str(yuecheng)))
    with app.app_context():
        from web.extensions import db

        assert db.session.get(InfoItem, filed).county_id == yuecheng
    # Published by the county, readable by anyone.
    assert "柯桥区公告".encode() in app.test_client().get(f"/info/{county}").data


def test_bad_input_reshows_the_form_and_writes_nothing(app, browser):
    from models import InfoItem

    admin = browser("admin")
    before = rows(app, InfoItem)
    empty = new_item(admin, title="  ", body="")
    assert empty.status_code == 422 and b'id="field-title"' in empty.data and b'class="errors"' in empty.data
    long_title = new_item(admin, title="长" * 201)
    assert long_title.status_code == 422
    wrong = new_item(admin, category="gossip")
    assert wrong.status_code == 422 and b'id="field-category"' in wrong.data
    county = new_item(admin, county_id="abc")
    assert county.status_code == 422
    no_csrf = admin.client.post("/info/manage/new", data={"category": "policy", "title": "t", "body": "b"})
    assert no_csrf.status_code == 400
    assert rows(app, InfoItem) == before
    # Unknown actions and ids are 404, not errors.
    item_id = item_id_of(new_item(admin))
    assert act(admin, item_id, "explode").status_code == 404
    assert admin.client.get("/info/manage/99999").status_code == 404
    assert app.test_client().get("/info/99999999999").status_code == 404


def test_a_draft_never_published_may_be_deleted(app, browser):
    from models import InfoAttachment, InfoItem

    admin = browser("admin")
    before = rows(app, InfoItem), rows(app, InfoAttachment)
    item_id = item_id_of(new_item(admin, files=[(io.BytesIO(PDF), "a.pdf")]))
    assert act(admin, item_id, "delete").status_code == 302
    assert admin.client.get(f"/info/manage/{item_id}").status_code == 404
    assert (rows(app, InfoItem), rows(app, InfoAttachment)) == before


def test_demo_publishes_policies_and_an_announcement(app, api):
    from web.demo.cases import seed_demo_cases
    from web.extensions import case_engine, db

    with app.app_context():
        assert seed_demo_cases(case_engine(app), db.session) is True
    public = app.test_client()
    assert total(public.get("/info/?category=policy")) == 2
    assert total(public.get("/info/?category=announcement")) == 1
    page = public.get(f"/info/{min(listed(public.get('/info/')))}")
    assert page.status_code == 200
