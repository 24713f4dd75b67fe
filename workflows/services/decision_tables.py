"""The newest version of a decision table (DMN, ``bpmn/*.dmn``, changed by the city admin) evaluated on inputs."""
import hashlib
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select

from models import DecisionModel
from workflows.engine.decisions import DecisionCache
from workflows.engine.scripting import restricted_script_engine
from workflows.transaction_memo import once

_decisions = DecisionCache()
_script_engine = restricted_script_engine()


@dataclass
class Decision:
    key: str
    version: int
    rules: list  # [{"row", "description", "outputs"}] of the rules that matched


def decide(session, key: str, inputs: dict) -> Decision:
    """Evaluate the newest version of DMN table ``key`` on ``inputs``: every matched rule with its outputs."""
    # Read once a transaction: a page of an enterprise's reports asks for the same table once per row.
    version, engine = once(session, ("newest decision table", key), lambda: _newest(session, key))
    task = SimpleNamespace(data=dict(inputs), workflow=SimpleNamespace(script_engine=_script_engine))
    matched = engine.decide(task)
    return Decision(key, version, [{"row": r.row_number, "description": r.description or "",
                                    "outputs": dict(r.output_as_dict(task))} for r in matched])


def _newest(session, key: str):
    model = session.scalar(select(DecisionModel).where(DecisionModel.key == key)
                           .order_by(DecisionModel.version.desc()).limit(1))
    if model is None:
        raise LookupError(f"no decision table '{key}'")
    # Parsed tables are kept by their content, not their row id: an id can name another table after a database
    # is restored (a backup, each test's fresh copy) while the process keeps running.
    return model.version, _decisions.engine(hashlib.sha256(model.dmn_xml.encode("utf-8")).hexdigest(), model.dmn_xml)
