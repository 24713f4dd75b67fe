"""The weekly warning digest: the warnings the county hears of once a week rather than at once.

Which warnings those are is the decision table ``warning_response``'s to say (``county_notice`` is
``weekly_digest``; level 3 by default), so the digest reads what each warning's case decided. The
first round of the periodic job in a new week (Monday, Beijing time) claims the week and tells each
county's supervisor and inspectors what the week before brought: how many such warnings, how many
the enterprises acknowledged, and which enterprises had them. No Flask.
"""
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import CASE_COMPLETED, Case, EarlyWarning, Enterprise, Setting
from workflows import notify

from .early_warnings import LEVEL_NAMES, WARNING_PROCESS

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SETTING = "warning_digest_week"
DIGEST = "weekly_digest"
TOP_ENTERPRISES = 10


def last_week(now: datetime) -> tuple[str, datetime, datetime]:
    """The ISO week ``now`` falls in (its name claims the digest) and the week before it, as UTC-aware
    bounds [start, end): Monday 00:00 to Monday 00:00, Beijing time."""
    local = now.astimezone(LOCAL_TZ)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), LOCAL_TZ)
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}", monday - timedelta(days=7), monday


def _claim(s: Session, week: str) -> bool:
    """Only the round whose UPDATE changed the row sends the digest (several workers run the job)."""
    if s.get(Setting, SETTING) is None:
        s.add(Setting(key=SETTING, value=""))
        s.flush()
    return bool(s.execute(update(Setting).where(Setting.key == SETTING, Setting.value != week)
                          .values(value=week)).rowcount)


def digest_rows(s: Session, start: datetime, end: datetime) -> list[tuple[EarlyWarning, Case]]:
    """The warnings that began in [start, end) whose case sends them to the weekly digest."""
    rows = s.execute(select(EarlyWarning, Case).join(Case, Case.id == EarlyWarning.case_id)
                     .where(EarlyWarning.started_at >= start, EarlyWarning.started_at < end,
                            Case.process_key == WARNING_PROCESS)
                     .order_by(EarlyWarning.county_id, EarlyWarning.id)).all()
    return [(w, c) for w, c in rows if (c.data or {}).get("county_notice") == DIGEST]


def digest_text(rows: list[tuple[EarlyWarning, Case]], start: datetime, end: datetime,
                names: dict[int, str]) -> str:
    first, last = start.astimezone(LOCAL_TZ).date(), (end - timedelta(seconds=1)).astimezone(LOCAL_TZ).date()
    levels = Counter(w.level for w, _c in rows)
    done = sum(1 for _w, c in rows if c.status == CASE_COMPLETED)
    by_level = "、".join(f"{LEVEL_NAMES.get(level, level)}{n} 起" for level, n in sorted(levels.items()))
    per_enterprise = Counter(w.enterprise_id for w, _c in rows).most_common(TOP_ENTERPRISES)
    who = "；".join(f"{names.get(e, '')} {n} 起" for e, n in per_enterprise)
    return (f"预警周报（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}）：共 {len(rows)} 起（{by_level}），企业已确认 {done} 起，"
            f"未确认 {len(rows) - done} 起。{who}。")


def send_weekly_digest(s: Session, now: datetime) -> int:
    """Once a week: a digest to each county that had such warnings last week. Returns the counties
    told (0 when the week's digest was already sent). The caller commits."""
    week, start, end = last_week(now)
    if not _claim(s, week):
        return 0
    by_county: dict[int, list] = defaultdict(list)
    for warning, case in digest_rows(s, start, end):
        if warning.county_id is not None:
            by_county[warning.county_id].append((warning, case))
    if not by_county:
        return 0
    ids = {w.enterprise_id for rows in by_county.values() for w, _c in rows}
    names = dict(s.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all())
    for county_id, rows in by_county.items():
        notify.add(s, notify.authority_users(s, "county", county_id), notify.MESSAGE, now,
                   text=digest_text(rows, start, end, names))
    return len(by_county)
