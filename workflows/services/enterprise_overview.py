"""An enterprise's portal home (§5.5): what it has to do, where its reported data stands, its open warnings,
its inspection scores over time and its staff's training. Each part is read through the same scope rule
as its own pages (tasks, cases, warnings), so the home shows nothing its viewer could not open."""
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import load_only, selectinload

from models import TASK_OPEN, WARNING_OPEN, Case, DataBatch, EarlyWarning, Enterprise, Task
from workflows import access
from workflows.roles import ENTERPRISE

from . import training_records as training

# What the enterprise's open tasks are about, by the form they are done with.
TASK_GROUPS = {"rectification_respond": "orders", "certificate_apply": "certificates", "data_correct": "data"}
INSPECTION = "inspection"


@dataclass
class Overview:
    enterprise: Enterprise
    tasks: dict = field(default_factory=dict)  # group → [Task]
    batches: list = field(default_factory=list)  # latest DataBatch per data kind
    warnings: list = field(default_factory=list)
    scores: list = field(default_factory=list)  # [{"case": Case, "at": datetime, "score": int, ...}]
    training: list = field(default_factory=list)  # [(Trainee, TrainingSession)]

    @property
    def open_task_count(self) -> int:
        return sum(len(v) for v in self.tasks.values())


def visible_enterprise(s, viewer, enterprise_id: int) -> Enterprise | None:
    return s.scalar(select(Enterprise).where(Enterprise.id == enterprise_id, access.enterprise_scope(viewer)))


def open_tasks(s, viewer, enterprise_id: int) -> dict:
    rows = s.scalars(select(Task).options(selectinload(Task.case))
                     .where(access.task_scope(viewer), Task.status == TASK_OPEN, Task.role == ENTERPRISE,
                            Task.enterprise_id == enterprise_id)
                     .order_by(Task.due_at.is_(None), Task.due_at, Task.id)).all()
    groups = {"orders": [], "certificates": [], "data": [], "other": []}
    for task in rows:
        groups[TASK_GROUPS.get(task.form_key, "other")].append(task)
    return groups


def latest_batches(s, enterprise_id: int) -> list[DataBatch]:
    latest = (select(func.max(DataBatch.id)).where(DataBatch.enterprise_id == enterprise_id)
              .group_by(DataBatch.kind))
    return list(s.scalars(select(DataBatch).where(DataBatch.id.in_(latest)).order_by(DataBatch.kind)).all())


def open_warnings(s, viewer, enterprise_id: int) -> list[EarlyWarning]:
    return list(s.scalars(select(EarlyWarning).where(access.warning_scope(viewer), EarlyWarning.status == WARNING_OPEN,
                                                     EarlyWarning.enterprise_id == enterprise_id)
                          .order_by(EarlyWarning.level, EarlyWarning.started_at.desc())).all())


def score_history(s, viewer, enterprise_id: int, limit: int = 50) -> list[dict]:
    """Inspection scores, oldest first: the model's Script_score writes ``score`` (0–100), ``qualified``
    and ``problem_count`` into the inspection case's data once the checklist is filled."""
    columns = load_only(Case.id, Case.title, Case.data, Case.created_at, Case.completed_at)
    cases = s.scalars(select(Case).options(columns)
                      .where(access.case_scope(viewer), Case.process_key == INSPECTION,
                             Case.enterprise_id == enterprise_id)
                      .order_by(Case.id.desc()).limit(limit * 2)).all()
    out = []
    for case in cases:
        data = case.data or {}
        if isinstance(data.get("score"), int | float):
            out.append({"case": case, "at": case.completed_at or case.created_at, "score": data["score"],
                        "qualified": data.get("qualified"), "problem_count": data.get("problem_count", 0)})
    out.sort(key=lambda r: (r["at"], r["case"].id))
    return out[-limit:]


def overview(s, viewer, enterprise: Enterprise) -> Overview:
    return Overview(enterprise=enterprise, tasks=open_tasks(s, viewer, enterprise.id),
                    batches=latest_batches(s, enterprise.id), warnings=open_warnings(s, viewer, enterprise.id),
                    scores=score_history(s, viewer, enterprise.id),
                    training=training.staff_records(s, enterprise.id))
