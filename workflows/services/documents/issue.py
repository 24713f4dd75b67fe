"""Issue a document of a case: number it once, render it, keep it as the case's attachment.

The engine calls ``issue_document`` for the ``document.issue`` message a model throws (the payload
names the kind), in the transition's transaction: the number and the wording are fixed there. The
PDF is rendered after the commit (``dispatch``) by ``render_pending``. Issuing again (a model
throwing it twice, or ``issue_document`` called to re-render) keeps the number and the date and
replaces the PDF.
"""
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Boolean, Integer, String, bindparam, exists, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.orm import Session, aliased

from models import Attachment, Case, DocumentCounter, Enterprise, IssuedDocument, Region
from models.loaded import persisted
from workflows import held_rows, notify, transaction_memo
from workflows.attachments import new_attachment, refill
from workflows.engine import period_kinds
from workflows.errors import ModelRuntimeError
from workflows.services import presentation

from .dispatch import render_with, to_render
from .numbering import LOCAL_TZ, document_year, format_number, next_serial
from .render import render
from .templates import (
    HAZARD_CLASSES,
    KINDS,
    PAYMENT_FINE,
    PAYMENT_NONE,
    PENALTY_TYPES,
    RECTIFICATION_NOTICE,
    RECTIFICATION_REVIEW,
    DocumentKind,
)

MESSAGE = "document.issue"
log = logging.getLogger(__name__)


def issue_document(s: Session, case: Case, payload, actor, now: datetime) -> IssuedDocument:
    kind = KINDS.get(str(payload))
    if kind is None:
        raise ModelRuntimeError(f"{MESSAGE}: unknown document {payload!r} (known: {', '.join(sorted(KINDS))})")
    if case.enterprise_id is None:
        raise ModelRuntimeError(f"{MESSAGE}: a {kind.key} is addressed to an enterprise; this case has none")
    year = document_year(now)
    # Whatever the ORM holds goes first, as its autoflush would order it (nothing, after an engine step:
    # the engine writes its case and task rows itself, the case after its handlers).
    s.flush()
    held_rows.write(s, ("issued_documents",))  # one this transition issued before: the read below sees it
    postgresql = s.get_bind().dialect.name == "postgresql"
    # On the session's connection (flushed above): the ORM's execution path cost more than the statement.
    rows = s.connection().execute(_ISSUE_READ[postgresql], {
        "enterprise": case.enterprise_id, "county": case.county_id, "case": case.id, "kind": kind.key,
        "year": year, "repeat": kind.repeatable}).all()
    if not rows:  # the counter was not bumped either: the bump reads the enterprise too
        raise ModelRuntimeError(f"{MESSAGE}: a {kind.key} is addressed to an enterprise; this case has none")
    enterprise = rows[0]
    if case.county_id is not None:  # the authority and the review body name it: read with the rest
        named = (enterprise.county_name, enterprise.parent_name) if enterprise.county_name is not None else None
        transaction_memo.once(s, ("region_and_parent", case.county_id), lambda: named)
    issued = {r.kind: r for r in rows if r.kind is not None}
    known = None if kind.repeatable else issued.get(kind.key)
    if known is not None:  # issued before: keeps its number and date, the wording is fixed again
        doc = s.get(IssuedDocument, known.id)
        doc.fields = fields(s, kind, case, enterprise, doc, actor, issued)
        doc.rendered_at = None
        s.flush()
        to_render(s, doc.id)
        _tell_party(s, kind, case, doc, now)
        return doc
    serial = enterprise.serial if postgresql else next_serial(s, kind.key, year)
    # The nth of a repeatable kind (the case is locked by its transition: no other issues one meanwhile).
    occurrence = sum(1 for r in rows if r.kind == kind.key) + 1 if kind.repeatable else 0
    doc = IssuedDocument(case_id=case.id, kind=kind.key, occurrence=occurrence, year=year, serial=serial,
                         number=format_number(kind.prefix, year, serial), issued_at=now,
                         attachment_id=None, rendered_at=None)
    doc.fields = fields(s, kind, case, enterprise, doc, actor, issued)
    # A Core INSERT: the unit of work cost more than the statement (`prof_api.py`, profiled). The
    # caller still gets the row as the session's object, loaded as inserted. On PostgreSQL its id came
    # with its number, and the row is written with the transition's other rows, by the case's UPDATE.
    if postgresql:
        doc.id = enterprise.document_id
        held_rows.held_or_written(s, "issued_documents",
                                  [{c: getattr(doc, c) for c in held_rows.columns("issued_documents")}])
    else:
        doc.id = s.execute(_INSERT_DOCUMENT, {c: getattr(doc, c) for c in _DOCUMENT_COLUMNS}).scalar_one()
    persisted(s, IssuedDocument, doc)
    to_render(s, doc.id)
    _tell_party(s, kind, case, doc, now)
    return doc


def _tell_party(s: Session, kind: DocumentKind, case: Case, doc: IssuedDocument, now: datetime) -> None:
    """The party's people told on the platform of a document that needs no step of theirs (a hearing's time and
    place), with what it says: they learn of it the day it is issued, not only when it is served."""
    if kind.tell_party and kind.addressed:
        notify.add(s, notify.enterprise_users(s, case.enterprise_id), notify.MESSAGE, now, case_id=case.id,
                   text=kind.tell_party.format_map(doc.fields))  # the placeholders the PDF is rendered with


# The one read of an issue (built once, Core: the ORM's part was most of its cost): the enterprise
# the document is addressed to, the county's and its parent's names (the issuing authority), the
# case's documents (one issued before keeps its number; a review quotes the notice). On PostgreSQL
# the same statement takes the number: the counter's upsert in a WITH clause (SQLite allows no INSERT
# there), made only when the case has no document of the kind yet and the enterprise exists, so a
# re-issue or a refused one takes none. The row lock queues concurrent issuers as next_serial's does.
_DOCS, _ENTERPRISES, _COUNTERS = IssuedDocument.__table__, Enterprise.__table__, DocumentCounter.__table__
_COUNTY_ROW, _PARENT_ROW = Region.__table__.alias("county"), Region.__table__.alias("county_parent")
# The columns a held document is written with (workflows/held_rows.py), but its id: one list, so that a column
# added there is written on both databases.
_DOCUMENT_COLUMNS = tuple(c for c in held_rows.columns("issued_documents") if c != "id")
_INSERT_DOCUMENT = insert(_DOCS).returning(_DOCS.c.id)


def _issue_read(postgresql: bool):
    query = select(
        _ENTERPRISES.c.name, _ENTERPRISES.c.uscc, _ENTERPRISES.c.address,
        _COUNTY_ROW.c.name.label("county_name"), _PARENT_ROW.c.name.label("parent_name"),
        _DOCS.c.id, _DOCS.c.kind, _DOCS.c.number, _DOCS.c.issued_at,
    ).select_from(
        _ENTERPRISES.outerjoin(_COUNTY_ROW, _COUNTY_ROW.c.id == bindparam("county", type_=Integer))
        .outerjoin(_PARENT_ROW, _PARENT_ROW.c.id == _COUNTY_ROW.c.parent_id)
        .outerjoin(_DOCS, _DOCS.c.case_id == bindparam("case", type_=Integer))
    ).where(_ENTERPRISES.c.id == bindparam("enterprise", type_=Integer))
    if not postgresql:
        return query
    kind, year = bindparam("kind", type_=String), bindparam("year", type_=Integer)
    # A repeatable kind takes a number every time; any other only for the case's first document of the kind.
    first = select(kind, year, literal(1, Integer)).where(
        _ENTERPRISES.c.id == bindparam("enterprise", type_=Integer),
        or_(bindparam("repeat", type_=Boolean),
            ~exists().where(_DOCS.c.case_id == bindparam("case", type_=Integer), _DOCS.c.kind == kind)))
    bump = (postgresql_insert(_COUNTERS).from_select(["kind", "year", "last"], first)
            .on_conflict_do_update(index_elements=[_COUNTERS.c.kind, _COUNTERS.c.year],
                                   set_={"last": _COUNTERS.c.last + 1})
            .returning(_COUNTERS.c.last).cte("bumped"))
    # The new document's id with its number (none when no number was taken): its row can then wait for
    # the transition's end (workflows/held_rows.py). An uncorrelated subquery: run once, whatever the rows.
    document_id = select(func.nextval(func.pg_get_serial_sequence(_DOCS.name, "id"))).select_from(bump)
    return query.add_columns(select(bump.c.last).scalar_subquery().label("serial"),
                             document_id.scalar_subquery().label("document_id"))


_ISSUE_READ = {False: _issue_read(False), True: _issue_read(True)}


def render_pending(s: Session, ids: Iterable[int] | None = None, limit: int = 200,
                   now: datetime | None = None) -> int:
    """Render the PDFs still due (of ``ids``, or any), each in a transaction of its own; returns how
    many this call rendered. Safe to run in several processes at once: a document is claimed by the
    UPDATE that marks it rendered, which commits only with its PDF."""
    query = select(IssuedDocument.id).where(IssuedDocument.rendered_at.is_(None))
    if ids is not None:
        query = query.where(IssuedDocument.id.in_(list(ids)))
    due = s.scalars(query.order_by(IssuedDocument.id).limit(limit)).all()
    s.rollback()
    done, failed = 0, []
    for doc_id in due:
        stamp = now or datetime.now(UTC)
        claimed = s.execute(update(IssuedDocument).where(IssuedDocument.id == doc_id,
                                                         IssuedDocument.rendered_at.is_(None))
                            .values(rendered_at=stamp)).rowcount
        if not claimed:  # rendered meanwhile by another process
            s.rollback()
            continue
        try:
            _attach_pdf(s, s.get(IssuedDocument, doc_id), stamp)
            s.commit()
        except Exception:
            # Still pending, tried again next round; one document that fails must not hold up the others.
            s.rollback()
            log.exception("document %s could not be rendered", doc_id)
            failed.append(doc_id)
            continue
        done += 1
    if failed:  # the job or the periodic round shows as failed, and is retried
        raise RuntimeError(f"documents not rendered: {failed} (rendered: {done})")
    return done


def _attach_pdf(s: Session, doc: IssuedDocument, now: datetime) -> None:
    kind = KINDS[doc.kind]
    case = s.get(Case, doc.case_id)
    values = doc.fields
    if values is None:  # issued before the wording was kept with the number
        values = fields(s, kind, case, s.get(Enterprise, case.enterprise_id), doc)
    elif kind.key == "penalty_decision" and "review_body" not in values:
        # Fixed before the decision named its review body and the party's defence.
        values = {"evidence": "", "defence": "", "review_body": review_body(s, case), **values}
    elif kind.key == "penalty_reminder" and "court_period" not in values:
        # Fixed before the reminder's period was the model's: it said 十日.
        values = {**values, "court_period": "十日"}
    content = render(kind, values, doc.issued_at)
    filename = f"{kind.title} {doc.number}.pdf"
    att = s.get(Attachment, doc.attachment_id) if doc.attachment_id is not None else None
    if att is None:
        att = new_attachment(filename, "application/pdf", content, case_id=case.id,
                             enterprise_id=case.enterprise_id, created_at=now)
        s.add(att)
    else:
        refill(att, filename, "application/pdf", content)
    s.flush()
    doc.attachment_id = att.id


def fields(s: Session, kind: DocumentKind, case: Case, enterprise: Enterprise, doc: IssuedDocument,
           actor=None, issued: dict | None = None) -> dict:
    """What the placeholders of the kind's text stand for, from the case and its enterprise.
    ``issued``: the case's documents by kind, when the caller has read them."""
    data = case.data or {}
    out = {
        "authority": authority(s, case), "number": doc.number, "date": chinese_date(doc.issued_at),
        "enterprise": enterprise.name, "uscc": enterprise.uscc, "address": enterprise.address or "—",
        "case_id": str(case.id),
        "hazard_description": str(data.get("hazard_description") or ""),
        "hazard_class": HAZARD_CLASSES.get(str(data.get("hazard_class")), str(data.get("hazard_class") or "")),
        "deadline": chinese_instant(data.get("deadline_at")),
        "facts": str(data.get("facts") or ""), "findings": str(data.get("findings") or ""),
        "legal_basis": str(data.get("legal_basis") or ""),
    }
    if kind.key == RECTIFICATION_REVIEW:
        out.update(_review_fields(s, case, data, actor, issued))
    penalty_type = str(data.get("penalty_type") or "")
    amount = _amount(data.get("amount"))
    out["penalty"] = _penalty(penalty_type, data.get("amount"))
    if penalty_type in ("fine", "confiscation") and amount:
        out["payment"] = PAYMENT_FINE.format(amount=amount)
    else:
        out["payment"] = PAYMENT_NONE
    out["review_body"] = review_body(s, case)
    if case.process_key == "penalty":
        out.update(_procedure_fields(s, kind, case, data, doc.issued_at))
    return out


def _penalty(penalty_type: str, amount) -> str:
    label = PENALTY_TYPES.get(penalty_type, penalty_type)
    shown = _amount(amount)
    return f"{label}，人民币{shown}元" if penalty_type in ("fine", "confiscation") and shown else label


SOURCES = {"rectification_overdue": "整改逾期", "rectification_failed": "屡改不合格", "inspection": "监督检查",
           "accident": "事故调查", "complaint": "投诉举报", "other": "其他"}
SERVICE_METHODS = {"direct": "直接送达", "left": "留置送达", "post": "邮寄送达", "electronic": "电子送达"}


def _procedure_fields(s: Session, kind: DocumentKind, case: Case, data: dict, issued_at: datetime) -> dict:
    """The placeholders of the penalty procedure's documents (the second version of the model)."""
    evidence = data.get("evidence_list")
    out = {
        "source": SOURCES.get(str(data.get("source")), str(data.get("source") or "")),
        "discovered": chinese_instant(data.get("discovered_at")),
        "filing_due": chinese_instant(data.get("filing_due")),
        "filed": chinese_instant(data.get("filed_at")),
        "evidence": "；".join(str(e) for e in evidence) if isinstance(evidence, list) and evidence else "",
        "notified_basis": str(data.get("notified_basis") or data.get("legal_basis") or ""),
        "notified_penalty": _penalty(str(data.get("notified_type") or ""), data.get("notified_amount")),
        "defence_due": chinese_instant(data.get("defence_due")),
        "hearing_right": ("根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，你单位有权要求听证。"
                          f"要求听证的，应当在{chinese_instant(data.get('hearing_request_due'))}前通过燃气管理平台提出。"
                          if data.get("hearing_right") else ""),
        "hearing_at": chinese_instant(data.get("hearing_at")),
        "postponed_from": chinese_instant(data.get("postponed_from")),
        "postponement_reason": _cause(data.get("postponement_reason")),
        "hearing_place": str(data.get("hearing_place") or ""),
        "presiding": str(data.get("presiding") or ""),
        "decided": chinese_instant(data.get("decided_at")),
        "served": chinese_instant(data.get("served_at")),
        "payment_due": chinese_instant(data.get("payment_due")),
        "decided_amount": _amount(data.get("decided_amount")) or "0.00",
        "close_summary": str(data.get("close_summary") or ""), "defence": "", "days_late": "0", "surcharge": "0.00",
        "execution": "", "archive": "", "court_period": court_period(data),
    }
    if data.get("hearing_outcome") == "ended":
        # Art. 64 (8): the party that stayed away or left without leave waived its hearing.
        out["defence"] = (("当事人在法定期限内提出了陈述、申辩意见，" if data.get("defended") else "")
                          + "当事人申请听证后无正当理由拒不出席或者未经许可中途退出听证，视为放弃听证权利，"
                          + "本机关经复核认为：" + str(data.get("defence_response") or ""))
    elif data.get("defended") or data.get("hearing_held"):
        out["defence"] = ("当事人在法定期限内提出了陈述、申辩意见" + ("并经听证" if data.get("hearing_held") else "")
                          + "，本机关经复核认为：" + str(data.get("defence_response") or ""))
    elif data.get("notified_at"):
        out["defence"] = ("本机关已依法告知当事人拟作出的行政处罚及其享有的权利，"
                          "当事人在规定期限内未提出陈述、申辩意见。")
    decision = s.scalar(select(IssuedDocument.number).where(IssuedDocument.case_id == case.id,
                                                            IssuedDocument.kind == "penalty_decision"))
    out["decision_number"] = decision or ""
    due = _instant(data.get("payment_due"))
    if kind.key == "penalty_reminder":
        # In the unit the case's version counts the court's wait in (its BPMN read here: a reminder is rare).
        out["court_period"] = court_period(data, period_kinds.of_model(s, case.process_model_id).amounts.get(
            "court_days"))
    if kind.key == "penalty_reminder" and due is not None:
        late = max(0, (issued_at.astimezone(LOCAL_TZ).date() - due.astimezone(LOCAL_TZ).date()).days)
        fine = float(data.get("decided_amount") or 0)
        out["days_late"] = str(late)
        out["surcharge"] = f"{min(fine, fine * 3 * late / 100):,.2f}"
    if kind.key == "penalty_closing":
        out["penalty"] = _penalty(str(data.get("decided_type") or ""), data.get("decided_amount"))
        out["execution"] = _execution(data)
        docs = s.execute(select(IssuedDocument.kind, IssuedDocument.number).where(IssuedDocument.case_id == case.id)
                         .order_by(IssuedDocument.id)).all()
        names = [f"{KINDS[k].title}（{n}）" for k, n in docs if k in KINDS]
        names.append(f"{KINDS['penalty_closing'].title}（本文书）")
        out["archive"] = "\n".join(f"{i}. {name}" for i, name in enumerate(names, 1))
    return out


def _cause(reason) -> str:
    """A reason as the postponement notice's "因……，决定延期举行" holds it: without a 因 or 由于 of its own, nor a
    full stop."""
    text = str(reason or "").strip().rstrip("。；;.")
    for word in ("因为", "由于", "因"):
        if text.startswith(word):
            return text[len(word):].lstrip("，, ")
    return text


def court_period(data: dict, unit: str | None = "working_days") -> str:
    """The reminder's period as the 催告书 states it (Administrative Compulsion Law art. 54): the model's
    ``court_days`` in the unit the case's model version counts it in (``unit``: working days by art. 69 of that
    law); a version that counts no such period (it counted 10 days from the reminder's instant) says 十日, even
    when the case read a ``court_days`` from a newer periods table."""
    days = data.get("court_days")
    if (unit not in ("working_days", "days") or isinstance(days, bool) or not isinstance(days, int | float)
            or days != int(days) or not 0 < days < 100):
        return "十日"
    return f"{chinese_number(int(days))}{'个工作日' if unit == 'working_days' else '日'}"


DIGITS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 to 99 as a document writes a period: 五, 十, 十五, 二十, 二十一."""
    tens, ones = divmod(n, 10)
    if not tens:
        return DIGITS[ones]
    return (DIGITS[tens] if tens > 1 else "") + "十" + (DIGITS[ones] if ones else "")


def _execution(data: dict) -> str:
    if data.get("payment") == "none":
        return "处罚决定无罚款，已履行。"
    if data.get("paid_at"):
        text = f"已于{chinese_instant(data.get('paid_at'))}缴纳人民币{_amount(data.get('paid_amount')) or '0.00'}元"
        if data.get("days_late"):
            text += f"（逾期{data['days_late']}日，含加处罚款{_amount(data.get('surcharge')) or '0.00'}元）"
        return text + "。"
    if data.get("enforcement") == "court":
        return (f"当事人经催告逾期仍未履行，已于{chinese_instant(data.get('applied_at'))}向{data.get('court') or ''}"
                "申请强制执行。")
    return ""


def _instant(value) -> datetime | None:
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return instant if instant.tzinfo else instant.replace(tzinfo=LOCAL_TZ)


def review_body(s: Session, case: Case) -> str:
    """Who reviews the decision (Administrative Reconsideration Law 2023, art. 24): the people's
    government of the county or district whose department decided, else the city's."""
    row = _region_and_parent(s, case.county_id) if case.county_id is not None else None
    if row is None:
        row = _region_and_parent(s, None)
        return f"{row[0]}人民政府" if row is not None else "本级人民政府"
    return f"{row[1] or ''}{row[0]}人民政府"


_PARENT = aliased(Region)
_REGION_AND_PARENT = select(Region.name, _PARENT.name).outerjoin(_PARENT, _PARENT.id == Region.parent_id).limit(1)
# Built once: a document is issued in a transition, whose every statement counts (`python -m bench engine`).
_COUNTY = _REGION_AND_PARENT.where(Region.id == bindparam("county"))
_CITY = _REGION_AND_PARENT.where(Region.level == "city")


def _region_and_parent(s: Session, county_id: int | None):
    """(name, parent's name) of the county, or of the city for None; the issuing authority and the
    review body name the same one: read once a transaction."""
    def read():
        if county_id is None:
            return s.execute(_CITY).first()
        return s.execute(_COUNTY, {"county": county_id}).first()
    return transaction_memo.once(s, ("region_and_parent", county_id), read)


def authority(s: Session, case: Case) -> str:
    """The issuing authority: the gas authority of the case's county (or of the city)."""
    row = _region_and_parent(s, case.county_id)
    if row is None:
        row = _region_and_parent(s, None)
    if row is None:
        return "燃气主管部门"
    return f"{row[1] or ''}{row[0]}燃气主管部门"


def chinese_date(instant: datetime) -> str:
    local = instant.astimezone(LOCAL_TZ)
    return f"{local.year}年{local.month}月{local.day}日"


def chinese_instant(value) -> str:
    """An ISO instant as the document writes it: 2026年12月15日17时00分 (Beijing time)."""
    if not value:
        return ""
    try:
        instant = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=LOCAL_TZ)
    local = instant.astimezone(LOCAL_TZ)
    return f"{chinese_date(local)}{local.hour:02d}时{local.minute:02d}分"


def _amount(value) -> str:
    """Yuan as every page writes them (80,000.00), none when there is no positive amount."""
    try:
        positive = float(value or 0) > 0
    except (TypeError, ValueError):
        return ""
    return presentation.money_number(value) if positive else ""


render_with(render_pending)


def _review_fields(s: Session, case: Case, data: dict, actor, issued: dict | None) -> dict:
    """The 整改复查意见书 quotes the notice it closes and the re-inspection the accepting inspector recorded."""
    if issued is not None:
        notice = issued.get(RECTIFICATION_NOTICE)
    else:
        notice = s.scalar(select(IssuedDocument).where(IssuedDocument.case_id == case.id,
                                                       IssuedDocument.kind == RECTIFICATION_NOTICE))
    day = str(data.get("reinspected_on") or "")[:10]
    try:
        reinspected = f"{int(day[:4])}年{int(day[5:7])}月{int(day[8:10])}日"
    except ValueError:
        reinspected = day or "—"
    return {
        "notice_number": notice.number if notice else "整改通知书",
        "notice_date": chinese_date(notice.issued_at) if notice else "—",
        "reinspected_on": reinspected,
        "reinspector": getattr(actor, "display_name", None) or "—",
        "reinspection_findings": str(data.get("reinspection_findings") or ""),
    }
