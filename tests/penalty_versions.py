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
