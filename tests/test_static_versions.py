"""Static files carry their content's fingerprint in their URL and are kept by the browser for a year;
without the current fingerprint they are answered as before (asked for again on each page)."""
import re


def test_pages_name_static_files_by_fingerprint_and_those_are_kept_a_year(app, browser):
    page = browser("keqiao_inspector").client.get("/")
    assert page.status_code == 200
    found = re.search(rb'/static/css/app\.css\?v=([0-9a-f]{12})"', page.data)
    assert found, "the page names app.css without its fingerprint"
    client = app.test_client()

    kept = client.get(f"/static/css/app.css?v={found.group(1).decode()}")
    assert kept.status_code == 200
    assert "max-age=31536000" in kept.headers["Cache-Control"]

    for stale in ("/static/css/app.css", "/static/css/app.css?v=000000000000"):
        answer = client.get(stale)
        assert answer.status_code == 200 and answer.data == kept.data
        assert "max-age=31536000" not in answer.headers.get("Cache-Control", ""), stale


def test_a_changed_file_gets_a_new_fingerprint(app):
    import os
    import uuid

    name = f"gasflow-test-{uuid.uuid4().hex}.txt"  # two runs of the suite may share the checkout
    target = os.path.join(app.static_folder, name)
    try:
        with open(target, "w") as f:
            f.write("one")
        with app.test_request_context("/"):
            from flask import url_for

            first = url_for("static", filename=name)
            with open(target, "w") as f:
                f.write("two, longer")
            second = url_for("static", filename=name)
        assert first != second and "?v=" in first and "?v=" in second
    finally:
        os.remove(target)
