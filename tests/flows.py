"""Small helpers the lifecycle tests share: open a rectification order, find a case's open task as a
user, complete it."""
from conftest import enterprise_id, future

KQ_BOTTLED = "柯桥区瓶装液化气供应有限公司"


def open_order(api, app=None, enterprise: str | int = KQ_BOTTLED, *, hazard: str = "储瓶间可燃气体报警器失效",
               hazard_class: str = "II", hours: int = 48, deadline: str | None = None,
               inspector: str = "keqiao_inspector", process: str = "rectification", status: int = 201,
               **data) -> dict:
    """A rectification order opened over the API by ``inspector`` (``enterprise``: a name, or an id);
    returns the case as the API answered. ``data`` adds to or replaces the order's fields."""
    ent = enterprise if isinstance(enterprise, int) else enterprise_id(app, enterprise)
    body = {"enterprise_id": ent, "hazard_description": hazard, "hazard_class": hazard_class,
            "deadline_at": deadline or future(hours), **data}
    resp = api(inspector).post("/cases", {"process": process, "data": body})
    assert resp.status_code == status, resp.json
    return resp.json


def task_named(user, case_id: int, name: str) -> dict:
    """The open task ``name`` of a case as ``user`` sees it (fails if there is not exactly one)."""
    case = user.get(f"/cases/{case_id}")
    assert case.status_code == 200, case.json
    found = [t for t in case.json["tasks"] if t["name"] == name]
    assert len(found) == 1, (name, case.json["tasks"])
    return found[0]


def complete(user, case_id: int, name: str, data: dict, status: int = 200) -> dict:
    task = task_named(user, case_id, name)
    resp = user.post(f"/tasks/{task['id']}/complete", {"data": data})
    assert resp.status_code == status, resp.json
    return resp.json


def open_names(user, case_id: int) -> list[str]:
    return sorted(t["name"] for t in user.get(f"/cases/{case_id}").json["tasks"])


def children(user, case_id: int, process: str | None = None) -> list[int]:
    history = user.get(f"/cases/{case_id}").json["history"]
    return [h["detail"]["case"] for h in history
            if h["event"] == "case_opened" and (process is None or h["detail"]["process"] == process)]


def end_of(case: dict) -> str | None:
    ends = [h["detail"].get("end") for h in case["history"] if h["event"] == "case_completed"]
    return ends[-1] if ends else None


# The inspector's acceptance: the re-inspection's findings are recorded with it.
ACCEPT = {"decision": "accept", "reinspection_findings": "复查合格"}
