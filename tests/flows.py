"""Small helpers the lifecycle tests share: find a case's open task as a user, complete it."""


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
