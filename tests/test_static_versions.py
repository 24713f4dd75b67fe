"""Static files carry their content's fingerprint in their URL and are kept by the browser for a year;
without the current fingerprint they are answered as before (asked for again on each page)."""
import re

import pytest


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


@pytest.mark.parametrize("path", ["/static/../../../../../../../../etc/hostname?v=000000000000",
                                  "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/dev/zero?v=000000000000",
                                  "/static/../../../../../../../../dev/zero?v=000000000000",
                                  "/static/css?v=000000000000", "/static/css/app%00.css?v=000000000000"])
def test_a_name_out_of_the_static_folder_is_never_read(app, monkeypatch, path):
    """The fingerprint of a requested name is worked out from the file's content: a name leading out of
    the folder (a file of the server's, or /dev/zero, which would be read for ever) is not opened."""
    import builtins

    opened, real_open = [], builtins.open

    def spy(name, *args, **kwargs):
        opened.append(str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    answer = app.test_client().get(path)
    assert answer.status_code in (400, 404)
    assert not [name for name in opened if "etc" in name or "dev" in name or name.endswith("css")], opened
