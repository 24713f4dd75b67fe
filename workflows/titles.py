"""A case's title from its model's template (the engine titles new cases; presentation re-exports it)."""
import re
from collections.abc import Mapping

_TITLE_SLOT = re.compile(r"\{([^{}]+)\}")


def case_title(template: str, data: Mapping, process_name: str = "", enterprise: str = "") -> str:
    """A case's title from its model's template (the process's ``gasflow.title`` property), for example
    ``整改 · {inspection_item|hazard_description:24} · {enterprise}``: ``{a|b}`` is the first of the case-data
    fields a, b that has a value, ``:24`` cuts it to 24 characters (with …), ``{process}`` and ``{enterprise}``
    are the model's name and the enterprise's. Parts (between " · ") whose slots are all empty are left out."""
    def fill(slot: str) -> str:
        names, _, width = slot.partition(":")
        for name in names.split("|"):
            name = name.strip()
            value = {"process": process_name, "enterprise": enterprise}.get(name, data.get(name))
            if value not in (None, "", []) and not isinstance(value, dict | list | bool):
                text = " ".join(str(value).split())
                if width.strip().isdigit() and len(text) > int(width):
                    text = text[: int(width)].rstrip() + "…"
                return text
        return ""

    parts = []
    for part in template.split(" · "):
        slots = _TITLE_SLOT.findall(part)
        filled = _TITLE_SLOT.sub(lambda m: fill(m.group(1)), part).strip()
        if slots and not any(fill(s) for s in slots):
            continue
        if filled:
            parts.append(filled)
    return " · ".join(parts)


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def stored_name(name: str) -> str:
    """A model's name as a stored title carries it: in the platform's language, Chinese ("整改 Rectification"
    → "整改"); a name with no Chinese stays whole."""
    words = (name or "").split()
    chinese = [w for w in words if _CJK.search(w)]
    return " ".join(chinese) if chinese else (name or "")
