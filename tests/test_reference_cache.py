"""The working calendar's adjustments and the decision tables' newest versions are kept by each process
(workflows/reference_cache.py): a transition reads neither table, and a change that another process
commits (the city admin's calendar page, a table uploaded) counts from the very next transition."""
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import statements
from flows import complete, open_order, task_named
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from workflows.engine import clock

BEIJING = ZoneInfo("Asia/Shanghai")
TABLE = Path(__file__).resolve().parent.parent / "bpmn" / "rectification_period.dmn"


def beijing(*args) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def deadline_of(case: dict) -> datetime:
    return datetime.fromisoformat(case["data"]["deadline_at"])


def verify_due(api, case_id: int) -> datetime:
    return datetime.fromisoformat(task_named(api("keqiao_inspector"), case_id, "Task_verify")["due_at"])


def test_a_change_committed_by_another_process_counts_from_the_next_transition(app, api, database_url):
    from models import CalendarAdjustment
    from workflows.engine.case_engine import CaseEngine

    staff = api("kq_bottled_staff")
    # Wednesday Sep 30, 2026, 10:00. A class II order has 3 working days (Oct 8, 9 and the make-up Saturday
    # Oct 10); the answer's verification 2 (Oct 8, 9). Both read the calendar and the table, now kept.
    with clock.frozen_at(beijing(2026, 9, 30, 10)):
        first, second, third = (open_order(api, app, hazard_class="II", deadline_at=None) for _ in range(3))
        assert deadline_of(first) == beijing(2026, 10, 10, 23, 59, 59)
        complete(staff, first["id"], "Task_respond", {"response": "已整改"})
    assert verify_due(api, first["id"]) == beijing(2026, 10, 9, 23, 59, 59)

    # Another process (its own engine, its own connection) declares Oct 8 a day off.
    other = create_engine(database_url, poolclass=NullPool)
    try:
        with Session(other) as s:
            s.add(CalendarAdjustment(day=date(2026, 10, 8), working=False, note="台风停工"))
            s.commit()
        with clock.frozen_at(beijing(2026, 9, 30, 10)):
            # Oct 9, 10 and Monday Oct 12; the verification Oct 9, 10.
            assert deadline_of(open_order(api, app, hazard_class="II", deadline_at=None)) \
                == beijing(2026, 10, 12, 23, 59, 59)
            complete(staff, second["id"], "Task_respond", {"response": "已整改"})
        assert verify_due(api, second["id"]) == beijing(2026, 10, 10, 23, 59, 59)

        # Another process uploads a new version of the periods table: class II 4 working days, verification 3.
        xml = TABLE.read_text(encoding="utf-8")
        xml = re.sub(r'(<outputEntry id="Out_II_amount"><text>)3<', r"\g<1>4<", xml)
        xml = re.sub(r'(<outputEntry id="Out_verify_amount"><text>)2<', r"\g<1>3<", xml)
        created = CaseEngine(sessionmaker(other), []).deploy_decision(xml.encode("utf-8"))[1]
        assert created
        with clock.frozen_at(beijing(2026, 9, 30, 10)):
            assert deadline_of(open_order(api, app, hazard_class="II", deadline_at=None)) \
                == beijing(2026, 10, 13, 23, 59, 59)
            complete(staff, third["id"], "Task_respond", {"response": "已整改"})
        assert verify_due(api, third["id"]) == beijing(2026, 10, 12, 23, 59, 59)

        # And the day off taken back, by a statement of its own (no object loaded).
        with Session(other) as s:
            from sqlalchemy import delete
            s.execute(delete(CalendarAdjustment))
            s.commit()
        with clock.frozen_at(beijing(2026, 9, 30, 10)):
            # Oct 8, 9, 10, 12 with the new table.
            assert deadline_of(open_order(api, app, hazard_class="II", deadline_at=None)) \
                == beijing(2026, 10, 12, 23, 59, 59)
    finally:
        other.dispose()


def test_a_transition_reads_neither_the_calendar_nor_the_decision_tables(app, api):
    staff = api("kq_bottled_staff")
    open_order(api, app, hazard_class="II", deadline_at=None)  # the process keeps them from here on
    with statements(app) as seen:
        case = open_order(api, app, hazard_class="II", deadline_at=None)
        opened = len(seen)
        complete(staff, case["id"], "Task_respond", {"response": "已整改"})
    assert case["data"]["deadline_at"] and verify_due(api, case["id"])
    for part in (seen[:opened], seen[opened:]):
        assert not [s for s in part if "FROM calendar_adjustments" in s or "FROM decision_models" in s], part
        # The revision is checked inside a statement the transition runs anyway, not by one of its own.
        assert not [s for s in part if s.startswith("SELECT reference_revision.token")], part
