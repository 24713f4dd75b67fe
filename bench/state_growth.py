"""Case state growth (issue 7, item 5): one rectification sent back 50 times. Stored state size and
time per respond+verify round, first against 50th; the engine must stay flat as history grows."""
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from .common import ROOT, platform_app, summary_ms, user

ROUNDS = 50


def loop_model() -> bytes:
    # The shipped rectification model files a penalty at the third send-back; for a long history the
    # benchmark raises that limit, and changes nothing else.
    xml = (ROOT / "bpmn" / "rectification.bpmn").read_bytes()
    return xml.replace(b"send_back_count &lt; 3", b"send_back_count &lt; 1000") \
        .replace(b"send_back_count &gt;= 3", b"send_back_count &gt;= 1000")


def run(backend: str = "sqlite") -> dict:
    from models import Case, Enterprise, Task
    from web.extensions import case_engine, db

    with platform_app(backend) as app:
        engine = case_engine(app)
        engine.deploy(loop_model())
        inspector, staff = user(app, "keqiao_inspector"), user(app, "kq_bottled_staff")
        with app.app_context():
            ent = db.session.scalar(select(Enterprise.id).where(Enterprise.name == "柯桥区瓶装液化气供应有限公司"))
        deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        case_id = engine.start_case("rectification", {"enterprise_id": ent, "hazard_description": "报警器失效",
                                                      "hazard_class": "II", "deadline_at": deadline},
                                    inspector, enterprise_id=ent)

        def open_task(name):
            with engine.sessions() as s:
                return s.scalar(select(Task.id).where(Task.case_id == case_id, Task.spec_name == name,
                                                      Task.status == "open"))

        def state_bytes():
            with engine.sessions() as s:
                case = s.get(Case, case_id)
                return len(str(case.state).encode()) if s.get_bind().dialect.name == "sqlite" else \
                    s.scalar(select(func.octet_length(func.cast(Case.state, db.Text))).where(Case.id == case_id))

        rounds = []
        for i in range(ROUNDS):
            t0 = time.perf_counter()
            engine.complete_task(open_task("Task_respond"), staff, {"response": f"第 {i + 1} 次整改"})
            engine.complete_task(open_task("Task_verify"), inspector, {"decision": "send_back", "comment": "不合格"})
            rounds.append((time.perf_counter() - t0, state_bytes()))
    first = rounds[:3]
    last = rounds[-3:]
    first_t, last_t = sum(r[0] for r in first) / 3, sum(r[0] for r in last) / 3
    return {
        "backend": backend, "rounds": ROUNDS,
        "state_bytes_first": rounds[0][1], "state_bytes_last": rounds[-1][1],
        "round_ms_first": round(first_t * 1000, 2), "round_ms_last": round(last_t * 1000, 2),
        "sendback50_ratio": round(last_t / first_t, 2),
        "round": summary_ms([r[0] for r in rounds]),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
