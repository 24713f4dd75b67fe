"""Inspection-due notices for bottled-gas cylinders: NOTICE_DAYS before a cylinder's inspection falls due the
enterprise is told, once per cylinder and due date, so it can bring the cylinder in before it must leave
service; its county authority gets one line per enterprise and round saying how many fell into the window.
After the date has passed, the daily data checks raise the overdue warning (``data_checks``).

Run by the daily round (web/background/schedule.py, ``daily_data_checks``); a row per notice
(``CylinderNotice``) makes another run, the next day or on another worker, tell nobody twice.
"""
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models import REC_OFFICIAL, CylinderNotice, DataRecord, Enterprise
from workflows import notify

from .cylinder_trace import VALID, validity

NOTICE_DAYS = 30  # as the certificates' last notice: a month to bring the cylinder to the inspection unit
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _official(s, kind: str, enterprise_ids=None):
    stmt = select(DataRecord).where(DataRecord.kind == kind, DataRecord.status == REC_OFFICIAL)
    if enterprise_ids is not None:
        stmt = stmt.where(DataRecord.enterprise_id.in_(enterprise_ids))
    return s.scalars(stmt.order_by(DataRecord.enterprise_id, DataRecord.id))


def due_soon(s, today) -> dict[int, list[tuple[str, object]]]:
    """Per enterprise, the (code, due date) of each cylinder whose valid inspection ends within NOTICE_DAYS."""
    inspections = defaultdict(list)
    for r in _official(s, "cylinder_inspection"):
        inspections[(r.enterprise_id, r.data.get("cylinder_code"))].append(r.data)
    last_day = today + timedelta(days=NOTICE_DAYS)
    found = defaultdict(list)
    for r in _official(s, "cylinder"):
        code = r.data.get("code")
        v = validity(r.data, inspections.get((r.enterprise_id, code), []), today)
        if v.state == VALID and v.valid_until <= last_day:
            found[r.enterprise_id].append((code, v.valid_until))
    return found


def send_due_notices(s, now: datetime) -> int:
    """Tell each enterprise of its cylinders falling due within NOTICE_DAYS that it was not yet told of;
    the caller commits. Returns the notices written (one per cylinder and due date)."""
    today = now.astimezone(SHANGHAI).date()
    sent = 0
    for enterprise_id, due in due_soon(s, today).items():
        told = set(s.execute(select(CylinderNotice.code, CylinderNotice.due_on).where(
            CylinderNotice.enterprise_id == enterprise_id, CylinderNotice.due_on >= today)).all())
        new = sorted((code, day) for code, day in due if (code, day) not in told)
        if not new:
            continue
        enterprise = s.get(Enterprise, enterprise_id)
        staff = notify.enterprise_users(s, enterprise_id)
        for code, day in new:
            s.add(CylinderNotice(enterprise_id=enterprise_id, code=code, due_on=day, notified_at=now))
            notify.add(s, staff, notify.MESSAGE, now,
                       text=f"气瓶 {code} 的定期检验将于 {day.isoformat()} 到期（剩余 {(day - today).days} 天），"
                            f"请及时送检")
        notify.add(s, notify.authority_users(s, "county", enterprise.county_id), notify.MESSAGE, now,
                   text=f"{enterprise.name} 有 {len(new)} 只气瓶的定期检验将在 {NOTICE_DAYS} 天内到期，已提醒企业送检")
        s.flush()
        sent += len(new)
    return sent
