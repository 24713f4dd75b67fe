"""The first version of the penalty model (bpmn/penalty.bpmn before the procedure of the Administrative
Penalty Law 2021 was modelled), kept in tests/bpmn/penalty_2025.bpmn: cases started on it keep it, so its
paths are still tested. Deploying it makes it the newest version for the test that asks for it."""
from pathlib import Path

import pytest

PENALTY_2025 = Path(__file__).resolve().parent / "bpmn" / "penalty_2025.bpmn"


@pytest.fixture
def penalty_2025(engine):
    model_id, created = engine.deploy(PENALTY_2025.read_bytes())
    assert created
    return model_id


# The second version (the procedure of the Administrative Penalty Law 2021), which counted the procedure's short
# periods in calendar days, and the periods table of its time (no hearing_request_days, hearing_notice_days,
# service_days, court_days): the cases started on it before bpmn/penalty.bpmn counted working days (art. 85).
PENALTY_2026_CALENDAR_DAYS = PENALTY_2025.parent / "penalty_2026_calendar_days.bpmn"
PENALTY_PERIODS_2026 = PENALTY_2025.parent / "penalty_periods_2026_calendar_days.dmn"
BPMN_DIR = PENALTY_2025.parent.parent.parent / "bpmn"


def deploy_calendar_days_version(engine) -> None:
    """Make the calendar-days version and its periods table the newest: a case started now is one such case.
    The table is stored as it was then, not uploaded: an upload may no longer drop the outputs (the
    working-day periods) the current table has."""
    from models import DecisionModel
    from workflows.engine.decisions import read_dmn

    table = read_dmn(PENALTY_PERIODS_2026.read_bytes())
    _id, created = engine._store_version(DecisionModel, table.key, table.checksum,
                                         {"name": table.name, "dmn_xml": table.xml, "created_by_id": None})
    assert created
    _kind, _id, created = engine.deploy_file(PENALTY_2026_CALENDAR_DAYS.read_bytes())
    assert created


def deploy_current_again(engine, note: str) -> None:
    """Make bpmn/penalty.bpmn and bpmn/penalty_periods.dmn the newest again (the same files with ``note``
    added: a version is its content)."""
    for name, end in (("penalty_periods.dmn", b"</definitions>"), ("penalty.bpmn", b"</bpmn:definitions>")):
        content = (BPMN_DIR / name).read_bytes().replace(end, f"<!-- {note} -->\n".encode() + end)
        _kind, _id, created = engine.deploy_file(content)
        assert created
