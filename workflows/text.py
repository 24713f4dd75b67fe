"""Text the platform cannot store or show: NUL and lone surrogates.

PostgreSQL refuses NUL in text and in the text its JSON functions extract, and a lone surrogate
(U+D800..U+DFFF on its own, which a JSON ``"\\ud800"`` escape yields) cannot be encoded as UTF-8,
so a page showing one fails. Both are refused where text comes in (``find_bad``) and cleaned where
text is kept for the record anyway (``clean_text``: audit entries, file names, stored rows).

JSON is parsed here too, with a bound on nesting: deep enough input makes ``json.loads`` raise
RecursionError, and anything nested a few hundred levels breaks the code that walks it later.
"""
import json
import re
import unicodedata

BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
MAX_JSON_DEPTH = 64
# Escapes that may stand for NUL or a surrogate; only a body holding one is walked string by string.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def has_bad_text(value) -> bool:
    """Whether ``value`` is text holding NUL or a lone surrogate (anything else holds none)."""
    return isinstance(value, str) and BAD_TEXT.search(value) is not None


def clean_text(value: str) -> str:
    """NUL dropped, each lone surrogate replaced by U+FFFD."""
    if not has_bad_text(value):
        return value
    return BAD_TEXT.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def clean_json(value):
    """``clean_text`` applied to every string (keys included) of a JSON value."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value


def find_bad(value, root: str = "") -> str | None:
    """The path (``data.items[2].text``) of the first string of ``value`` holding NUL or a lone
    surrogate, a key counting as its own path; None when there is none. Iterative: ``value`` may be
    as deep as the parser allowed."""
    stack = [(root, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if has_bad_text(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{path}.{clean_text(key)}" if path else clean_text(key)
                if isinstance(key, str) and has_bad_text(key):
                    return name
                stack.append((name, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


class TooDeep(ValueError):
    pass


class BadText(ValueError):
    def __init__(self, path: str):
        super().__init__(f"{path}: NUL or an unpaired surrogate")
        self.path = path


def nesting(value, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (counting stops past ``limit``).
    Level by level, no recursion: about a millisecond per thousand objects."""
    level, depth = [value], 0
    while level and depth <= limit:
        depth += 1
        deeper = []
        for item in level:
            children = item.values() if type(item) is dict else item
            deeper.extend(c for c in children if type(c) is dict or type(c) is list)
        level = deeper
    return depth


def loads(data: str | bytes, root: str = ""):
    """JSON text → value. Raises ValueError for text that is not JSON (or not UTF-8), TooDeep beyond
    MAX_JSON_DEPTH levels, BadText naming the first string holding NUL or a lone surrogate."""
    given_text = isinstance(data, str)
    text = data if given_text else bytes(data).decode("utf-8")  # strict: no surrogate smuggled in as bytes
    try:
        value = json.loads(text)
    except RecursionError:  # the parser's own limit, some hundreds of levels
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    # Fewer brackets than the limit cannot nest deeper than it: most bodies are not walked.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and nesting(value) > MAX_JSON_DEPTH:
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    # Raw NUL is not valid inside a JSON string and strict UTF-8 holds no surrogate, so only an
    # escape can bring either in: the common body has none and is not walked.
    if _RISKY_ESCAPE.search(text) or (given_text and has_bad_text(text)):
        path = find_bad(value, root)
        if path is not None:
            raise BadText(path)
    return value


_CONTROLS = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def display_filename(name: str, fallback: str = "file") -> str:
    """An uploaded file's name as it may be shown and offered again: the last path component only,
    without control or direction-changing characters (``‮gnp.exe`` is how ``exe.png`` hides),
    whitespace collapsed, at most 200 characters with the extension kept."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in name
                   if unicodedata.category(ch) not in _CONTROLS)
    name = " ".join(name.split()).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = stem[:200 - len(ext) - 1] + dot + ext if dot and len(ext) <= 16 else name[:200]
    return name or fallback
