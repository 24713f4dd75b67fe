"""What the rectification model (L2) tells people: the supervisor's answer to an extension request
(to the enterprise), and the reminder that the verification period has run out (to whoever holds
the verification). Messages ``rectification.extension_answered`` and ``rectification.remind``."""
from datetime import datetime

from sqlalchemy import select

from models import TASK_OPEN, Task
from workflows import notify

from .documents.numbering import LOCAL_TZ


def _local(value) -> str:
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return instant.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if instant.tzinfo else instant.strftime(
        "%Y-%m-%d %H:%M")


def extension_answered(s, case, payload, actor, now) -> None:
    data = case.data or {}
    deadline = _local(data.get("deadline_at"))
    if payload == "approve":
        text = f"延期申请已批准，新的整改期限：{deadline}（北京时间）。"
    else:
        reason = str(data.get("extension_comment") or "").strip()
        text = f"延期申请未获批准，整改期限：{deadline}（北京时间）。" + (f"理由：{reason}" if reason else "")
    notify.add(s, notify.enterprise_users(s, case.enterprise_id), notify.MESSAGE, now, case_id=case.id,
               text=f"{case.title}：{text}")


def remind(s, case, payload, actor, now) -> None:
    data = case.data or {}
    rows = s.scalars(select(Task).where(Task.case_id == case.id, Task.status == TASK_OPEN,
                                        Task.spec_name == "Task_verify")).all()
    text = (f"{case.title}：整改核查期限已到，请尽快核查；{_local(data.get('verify_escalate_at'))}（北京时间）"
            f"前未核查的，报县级主管部门督办。")
    for row in rows:
        notify.add(s, notify.task_audience(s, row), notify.MESSAGE, now, case_id=case.id, task_id=row.id, text=text)


HANDLERS = {
    "rectification.extension_answered": extension_answered,
    "rectification.remind": remind,
}
