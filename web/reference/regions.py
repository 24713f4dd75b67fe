"""The city and its county-level units (GB/T 2260), loaded at start when the register has no city, so a
fresh install without the demo can register enterprises at once. Units added later (a new district) are
the city admin's, on the regions page."""
from sqlalchemy import select

from models import Region

CITY = ("330600", "绍兴市")
COUNTIES = (("330602", "越城区"), ("330603", "柯桥区"), ("330604", "上虞区"), ("330624", "新昌县"),
            ("330681", "诸暨市"), ("330683", "嵊州市"))


def load_regions(s) -> int:
    """Idempotent; returns the units added."""
    if s.scalar(select(Region.id).where(Region.level == "city")) is not None:
        return 0
    city = Region(code=CITY[0], name=CITY[1], level="city")
    s.add(city)
    s.flush()
    for code, name in COUNTIES:
        if s.scalar(select(Region.id).where(Region.code == code)) is None:
            s.add(Region(code=code, name=name, level="county", parent_id=city.id))
    return len(COUNTIES) + 1
