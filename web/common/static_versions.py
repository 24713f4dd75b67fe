"""Static files named with their content's fingerprint (``?v=``), so a browser keeps them for a year and
asks again only when a release changes them. Without it a phone in the field asked for app.css and app.js
again on every page (a 304 each, a round trip on a slow network). A request without the current
fingerprint (a file a stylesheet names by a relative path, an old page) is answered as before."""
import hashlib
import os
import stat as stat_kind

from flask import Flask, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600


def register(app: Flask) -> None:
    known: dict[str, tuple[tuple[int, int], str]] = {}

    def fingerprint(filename: str) -> str | None:
        # The name may come from a request (``/static/<path>?v=``): only a regular file inside the
        # static folder is read, never ``../`` out of it nor a device that never ends (/dev/zero).
        path = safe_join(app.static_folder, filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat_kind.S_ISREG(stat.st_mode):
            return None
        seen = (stat.st_mtime_ns, stat.st_size)
        if filename not in known or known[filename][0] != seen:
            with open(path, "rb") as f:
                known[filename] = (seen, hashlib.sha256(f.read()).hexdigest()[:12])
        return known[filename][1]

    @app.url_defaults
    def _fingerprinted(endpoint, values):
        if endpoint == "static" and "v" not in values and "filename" in values:
            found = fingerprint(values["filename"])
            if found:
                values["v"] = found

    default_max_age = app.get_send_file_max_age

    def max_age(filename):
        # Only the static files' own route: an attachment or export sent with send_file keeps the default.
        if (filename and request.endpoint == "static" and request.args.get("v")
                and request.args["v"] == fingerprint(filename)):
            return YEAR
        return default_max_age(filename)

    app.get_send_file_max_age = max_age
