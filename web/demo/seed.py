"""Demo data: Shaoxing, its six counties, a dozen enterprises of the three kinds, one account per role."""
from datetime import UTC, datetime

from sqlalchemy import select

from models import AUTHORITY_ROLES, Enterprise, Region, Setting, User
from models.uscc import make_uscc
from web.common.security import hash_password
from web.reference.regions import CITY
from workflows.services import password_rules, totp

COUNTIES = [("330602", "越城区", "yuecheng"), ("330603", "柯桥区", "keqiao"), ("330604", "上虞区", "shangyu"),
            ("330681", "诸暨市", "zhuji"), ("330683", "嵊州市", "shengzhou"), ("330624", "新昌县", "xinchang")]
ENTERPRISES = [
    ("柯桥区瓶装液化气供应有限公司", "bottled", "330603", 120.49, 30.08),
    ("柯桥天然气有限公司", "pipeline", "330603", 120.50, 30.07),
    ("柯桥汽车加气站", "vehicle", "330603", 120.47, 30.09),
    ("越城燃气有限公司", "pipeline", "330602", 120.58, 30.00),
    ("越城瓶装燃气配送站", "bottled", "330602", 120.59, 30.01),
    ("上虞液化气有限公司", "bottled", "330604", 120.87, 30.03),
    ("上虞CNG加气站", "vehicle", "330604", 120.86, 30.04),
    ("诸暨管道燃气有限公司", "pipeline", "330681", 120.24, 29.71),
    ("诸暨汽车加气有限公司", "vehicle", "330681", 120.23, 29.72),
    ("嵊州燃气有限公司", "pipeline", "330683", 120.82, 29.59),
    ("嵊州瓶装气供应站", "bottled", "330683", 120.83, 29.60),
    ("新昌天然气有限公司", "pipeline", "330624", 120.90, 29.50),
]
DEMO_PASSWORD = "Gasflow-demo-2026"


def demo_accounts() -> list[tuple[str, str, str]]:
    return [
        ("admin", "city_admin", "市燃气主管部门管理员"),
        ("keqiao_supervisor", "county_supervisor", "柯桥区主管部门 王科长"),
        ("keqiao_inspector", "inspector", "柯桥区检查员 李明"),
        ("keqiao_inspector2", "inspector", "柯桥区检查员 赵强"),
        ("yuecheng_inspector", "inspector", "越城区检查员 陈刚"),
        ("kq_bottled_admin", "enterprise_admin", "柯桥瓶装 企业管理员"),
        ("kq_bottled_staff", "enterprise_staff", "柯桥瓶装 安全员 张华"),
        ("yc_pipeline_staff", "enterprise_staff", "越城燃气 安全员 周丽"),
    ]


def _cipher():
    from web.common.dataflow import cipher

    return cipher()


def seed(session) -> bool:
    """Idempotent: returns False when the demo data is already there."""
    if session.get(Setting, "demo_seeded"):
        return False
    city = session.scalar(select(Region).where(Region.code == CITY[0]))
    if city is None:
        city = Region(code=CITY[0], name=CITY[1], level="city")
        session.add(city)
        session.flush()
    counties = {}
    for code, name, _slug in COUNTIES:
        region = session.scalar(select(Region).where(Region.code == code))
        if region is None:
            region = Region(code=code, name=name, level="county", parent_id=city.id)
            session.add(region)
            session.flush()
        counties[code] = region
    enterprises = []
    for i, (name, kind, county, lon, lat) in enumerate(ENTERPRISES):
        uscc = make_uscc(f"91{county}MA{i:07d}")
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == uscc))
        if ent is None:
            ent = Enterprise(name=name, kind=kind, uscc=uscc, county_id=counties[county].id,
                             address=f"{counties[county].name}{name}", lon=lon, lat=lat)
            session.add(ent)
            session.flush()
        enterprises.append(ent)
    keqiao, yuecheng = counties["330603"], counties["330602"]
    scope = {
        "admin": {}, "keqiao_supervisor": {"county_id": keqiao.id},
        "keqiao_inspector": {"county_id": keqiao.id}, "keqiao_inspector2": {"county_id": keqiao.id},
        "yuecheng_inspector": {"county_id": yuecheng.id},
        "kq_bottled_admin": {"enterprise_id": enterprises[0].id, "county_id": keqiao.id},
        "kq_bottled_staff": {"enterprise_id": enterprises[0].id, "county_id": keqiao.id},
        "yc_pipeline_staff": {"enterprise_id": enterprises[3].id, "county_id": yuecheng.id},
    }
    hashed, now = hash_password(DEMO_PASSWORD), datetime.now(UTC)
    for username, role, display in demo_accounts():
        if session.scalar(select(User).where(User.username == username)) is None:
            # The demo must stay usable with the printed password: no forced change, and the authority
            # accounts come enrolled in the second factor (`gasflow demo` prints their keys).
            user = User(username=username, role=role, display_name=display, password_hash=hashed,
                        **scope[username])
            session.add(user)
            password_rules.set_password(session, user, DEMO_PASSWORD, lambda _p: hashed, now)
            if role in AUTHORITY_ROLES:
                totp.enrol_directly(session, user, _cipher(), now)
    session.add(Setting(key="demo_seeded", value="1"))
    session.commit()
    return True
