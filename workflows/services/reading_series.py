"""One sensor's readings over a window, for the readings page and its API (A1.8, A2.5, A3.5, A7).

A window of 30 days holds tens of thousands of readings per sensor; a chart needs no more points than
it has pixels. Wide windows (and any window with more readings than MAX_RAW) are grouped into time
buckets in the database, each with its mean, minimum and maximum, so a spike is never averaged away
and a page never ships more than a few thousand points."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, and_, cast, func, or_, select

from models import WARNING_OPEN, EarlyWarning, Enterprise, Reading, ThresholdRule
from workflows import access

WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_WINDOW = "24h"
# Bucket width per window when bucketed: about 700 buckets each.
BUCKET_SECONDS = {"24h": 120, "7d": 900, "30d": 3600}
ALWAYS_BUCKETED = ("30d",)
MAX_RAW = 3000
MAX_WARNINGS = 200
SITES_SINCE = timedelta(days=30)  # the site and sensor lists: what reported in the last month


@dataclass(frozen=True)
class Series:
    enterprise_id: int
    site: str
    sensor: str
    quantity: str


def reading_scope(user):
    return Reading.enterprise_id.in_(select(Enterprise.id).where(access.enterprise_scope(user)))


def sites(session, user, now: datetime) -> list[dict]:
    """The sites that reported lately in the caller's scope: enterprise, its name and the site's name."""
    rows = session.execute(
        select(Reading.enterprise_id, Reading.site, Enterprise.name).distinct()
        .join(Enterprise, Enterprise.id == Reading.enterprise_id)
        .where(reading_scope(user), Reading.at >= now - SITES_SINCE)
        .order_by(Enterprise.name, Reading.site)).all()
    return [{"enterprise_id": r.enterprise_id, "site": r.site, "enterprise": r.name} for r in rows]


def sensors(session, user, enterprise_id: int, site: str) -> list[dict]:
    """The sensors of one site (each with the quantity it measures), through the series index."""
    rows = session.execute(
        select(Reading.sensor, Reading.quantity).distinct()
        .where(reading_scope(user), Reading.enterprise_id == enterprise_id, Reading.site == site)
        .order_by(Reading.sensor, Reading.quantity)).all()
    return [{"sensor": r.sensor, "quantity": r.quantity} for r in rows]


def _series_where(series: Series):
    return and_(Reading.enterprise_id == series.enterprise_id, Reading.site == series.site,
                Reading.sensor == series.sensor, Reading.quantity == series.quantity)


def visible(session, user, series: Series) -> bool:
    """Whether the series exists in the caller's scope (another county's sensor does not, for them)."""
    return session.scalar(select(Reading.id).where(reading_scope(user), _series_where(series)).limit(1)) is not None


def _epoch(session):
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Reading.at)
    return cast(func.strftime("%s", Reading.at), Float)  # stored as UTC text without an offset


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def points(session, series: Series, window: str, now: datetime) -> dict:
    """Raw points [ms, value] or buckets [ms of the bucket's middle, mean, min, max], oldest first."""
    start = now - WINDOWS[window]
    where = and_(_series_where(series), Reading.at >= start, Reading.at <= now)
    count = session.scalar(select(func.count()).select_from(Reading).where(where)) or 0
    if window not in ALWAYS_BUCKETED and count <= MAX_RAW:
        rows = session.execute(select(Reading.at, Reading.value).where(where).order_by(Reading.at, Reading.id))
        return {"bucket_seconds": None, "count": count, "points": [[_ms(r.at), r.value] for r in rows]}
    size = BUCKET_SECONDS[window]
    bucket = func.floor(_epoch(session) / size).label("bucket")
    rows = session.execute(select(bucket, func.avg(Reading.value), func.min(Reading.value), func.max(Reading.value))
                           .where(where).group_by(bucket).order_by(bucket)).all()
    half = size * 500
    return {"bucket_seconds": size, "count": count,
            "points": [[int(b) * size * 1000 + half, round(float(avg), 6), lo, hi] for b, avg, lo, hi in rows]}


def site_kind(session, series: Series) -> str | None:
    return session.scalar(select(Reading.site_kind).where(_series_where(series))
                          .order_by(Reading.at.desc()).limit(1))


def thresholds(session, series: Series, kind: str | None) -> list[dict]:
    """The active rules the series is checked against, most severe first."""
    rows = session.scalars(select(ThresholdRule).where(
        ThresholdRule.active.is_(True), ThresholdRule.quantity == series.quantity,
        or_(ThresholdRule.site_kind.is_(None), ThresholdRule.site_kind == kind))
        .order_by(ThresholdRule.level, ThresholdRule.id))
    return [{"id": r.id, "comparison": r.comparison, "threshold": r.threshold, "level": r.level} for r in rows]


def warnings(session, user, series: Series, window: str, now: datetime) -> list[EarlyWarning]:
    """The warnings raised on the series that overlap the window, newest first."""
    start = now - WINDOWS[window]
    return session.scalars(select(EarlyWarning).where(
        access.warning_scope(user), EarlyWarning.enterprise_id == series.enterprise_id,
        EarlyWarning.site == series.site, EarlyWarning.sensor == series.sensor,
        EarlyWarning.quantity == series.quantity, EarlyWarning.started_at <= now,
        or_(EarlyWarning.status == WARNING_OPEN, EarlyWarning.ended_at >= start))
        .order_by(EarlyWarning.started_at.desc(), EarlyWarning.id.desc()).limit(MAX_WARNINGS)).all()


def warning_span(w: EarlyWarning, now: datetime) -> tuple[int, int]:
    end = w.ended_at or now
    return _ms(w.started_at), _ms(max(end, w.started_at))
