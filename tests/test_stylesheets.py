"""The platform's own stylesheets are whole: a block left open swallows every rule after it. A media query for
phones that was never closed held, for months, the rules of the control actions, notices, the diagram's path,
the cylinder timeline, the QR labels and printing, so none of them applied on a wide screen."""
import re
from pathlib import Path

import pytest

CSS = sorted((Path(__file__).resolve().parent.parent / "web" / "static" / "css").glob("*.css"))


def _depths(text: str):
    """The nesting depth at the end of each line, comments and strings left out."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", '""', text)
    depth = 0
    for number, line in enumerate(text.split("\n"), 1):
        depth += line.count("{") - line.count("}")
        yield number, depth


@pytest.mark.parametrize("sheet", CSS, ids=[p.name for p in CSS])
def test_every_block_of_the_stylesheet_is_closed(sheet):
    depths = list(_depths(sheet.read_text(encoding="utf-8")))
    assert all(depth >= 0 for _n, depth in depths), f"{sheet.name}: a '}}' closes nothing"
    last_closed = max(n for n, depth in depths if depth == 0)
    assert depths[-1][1] == 0, f"{sheet.name}: a block opened after line {last_closed} is never closed"


def test_the_check_finds_a_block_left_open():
    assert list(_depths("a { b: c; }\n@media (x) {\n  d { e: f; }\n"))[-1][1] == 1
    assert list(_depths('a { content: "{"; } /* } */\n'))[-1][1] == 0
