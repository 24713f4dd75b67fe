"""What must not reach a person on a Chinese page, as one detector the test-client walk and the browser walk share.

``visible_text(html)`` is what a reader sees: the text of the page without its scripts, styles and templates,
plus the visible attributes (placeholder, title, alt, aria-label) and the values of visible inputs.
``leaks(text)`` names every internal value found in it: a Python repr, a BPMN element id, a process,
data-kind or field key (any snake_case token), an English process name, True/False/None, or money
formatted as a float.

Only genuine non-prose is exempt, and only where the page marks it: an element with the attribute
``data-verbatim`` (for example a username the admin signs in with, an API key prefix to copy). Each use
in a template carries a comment saying why.
"""
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
         "wbr"}
_HIDDEN = {"script", "style", "template", "noscript", "svg", "head"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden-or-verbatim)

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in _HIDDEN or "data-verbatim" in attrs or "hidden" in attrs
        if not skip and not self._skipping():
            for name in ("placeholder", "title", "alt", "aria-label"):
                if attrs.get(name):
                    self.parts.append(attrs[name])
            unseen_value = ("hidden", "password", "file", "radio", "checkbox")
            if tag == "input" and attrs.get("type") not in unseen_value and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in _VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    parser = _Text()
    parser.feed(html)
    parser.close()
    return unescape("\n".join(parser.parts))


def _english_process_names() -> set[str]:
    """The English halves of the shipped models' names ("整改 Rectification" → "Rectification")."""
    names = set()
    for path in BPMN_DIR.glob("*.bpmn"):
        for name in re.findall(r'<bpmn:process [^>]*name="([^"]*)"', path.read_text("utf-8")):
            english = re.sub(r"[^\x00-\x7f]+", " ", name).strip()
            if english:
                names.add(english)
    return names


def _process_keys() -> set[str]:
    keys = set()
    for path in BPMN_DIR.glob("*.bpmn"):
        keys.update(re.findall(r'<bpmn:process id="([^"]*)"', path.read_text("utf-8")))
    return keys


ENGLISH_PROCESS_NAMES = _english_process_names()
PROCESS_KEYS = _process_keys()

CHECKS = [
    ("Python repr", re.compile(r"[\{\[\(]\s*'[^'\n]{0,40}'\s*[:,\]\)]|\bobject at 0x|<[a-z_.]+\.[A-Z]\w+ ")),
    ("BPMN element id", re.compile(r"\b(?:Task|End|Start|Event|Gateway|Flow|Activity|Timer|Boundary|"
                                   r"Process|SubProcess|Call|Script|Message|Lane|Participant)_\w+")),
    ("snake_case key", re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")),
    ("process key", re.compile(r"(?<![\w./-])(?:" + "|".join(sorted(PROCESS_KEYS, key=len, reverse=True))
                               + r")(?![\w/-])")),
    ("English process name", re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, ENGLISH_PROCESS_NAMES),
                                                                  key=len, reverse=True)) + r")\b")),
    ("True/False/None", re.compile(r"(?<![\w-])(?:True|False|None)(?![\w-])")),
    # A percentage with one decimal (75.0%) is a rate as written, not money.
    # A degree of longitude or latitude (121.0°) is a coordinate, not money either.
    ("float money", re.compile(r"(?<![\d,.])\d{4,}\.\d+(?![\d.%°])|(?<![\d,.])\d+\.0(?![\d.%°])")),
    # Words of the program's English on a Chinese page: a line of English words only, or an English label.
    ("English text", re.compile(r"^(?!(?:English)$)(?=.*[a-z]{3})[A-Za-z][A-Za-z ,.'()-]*$")),
    ("English label", re.compile(r"(?<![\w./-])[A-Za-z_]{3,}\s*[:：](?!//)")),
]


def leaks(text: str) -> list[str]:
    """Every internal value in the visible text, as "kind: the match in its line"."""
    found = []
    for line in text.splitlines():
        for kind, pattern in CHECKS:
            for match in pattern.finditer(line):
                found.append(f"{kind}: {match.group(0)!r} in {line.strip()[:120]!r}")
    return found


def page_leaks(html: str | bytes) -> list[str]:
    return leaks(visible_text(html))
