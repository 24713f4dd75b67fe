"""Reference data shipped with the platform and loaded at start-up, like the BPMN models:
the checklist templates of A5.1. Idempotent: a kind and version already stored is left alone,
so templates edited by an admin (stored as new versions) are never overwritten."""
import json
from pathlib import Path

from sqlalchemy import select

from models import TEMPLATE_KINDS, ChecklistTemplate


def load_checklists(session, path: Path) -> int:
    if not Path(path).exists():
        return 0
    added = 0
    for entry in json.loads(Path(path).read_text(encoding="utf-8")):
        if entry["kind"] not in TEMPLATE_KINDS:
            raise ValueError(f"{path}: unknown template kind {entry['kind']!r}")
        found = session.scalar(select(ChecklistTemplate.id).where(
            ChecklistTemplate.kind == entry["kind"], ChecklistTemplate.version == entry["version"]))
        if found is None:
            session.add(ChecklistTemplate(kind=entry["kind"], version=entry["version"], name=entry["name"],
                                          items=entry["items"]))
            added += 1
    session.commit()
    return added
