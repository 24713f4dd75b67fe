"""Rectification periods by hazard class, and the verification period, from the DMN table
``rectification_period`` (bpmn/rectification_period.dmn, changed by the city admin by uploading a
new version). Forms read it to propose a deadline and to refuse one past the class's period; the
model reads the same table in its business rule tasks.

``period(session, stage, hazard_class)`` → ``Period(amount, unit)``; stages: ``rectify`` (by class),
``verify``, ``verify_escalate`` and ``extension``. ``latest_deadline(session, stage, hazard_class,
start)``: where that period, counted from ``start`` on the working-day calendar, ends.
"""
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy.orm import Session

from workflows.engine.decisions import DecisionCache, decision_xml, newest_decision
from workflows.engine.scripting import restricted_script_engine
from workflows.errors import ModelRuntimeError

from . import working_days

DECISION_KEY = "rectification_period"
_engines = DecisionCache()


@dataclass(frozen=True)
class Period:
    amount: float
    unit: str  # hours, days, working_days

    def end(self, session: Session | None, start: datetime) -> datetime:
        return working_days.period_end(session, start, self.amount, self.unit)


def period(session: Session, stage: str, hazard_class: str | None = None) -> Period:
    row = newest_decision(session, DECISION_KEY)
    if row is None:
        raise ModelRuntimeError(f"no decision table '{DECISION_KEY}'")
    engine = _engines.engine(row.id, decision_xml(session, row.id))
    task = SimpleNamespace(data={"period_stage": stage, "hazard_class": hazard_class or ""},
                           workflow=SimpleNamespace(script_engine=restricted_script_engine()))
    outcome = engine.result(task) or {}
    if outcome.get("period_amount") is None or outcome.get("period_unit") not in working_days.UNITS:
        raise ModelRuntimeError(f"'{DECISION_KEY}' gives no period for {stage} {hazard_class or ''}".strip())
    return Period(float(outcome["period_amount"]), str(outcome["period_unit"]))


def latest_deadline(session: Session, stage: str, hazard_class: str | None, start: datetime) -> datetime:
    return period(session, stage, hazard_class).end(session, start)
