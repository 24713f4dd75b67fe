"""The default threshold rules of station monitoring, loaded at start-up like the checklist templates.

Only into an empty table: once rules exist they belong to the city admin, and a restart must never
bring back a rule the admin changed or switched off."""
import json
from pathlib import Path

from sqlalchemy import func, select

from models import COMPARISONS, LEVELS, QUANTITIES, SITE_KINDS, ThresholdRule


def load_threshold_rules(session, path: Path) -> int:
    path = Path(path)
    if not path.exists() or session.scalar(select(func.count(ThresholdRule.id))):
        return 0
    entries = json.loads(path.read_text(encoding="utf-8"))
    for entry in entries:
        if entry["quantity"] not in QUANTITIES or entry["comparison"] not in COMPARISONS \
                or entry["level"] not in LEVELS or entry.get("site_kind") not in (None, *SITE_KINDS):
            raise ValueError(f"{path}: bad threshold rule {entry!r}")
        session.add(ThresholdRule(quantity=entry["quantity"], site_kind=entry.get("site_kind"),
                                  comparison=entry["comparison"], threshold=float(entry["threshold"]),
                                  level=entry["level"], active=True))
    session.commit()
    return len(entries)
