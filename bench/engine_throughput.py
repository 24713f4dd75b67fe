"""Case throughput (issue 7, item 1): rectification cases driven issue → respond → verify through the
engine with persistence, against the same BPMN run by bare SpiffWorkflow in memory (the ceiling)."""
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from .common import ROOT, platform_app, summary_ms, user


def bare_spiff(n: int) -> dict:
    """The ceiling: the same model, parsed once, run in memory with the stock Python script engine."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from SpiffWorkflow.util.task import TaskState

    from workflows.engine.restricted import add_period

    parser = CamundaParser()
    parser.add_bpmn_file(str(ROOT / "bpmn" / "rectification.bpmn"))
    parser.add_dmn_file(str(ROOT / "bpmn" / "rectification_period.dmn"))
    spec = parser.get_spec("rectification")
    # The model's helpers (deadlines by period), as plain functions for the stock script engine.
    stock = PythonScriptEngine(environment=TaskDataEnvironment(
        {"now": lambda: datetime.now(UTC).isoformat(), "add_period": add_period}))
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    t0 = time.perf_counter()
    for _ in range(n):
        wf = BpmnWorkflow(spec, script_engine=stock)
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


def spiff_with_state_round_trips(n: int) -> dict:
    """Between the two: the same cases run by SpiffWorkflow with what persistence costs the engine
    outside the database. After each step the task tree is pruned, serialized and encoded as JSON,
    and the next step starts from it decoded and restored (as a transition does); the engine's
    restricted script engine evaluates the model's expressions. No database."""
    import json

    from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
    from SpiffWorkflow.util.task import TaskState

    from workflows.engine.pruning import prune
    from workflows.engine.serialization import dump_state, load_state, new_workflow

    parser = CamundaParser()
    parser.add_bpmn_file(str(ROOT / "bpmn" / "rectification.bpmn"))
    parser.add_dmn_file(str(ROOT / "bpmn" / "rectification_period.dmn"))
    spec = parser.get_spec("rectification")
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()

    def stored(wf) -> str:
        prune(wf)
        return json.dumps(dump_state(wf))

    t0 = time.perf_counter()
    for _ in range(n):
        wf = new_workflow(spec, {})
        wf.get_tasks(state=TaskState.READY)[0].set_data(hazard_description="x", hazard_class="II",
                                                         deadline_at=deadline, enterprise_id=1)
        wf.do_engine_steps()
        state = stored(wf)
        for data in ({"response": "done"}, {"decision": "accept", "comment": ""}):
            wf = load_state(json.loads(state), spec, {})
            task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
            task.set_data(**data)
            task.run()
            wf.do_engine_steps()
            state = stored(wf)
        assert wf.is_completed()
    elapsed = time.perf_counter() - t0
    return {"cases": n, "seconds": round(elapsed, 3), "cases_per_s": round(n / elapsed, 1)}


def model_code(n: int) -> dict:
    """What a model's code costs per evaluation under the limits (docs/engine.md, Limits): a plain
    condition and a plain script run in the engine's thread, a script with a loop in a sandbox
    worker (warm: the pool keeps it between steps). Microseconds per step, median of ``n``."""
    import statistics

    from workflows.engine.scripting import RestrictedEnvironment

    env = RestrictedEnvironment()
    sendback = ('send_back_count = send_back_count + 1\npenalty_request = {"source": "rectification_failed",\n'
                '    "facts": "整改 %d 次未通过核查: %s" % (send_back_count, hazard_description)}')
    score = ("deducted = 0\nfor answer in answers:\n    if answer['result'] == 'fail':\n"
             "        deducted = deducted + answer['points']\nscore = max(0, 100 - deducted)")
    answers = [{"result": "fail" if i % 4 == 0 else "pass", "points": 5} for i in range(30)]
    steps = {
        "plain_condition_in_thread": lambda: env.evaluate("score >= 60", {"score": 70}),
        "plain_script_in_thread": lambda: env.execute(sendback, {"send_back_count": 1, "hazard_description": "x"}),
        "script_with_loop_in_sandbox": lambda: env.execute(score, {"answers": answers}),
    }
    out = {}
    for name, step in steps.items():
        step()  # compiled once; the sandbox's worker started
        times = []
        for _ in range(n):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        out[name + "_us"] = round(statistics.median(times) * 1e6, 1)
    return out


def _drive(engine, app, n: int) -> dict:
    """``n`` rectification cases issue → respond → verify through ``engine``; seconds per transition."""
    from models import Enterprise, Task
    from web.extensions import db

    inspector, staff = user(app, "keqiao_inspector"), user(app, "kq_bottled_staff")
    with app.app_context():
        ent = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "柯桥区瓶装液化气供应有限公司"))
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    data = {"enterprise_id": ent, "hazard_description": "报警器失效", "hazard_class": "II", "deadline_at": deadline}
    timings = {"start": [], "respond": [], "verify": []}
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
    return timings


def _documents_to_a_queue(app) -> list[int]:
    """As in production (REDIS_URL), the notice PDF each case issues is rendered after the commit by
    an RQ worker, not in the transition: here the ids are only collected, and ``_render_documents``
    measures that rendering on its own."""
    from web.extensions import db
    from workflows.services.documents.dispatch import dispatch_with

    queued: list[int] = []
    with app.app_context():
        dispatch_with(db.engine, queued.extend)
    return queued


def _render_documents(app) -> dict:
    """The queue's work: every document left pending, rendered by one process as one RQ worker would."""
    from web.extensions import case_engine
    from workflows.services.documents.issue import render_pending

    engine = case_engine(app)
    t0 = time.perf_counter()
    with engine.sessions() as s:
        rendered = render_pending(s, limit=1_000_000)
    elapsed = time.perf_counter() - t0
    return {"rendered": rendered, "seconds": round(elapsed, 3),
            "ms_per_document": round(1000 * elapsed / rendered, 1) if rendered else None,
            "documents_per_s": round(rendered / elapsed, 1) if rendered else None}


def _worker(url: str, instance: str, n: int, ready, go) -> dict:
    """One of several worker processes: its own app and connections on the shared database. ``instance``:
    the platform's folder (its keys); a forked worker has the environment of the forkserver's start."""
    import os

    from web.app import create_app
    from web.extensions import case_engine

    os.environ["GASFLOW_INSTANCE"] = instance
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INPROCESS_TICKER": False}, migrate=False)
    _documents_to_a_queue(app)
    engine = case_engine(app)
    _drive(engine, app, 1)  # warm: the spec cache, the connection pool
    ready.put(1)
    go.wait()
    timings = _drive(engine, app, n)
    # A fresh worker process that only drove cases: its peak is what an engine worker needs. VmHWM, not
    # getrusage's ru_maxrss, which Linux carries over from the parent across the spawn's exec.
    status = Path("/proc/self/status")
    if status.exists():
        hwm = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
        timings["peak_rss_mb"] = round(int(hwm.split()[1]) / 1024, 1)
    return timings


def persisted(app, backend: str, n: int, processes: int = 1) -> dict:
    from web.extensions import case_engine

    _documents_to_a_queue(app)
    rss = None
    if processes <= 1:
        t0 = time.perf_counter()
        timings = _drive(case_engine(app), app, n)
        elapsed = time.perf_counter() - t0
    else:
        elapsed, timings, rss = _in_processes(app.config["SQLALCHEMY_DATABASE_URI"], n, processes)
    documents = _render_documents(app)
    out = {"backend": backend, "processes": processes, "cases": n, "seconds": round(elapsed, 3),
           "cases_per_s": round(n / elapsed, 1), "completions_per_s": round(2 * n / elapsed, 1),
           "transitions": {k: summary_ms(v) for k, v in timings.items()}, "notice_pdfs": documents}
    if rss is not None:
        out["worker_peak_rss_mb"] = rss
    return out


def _in_processes(url: str, n: int, processes: int) -> tuple[float, dict, float]:
    """``processes`` processes (as RQ workers or gunicorn workers would be) share out ``n`` cases."""
    import multiprocessing
    import os

    # No database connection crosses a fork: the workers are forked from a fresh server process, not from
    # this one. It imports the app once for all of them; spawned, each imported it again (1.3 s of CPU).
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["web.app", __name__])
    with ctx.Manager() as manager, ctx.Pool(processes) as pool:
        ready, go = manager.Queue(), manager.Event()
        shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        instance = os.environ["GASFLOW_INSTANCE"]
        pending = pool.starmap_async(_worker, [(url, instance, k, ready, go) for k in shares])
        for _ in range(processes):
            ready.get(timeout=300)
        t0 = time.perf_counter()
        go.set()
        parts = pending.get(timeout=3600)
        elapsed = time.perf_counter() - t0
    return (elapsed, {k: [v for part in parts for v in part[k]] for k in ("start", "respond", "verify")},
            max((part.get("peak_rss_mb") for part in parts if part.get("peak_rss_mb")), default=None))


def run(n: int = 200, backends=("sqlite", "postgresql"), processes: int = 2) -> dict:
    """One process, then ``processes`` worker processes (0 or 1: not run), per backend."""
    ceiling = bare_spiff(n)
    out = {"bare_spiff": ceiling, "spiff_with_state_round_trips": spiff_with_state_round_trips(n),
           "model_code": model_code(max(n, 200))}
    for backend in backends:
        try:
            # One platform for both runs: the several processes' cases start beside the single one's
            # (n rows more of cases and tasks, no open task in the way), and the demo is seeded once.
            with platform_app(backend) as app:
                result = persisted(app, backend, n)
                if processes > 1:
                    result[f"processes_{processes}"] = persisted(app, backend, n, processes)
        except Exception as exc:  # a backend that is not running is reported, not fatal
            out[backend] = {"error": str(exc)[:200]}
            continue
        result["ratio_to_bare"] = round(result["cases_per_s"] / ceiling["cases_per_s"], 3)
        out[backend] = result
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
