"""Lane names → the role whose members work the lane's tasks."""

ENTERPRISE = "enterprise"  # any user of the case's enterprise

LANE_ROLES = {
    "inspector": "inspector",
    "检查员": "inspector",
    "执法人员": "inspector",
    "county_supervisor": "county_supervisor",
    "县级主管部门": "county_supervisor",
    "县(区)级主管部门": "county_supervisor",
    "city_admin": "city_admin",
    "市级主管部门": "city_admin",
    "enterprise": ENTERPRISE,
    "企业": ENTERPRISE,
    "燃气经营企业": ENTERPRISE,
}

TASK_ROLES = ("inspector", "county_supervisor", "city_admin", ENTERPRISE)


def lane_role(lane_name: str | None) -> str | None:
    if not lane_name:
        return None
    name = lane_name.strip()
    if name in LANE_ROLES:
        return LANE_ROLES[name]
    # "检查员 inspector" style labels: any word that is a known lane name.
    for word in name.replace("/", " ").split():
        if word in LANE_ROLES:
            return LANE_ROLES[word]
    return None


def user_plays(user_role: str, task_role: str) -> bool:
    if task_role == ENTERPRISE:
        return user_role in ("enterprise_admin", "enterprise_staff")
    return user_role == task_role
