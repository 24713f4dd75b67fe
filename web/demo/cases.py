"""Cases in every lifecycle for the demo, so each account finds work in its queue on first login.

They are made the way users make them, through the engine (the API and pages end there too),
with data as the forms produce it.
"""
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from models import Case, ChecklistTemplate, Enterprise, Setting, Task, User

MARK = "demo_cases_seeded"


def _user(s, username) -> User:
    return s.scalar(select(User).where(User.username == username))


def _ent(s, name) -> int:
    return s.scalar(select(Enterprise.id).where(Enterprise.name == name))


def _complete(engine, s, case_id, name, actor, data, now=None):
    task_id = s.scalar(select(Task.id).where(Task.case_id == case_id, Task.spec_name == name, Task.status == "open"))
    engine.complete_task(task_id, actor, data, now=now)


def seed_demo_cases(engine, s) -> bool:
    """Idempotent: returns False when the demo cases are already there."""
    if s.get(Setting, MARK):
        return False
    now = datetime.now(UTC)
    sup, insp, insp2 = _user(s, "keqiao_supervisor"), _user(s, "keqiao_inspector"), _user(s, "keqiao_inspector2")
    ent_admin, staff = _user(s, "kq_bottled_admin"), _user(s, "kq_bottled_staff")
    bottled, pipeline = _ent(s, "柯桥区瓶装液化气供应有限公司"), _ent(s, "柯桥天然气有限公司")
    vehicle = _ent(s, "柯桥汽车加气站")
    lpg = s.scalar(select(ChecklistTemplate).where(ChecklistTemplate.kind == "lpg_station"))

    # L1: a winter campaign over three enterprises; one checklist already filled with two problems.
    activity = engine.start_case("inspection_activity", {
        "name": "2026 年冬季燃气安全大检查", "level": "county", "department": "柯桥区综合行政执法局",
        "planned_on": date.today().isoformat(), "delegated": False, "delegate_unit": "",
        "template_id": lpg.id, "checklist": lpg.items, "template_name": lpg.name, "template_kind": lpg.kind,
        "template_version": lpg.version, "enterprise_ids": [bottled, pipeline, vehicle],
        "inspectors": [insp.username, insp2.username]}, sup, title="2026 年冬季燃气安全大检查")
    first = s.scalar(select(Case.id).where(Case.parent_id == activity).order_by(Case.id))
    answers = [{"index": i, "result": "fail" if i in (0, 3) else "pass",
                "note": "现场发现 2 只超期未检气瓶" if i == 0 else ""} for i in range(len(lpg.items))]
    engine.claim(s.scalar(select(Task.id).where(Task.case_id == first, Task.status == "open")), insp)
    _complete(engine, s, first, "Task_fill", insp, {"rectification_days": 10, "summary": "储配站检查",
                                                    "photos": [], "answers": answers})

    # L2: an order answered by the enterprise, waiting for the inspector to verify it.
    rect = engine.start_case("rectification", {
        "enterprise_id": bottled, "hazard_class": "II", "hazard_description": "瓶库可燃气体报警器未定期校验",
        "deadline_at": (now + timedelta(days=5)).isoformat()}, insp, enterprise_id=bottled,
        title="整改 · 瓶库报警器校验")
    _complete(engine, s, rect, "Task_respond", staff, {"response": "已委托检测机构校验并取得报告", "photos": []})

    # L3: a fine over the city's threshold, filed twenty days ago; the party let the period for its statement
    # and defence run out (working days: five of them end within twenty calendar days even over the Spring
    # Festival); after legal review and collective discussion it waits for the head's approval.
    began = now - timedelta(days=20)
    pen = engine.start_case("penalty", {"enterprise_id": pipeline, "source": "complaint",
                                        "facts": "群众举报：向无资质单位供气"}, insp, enterprise_id=pipeline,
                            title="行政处罚 · 向无资质单位供气", now=began)
    _complete(engine, s, pen, "Task_file_approve", sup, {"filing_decision": "approve", "filing_comment": "同意立案"},
              now=began)
    _complete(engine, s, pen, "Task_investigate", insp,
              {"findings": "调取供气合同 3 份，询问笔录 2 份", "evidence_list": ["供气合同 3 份", "询问笔录 2 份"],
               "evidence": []}, now=began)
    _complete(engine, s, pen, "Task_propose", insp, {"penalty_type": "fine", "amount": 80000.0, "listed": True,
                                                     "legal_basis": "《城镇燃气管理条例》第四十五条"}, now=began)
    engine.run_due_timers(now)  # the periods for statement, defence and a hearing have run out
    _complete(engine, s, pen, "Task_redraft", insp, {"penalty_type": "fine", "amount": 80000.0, "listed": True,
                                                     "legal_basis": "《城镇燃气管理条例》第四十五条",
                                                     "defence_response": ""})
    _complete(engine, s, pen, "Task_legal_review", sup, {"review_decision": "approve",
                                                         "review_opinion": "事实清楚，证据确凿，适用依据正确"})
    _complete(engine, s, pen, "Task_collective", sup, {
        "discussed_at": (now - timedelta(hours=2)).isoformat(), "participants": "局长、分管副局长、法规科科长",
        "collective_decision": "approve", "minutes": "同意罚款八万元"})

    # L4: a leak reported this morning, waiting for the enterprise's emergency repair.
    engine.start_case("accident", {
        "enterprise_id": pipeline, "source": "public", "accident_type": "leak", "title": "柯桥街道中压管道泄漏",
        "occurred_at": (now - timedelta(hours=3)).isoformat(), "address": "柯桥区笛扬路与湖西路交叉口",
        "lon": 120.49, "lat": 30.08, "description": "第三方施工挖破 DN160 中压管道", "photos": [],
        "deaths": 0, "serious_injuries": 0, "direct_loss": 0},
        sup, enterprise_id=pipeline, title="事故 · 柯桥街道中压管道泄漏")

    # L5: a certificate expiring in 60 days: the renewal application is already asked for.
    engine.start_case("certificate", {
        "enterprise_id": bottled, "kind": "delivery", "number": "ZJ-SX-2023-0158", "holder": "张华",
        "issued_on": (date.today() - timedelta(days=1035)).isoformat(),
        "expires_on": (date.today() + timedelta(days=60)).isoformat()}, ent_admin, enterprise_id=bottled,
        title="送气工资格证 · 张华")

    # L6: a batch of real-name users waiting for the county's review.
    engine.start_case("data_review", {
        "data_kind": "users", "period": "2026-11", "files": [],
        "items": [{"ref": 1, "summary": "王小明 3306**********1234 柯桥区华舍街道 居民用户"},
                  {"ref": 2, "summary": "李红 3306**********5678 柯桥区柯岩街道 居民用户"},
                  {"ref": 3, "summary": "绍兴某餐饮店 91330603MA0000000X 商业用户"}]}, staff, title="实名用户 2026-11")
    _demo_data(engine, s, ent_admin, sup)
    from .info import seed_demo_info
    seed_demo_info(s)
    s.add(Setting(key=MARK, value="1"))
    s.commit()
    return True


def _demo_data(engine, s, ent_admin, sup) -> None:
    """Reported data: the bottled company's stations (accepted, so they are on the map) and a batch
    of real-name users waiting for the county's review."""
    from forms.data_kinds import KINDS_BY_KEY
    from web.common import dataflow

    stations = [
        {"external_id": "ST-01", "name": "华舍储配站", "station_type": "storage_distribution",
         "address": "柯桥区华舍街道", "head": "陈军", "phone": "13805750001", "lon": 120.47, "lat": 30.09},
        {"external_id": "ST-02", "name": "柯岩供应站", "station_type": "supply", "address": "柯桥区柯岩街道",
         "head": "孙丽", "phone": "13805750002", "lon": 120.52, "lat": 30.05},
    ]
    answer = dataflow.submit(KINDS_BY_KEY["station"], ent_admin, stations, "api")
    task_id = s.scalar(select(Task.id).where(Task.case_id == answer["case"], Task.status == "open"))
    engine.complete_task(task_id, sup, {"review": [{"ref": 1, "decision": "accept", "reason": ""},
                                                   {"ref": 2, "decision": "accept", "reason": ""}]})
    users = [
        {"external_id": "U-0001", "name": "王小明", "id_number": "11010519491231002X", "user_type": "residential",
         "phone": "13912345678", "address": "柯桥区华舍街道 12 幢"},
        {"external_id": "U-0002", "name": "绍兴某餐饮店", "user_type": "commercial", "phone": "0575-88001234",
         "address": "柯桥区柯岩街道 8 号"},
    ]
    dataflow.submit(KINDS_BY_KEY["gas_user"], ent_admin, users, "api")
    _demo_volumes(engine, s, ent_admin, sup)
    _demo_cylinders(engine, s, ent_admin, sup)
    from .monitoring import seed_demo_cameras, seed_demo_readings

    seed_demo_cameras(engine, s, ent_admin, sup)
    seed_demo_readings(s)


def _demo_volumes(engine, s, ent_admin, sup) -> None:
    """Forty days of the bottled company's station volumes (A1.9), plausible and so accepted as they
    come, so the statistics pages show a chart over two months."""
    from forms.data_kinds import KINDS_BY_KEY
    from web.common import dataflow

    today = date.today()
    days = [today - timedelta(days=n) for n in range(40, 0, -1)]
    records, stock = [], 5200.0
    for i, d in enumerate(days):
        inbound, supplied = 2400 + 40 * (i % 7), 2100 + 35 * (i % 5)
        stock = stock + inbound - supplied if i else stock  # the stock balances: accepted without a review
        records.append({"external_id": f"DV-{d.isoformat()}", "date": d.isoformat(), "station": "华舍储配站",
                        "unit": "kg", "inbound": inbound, "supplied": supplied, "stock": stock,
                        "delivered": 1950 + 30 * (i % 6)})
    answer = dataflow.submit(KINDS_BY_KEY["daily_volume"], ent_admin, records, "api")
    pending = sum(a["status"] == "pending" for a in answer["accepted"])
    if pending:  # exceptions to the plausibility checks wait for the county's review
        task_id = s.scalar(select(Task.id).where(Task.case_id == answer["case"], Task.status == "open"))
        engine.complete_task(task_id, sup, {"review": [{"ref": i + 1, "decision": "accept", "reason": ""}
                                                       for i in range(pending)]})


def _demo_cylinders(engine, s, ent_admin, sup) -> None:
    """Two cylinders of the bottled company with a life to trace (A1.4): filled, delivered to a registered
    user, one returned; one inspection. The second falls due within the month, so its notice shows."""
    from forms.data_kinds import KINDS_BY_KEY
    from web.common import dataflow

    def accepted(kind, records):
        answer = dataflow.submit(KINDS_BY_KEY[kind], ent_admin, records, "api")
        pending = sum(a["status"] == "pending" for a in answer["accepted"])
        if pending:
            task_id = s.scalar(select(Task.id).where(Task.case_id == answer["case"], Task.status == "open"))
            engine.complete_task(task_id, sup, {"review": [{"ref": i + 1, "decision": "accept", "reason": ""}
                                                           for i in range(pending)]})

    today, now = date.today(), datetime.now(UTC)

    def ago(days, hours=0):
        return (now - timedelta(days=days, hours=hours)).isoformat()

    accepted("gas_user", [{"external_id": "U-0003", "name": "陈阿姨", "user_type": "residential",
                           "address": "柯桥区柯岩街道 5 幢 301 室"}])
    accepted("cylinder", [
        {"external_id": "SX-LPG-0001", "code": "SX-LPG-0001", "manufacturer": "浙江某钢瓶制造有限公司",
         "spec": "YSP35.5", "made_on": "2022-05-10", "status": "in_stock",
         "next_inspection_on": (today + timedelta(days=700)).isoformat()},
        {"external_id": "SX-LPG-0002", "code": "SX-LPG-0002", "manufacturer": "浙江某钢瓶制造有限公司",
         "spec": "YSP35.5", "made_on": "2021-03-02", "status": "at_user",
         "next_inspection_on": (today + timedelta(days=20)).isoformat()}])
    accepted("cylinder_inspection", [
        {"external_id": "JY-0001", "cylinder_code": "SX-LPG-0001", "inspected_on": (today - timedelta(days=30))
         .isoformat(), "result": "pass", "inspection_unit": "绍兴市特种设备检测院",
         "next_due_on": (today + timedelta(days=700)).isoformat()}])
    accepted("cylinder_movement", [
        {"external_id": "LZ-0001", "cylinder_code": "SX-LPG-0001", "movement": "in", "at": ago(12),
         "station": "华舍储配站"},
        {"external_id": "LZ-0002", "cylinder_code": "SX-LPG-0001", "movement": "out", "at": ago(10),
         "station": "华舍储配站", "user_ref": "U-0003"},
        {"external_id": "LZ-0003", "cylinder_code": "SX-LPG-0001", "movement": "return", "at": ago(2),
         "station": "柯岩供应站"},
        {"external_id": "LZ-0004", "cylinder_code": "SX-LPG-0002", "movement": "in", "at": ago(4),
         "station": "柯岩供应站"},
        {"external_id": "LZ-0005", "cylinder_code": "SX-LPG-0002", "movement": "out", "at": ago(3),
         "station": "柯岩供应站", "user_ref": "U-0003"}])
    accepted("delivery_order", [
        {"external_id": "DD-0001", "order_no": "DD-0001", "user_ref": "U-0003", "ordered_at": ago(3, 5),
         "delivered_at": ago(3, 2), "cylinder_codes": "SX-LPG-0002", "staff": "张华"}])
