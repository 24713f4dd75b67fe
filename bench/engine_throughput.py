"""Case throughput (issue 7, item 1): rectification cases driven issue → respond → verify through the
engine with persistence, against the same BPMN run by bare SpiffWorkflow in memory (the ceiling)."""
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from .common import ROOT, platform_app, summary_ms, user


def bare_spiff(n: int) -> dict:
    """The ceiling: the same model, parsed once, run in memory with the stock Python script engine."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from SpiffWorkflow.util.task import TaskState

    parser = CamundaParser()
    parser.add_bpmn_file(str(ROOT / "bpmn" / "rectification.bpmn"))
    spec = parser.get_spec("rectification")
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    t0 = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec)
        wf.get_tasks(state=TaskState.READY)[0].set_data(hazard_description="x", hazard_class="II",
                                                         deadline_at=deadline, enterprise_id=1)
        wf.do_engine_steps()
        for data in ({"response": "done"}, {"decision": "accept", "comment": ""}):
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(**data)
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
    elapsed = time.perf_counter() - t0
    return {"cases": n, "seconds": round(elapsed, 3), "cases_per_s": round(n / elapsed, 1)}


def persisted(backend: str, n: int) -> dict:
    from models import Enterprise, Task
    from web import case_engine
    from web.extensions import db

    with platform_app(backend) as app:
        engine = case_engine(app)
        inspector, staff = user(app, "keqiao_inspector"), user(app, "kq_bottled_staff")
        with app.app_context():
            ent = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "柯桥区瓶装液化气供应有限公司"))
        deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        data = {"enterprise_id": ent, "hazard_description": "报警器失效", "hazard_class": "II", "deadline_at": deadline}
        timings = {"start": [], "respond": [], "verify": []}
        t0 = time.perf_counter()
        for _ in range(n):
            t = time.perf_counter()
            case_id = engine.start_case("rectification", data, inspector, enterprise_id=ent)
            timings["start"].append(time.perf_counter() - t)
            for name, actor, form, key in (("Task_respond", staff, {"response": "已整改"}, "respond"),
                                           ("Task_verify", inspector, {"decision": "accept"}, "verify")):
                with engine.sessions() as s:
                    task_id = s.scalar(select(Task.id).where(Task.case_id == case_id, Task.spec_name == name,
                                                             Task.status == "open"))
                t = time.perf_counter()
                engine.complete_task(task_id, actor, form)
                timings[key].append(time.perf_counter() - t)
        elapsed = time.perf_counter() - t0
    return {"backend": backend, "cases": n, "seconds": round(elapsed, 3), "cases_per_s": round(n / elapsed, 1),
            "completions_per_s": round(2 * n / elapsed, 1),
            "transitions": {k: summary_ms(v) for k, v in timings.items()}}


def run(n: int = 200, backends=("sqlite", "postgresql")) -> dict:
    ceiling = bare_spiff(n)
    out = {"bare_spiff": ceiling}
    for backend in backends:
        try:
            result = persisted(backend, n)
        except Exception as exc:  # a backend that is not running is reported, not fatal
            out[backend] = {"error": str(exc)[:200]}
            continue
        result["ratio_to_bare"] = round(result["cases_per_s"] / ceiling["cases_per_s"], 3)
        out[backend] = result
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
