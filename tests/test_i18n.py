"""The Chinese catalog covers every string of the UI, and the committed .mo is compiled from the .po.

After adding or changing a msgid:
    pybabel extract -F babel.cfg -k _l -o messages.pot .
    pybabel update -i messages.pot -d web/translations
    (translate the new entries in web/translations/zh/LC_MESSAGES/messages.po)
    pybabel compile -d web/translations
"""
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "web" / "translations" / "zh" / "LC_MESSAGES"
PO, MO = LC / "messages.po", LC / "messages.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]")


def _read_po():
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def _strings(message) -> tuple:
    """msgstr as a tuple; plural entries have several."""
    value = message.string
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _ids(message) -> tuple:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the sources now, extracted exactly as the update instructions above do."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
                                "-o", str(pot), str(ROOT)])
    with pot.open("rb") as f:
        return [m for m in read_po(f) if m.id]


def test_extraction_finds_the_ui(extracted):
    ids = {m.id for m in extracted}
    # One from each kind of source, so a broken babel.cfg cannot pass by extracting nothing.
    assert {"Username", "Wrong username or password.", "Sign in"} <= ids


def test_every_message_has_a_chinese_translation(extracted):
    catalog = _read_po()
    missing, fuzzy = [], []
    for m in extracted:
        entry = catalog.get(m.id, m.context)
        if entry is None or not all(s and s.strip() for s in _strings(entry)):
            missing.append(m.id)
        elif entry.fuzzy:
            fuzzy.append(m.id)
    assert not missing, f"untranslated in {PO.relative_to(ROOT)}: {missing}"
    assert not fuzzy, f"fuzzy (check, then remove the flag): {fuzzy}"


def test_translations_keep_the_placeholders():
    for m in _read_po():
        if not m.id:
            continue
        wanted = sorted(PLACEHOLDER.findall(_ids(m)[-1]))
        for s in _strings(m):
            assert sorted(PLACEHOLDER.findall(s)) == wanted, (m.id, s)


def test_mo_is_compiled_from_po():
    catalog = _read_po()
    with MO.open("rb") as f:
        compiled = read_mo(f)
    po = {(_ids(m), m.context): _strings(m) for m in catalog if m.id and not m.fuzzy}
    mo = {(_ids(m), m.context): _strings(m) for m in compiled if m.id}
    assert mo == po, "run: pybabel compile -d web/translations"
