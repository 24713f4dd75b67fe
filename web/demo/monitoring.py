"""Thirty days of sensor readings and the cameras of a few demo sites, so the readings pages, the site
pages and the map's camera layer show something on first login. The readings go through the same
threshold check as the API's (without opening cases), so the warnings on the charts are the ones the
rules would have raised."""
import math
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Enterprise, Task
from workflows.services import early_warnings

STEP = timedelta(minutes=15)
DAYS = 30
# (enterprise, site, site kind, sensor, quantity, baseline, daily swing, noise, spikes (days ago, hours, peak))
SENSORS = [
    ("柯桥区瓶装液化气供应有限公司", "华舍储配站", "storage_station", "储罐1#液位", "level", 62, 12, 1.5, ()),
    ("柯桥区瓶装液化气供应有限公司", "华舍储配站", "storage_station", "泄漏探头A", "gas_concentration", 1.2, 0.6, 0.3,
     ((3.4, 0.75, 14.0), (12.2, 0.5, 28.0))),
    ("柯桥区瓶装液化气供应有限公司", "华舍储配站", "storage_station", "储罐区温度", "temperature", 18, 6, 0.6, ()),
    ("柯桥区瓶装液化气供应有限公司", "柯岩供应站", "supply_station", "泄漏探头B", "gas_concentration", 0.8, 0.4, 0.2,
     ((0.3, 0.5, 12.5),)),
    ("越城燃气有限公司", "越城调压站", "regulator_station", "出口压力", "pressure", 0.38, 0.04, 0.008,
     ((5.1, 1.0, 1.72),)),
]
CAMERAS = [
    ("CAM-01", "储罐区全景", "华舍储配站", "https://video.example.cn/live/huashe-tanks.m3u8", 120.4705, 30.0902),
    ("CAM-02", "装卸台", "华舍储配站", "rtsp://10.20.1.11:554/Streaming/Channels/101", 120.4696, 30.0897),
    ("CAM-03", "大门", "华舍储配站", "rtmp://video.example.cn/live/huashe-gate", 120.4710, 30.0895),
    ("CAM-04", "气瓶仓库", "柯岩供应站", "https://video.example.cn/cameras/keyan-store", 120.5205, 30.0502),
]


def _values(rng: random.Random, base, swing, noise, spikes, now: datetime):
    """One reading per STEP over DAYS days: a daily cycle, noise and the given episodes."""
    start = (now - timedelta(days=DAYS)).replace(second=0, microsecond=0)
    at = start
    while at <= now:
        hours = (at - start).total_seconds() / 3600
        value = base + swing * math.sin(2 * math.pi * hours / 24) + rng.gauss(0, noise)
        for days_ago, length, peak in spikes:
            began = now - timedelta(days=days_ago)
            if began <= at <= began + timedelta(hours=length):
                middle = (at - began) / timedelta(hours=length)
                value = max(value, peak * (0.75 + 0.25 * math.sin(math.pi * middle)))
        yield at, round(max(value, 0.0), 2)
        at += STEP


def seed_demo_readings(s, now: datetime | None = None) -> int:
    """The readings of SENSORS and the warnings they raise; the caller commits. Returns the readings stored."""
    now = now or datetime.now(UTC)
    rng = random.Random(46)  # the same demo every time
    stored = 0
    by_enterprise: dict[int, list] = {}
    for ent_name, site, kind, sensor, quantity, base, swing, noise, spikes in SENSORS:
        ent_id = s.scalar(select(Enterprise.id).where(Enterprise.name == ent_name))
        by_enterprise.setdefault(ent_id, []).extend(
            early_warnings.ReadingIn(site, sensor, quantity, value, at, kind)
            for at, value in _values(rng, base, swing, noise, spikes, now))
    for ent_id, readings in by_enterprise.items():
        stored += early_warnings.store_readings(s, ent_id, readings, now)
        early_warnings.evaluate(s, ent_id, readings, now)  # no engine: the demo's past episodes open no cases
    return stored


def seed_demo_cameras(engine, s, ent_admin, sup) -> None:
    """The bottled company's cameras, one of each kind of stream, accepted by the county."""
    from forms.data_kinds import KINDS_BY_KEY
    from web.common import dataflow

    records = [{"external_id": ext, "name": name, "site": site, "stream_url": url, "lon": lon, "lat": lat}
               for ext, name, site, url, lon, lat in CAMERAS]
    answer = dataflow.submit(KINDS_BY_KEY["camera"], ent_admin, records, "api")
    task_id = s.scalar(select(Task.id).where(Task.case_id == answer["case"], Task.status == "open"))
    engine.complete_task(task_id, sup, {"review": [{"ref": i + 1, "decision": "accept", "reason": ""}
                                                   for i in range(len(records))]})
