"""The daily safety score of an enterprise, its rankings and the quarterly credit grade (issue 15 item 4).

A score is 100 plus the points of every rule of the DMN table ``safety_score`` that matches the enterprise's
measures (``supervision_measures``) and its record of inspections, penalties and accidents; each matched rule
is kept with the score, so every point is explained. The daily job stores the day's scores of every active
enterprise; today's are also computed on demand for a page (not stored: the job's run is the day's record).
Rankings are over all active enterprises of the county and of the city, shown within the caller's area.
The quarter's grade comes from the average of its stored daily scores through the DMN table ``credit_grade``,
as a draft the city admin publishes; enterprises see published grades only.
"""
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from models import (
    CASE_CANCELLED,
    CASE_COMPLETED,
    GRADE_DRAFT,
    GRADE_PUBLISHED,
    Case,
    CreditGrade,
    Enterprise,
    Region,
    SafetyScore,
)
from workflows import access
from workflows.errors import InvalidInput, NotFound

from . import supervision_measures as measures

BASE = 100.0
RECENT_INSPECTION_DAYS = 90
RECORD_DAYS = 365


def _counts(session, process: str, ids: list[int], since: datetime, until: datetime, where=()) -> dict[int, int]:
    if not ids:
        return {}
    at = Case.completed_at if process == "inspection" else Case.created_at
    rows = session.execute(select(Case.enterprise_id, func.count(Case.id))
                           .where(Case.process_key == process, Case.enterprise_id.in_(ids),
                                  Case.status != CASE_CANCELLED, at >= since, at < until, *where)
                           .group_by(Case.enterprise_id)).all()
    return {e: int(n) for e, n in rows}


def score_inputs(session, enterprises, kinds, day: date, now: datetime) -> dict[int, dict]:
    """Per enterprise, what the ``safety_score`` table reads: the month's measures up to ``day`` and the
    inspections (last 90 days), penalties and accidents (last 365 days) up to the end of ``day``."""
    end = measures.instant(day + timedelta(days=1))
    rows = measures.per_enterprise(session, enterprises, kinds, day.replace(day=1), min(now, end))
    ids = [e.id for e in enterprises]
    recent = end - timedelta(days=RECENT_INSPECTION_DAYS)
    year = end - timedelta(days=RECORD_DAYS)
    data = Case.data
    done = (Case.status == CASE_COMPLETED,)
    class_i = _counts(session, "inspection", ids, recent, end, (*done, data[("problem_counts", "I")].as_integer() > 0))
    failed = _counts(session, "inspection", ids, recent, end, (*done, data["qualified"].as_boolean().is_(False)))
    penalties = _counts(session, "penalty", ids, year, end)
    accidents = _counts(session, "accident", ids, year, end)
    out = {}
    for r in rows:
        i = r["enterprise"]["id"]
        out[i] = {"coverage": r["household_coverage"]["rate"], "patrol": r["patrol"]["rate"],
                  "rectification": r["rectification"]["rate"], "timeliness": r["timeliness"]["rate"],
                  "disposal_hours": r["warning_disposal"]["mean_hours"], "class_i_problems": class_i.get(i, 0),
                  "failed_inspections": failed.get(i, 0), "penalties": penalties.get(i, 0),
                  "accidents": accidents.get(i, 0)}
    return out


def score_one(session, inputs: dict) -> dict:
    found = measures.decide(session, "safety_score", inputs)
    rules = [{"row": r["row"], "description": r["description"], "points": float(r["outputs"].get("points") or 0)}
             for r in found.rules]
    score = max(0.0, min(BASE, BASE + sum(r["points"] for r in rules)))
    return {"score": round(score, 1), "details": {"base": BASE, "rules": rules, "inputs": inputs},
            "decision_version": found.version}


def _all_active(session) -> list:
    return session.scalars(select(Enterprise).where(Enterprise.active.is_(True)).order_by(Enterprise.id)).all()


def compute_day(session, kinds, day: date, now: datetime) -> list[dict]:
    """The scores of every active enterprise on ``day``, computed now (not stored)."""
    enterprises = _all_active(session)
    inputs = score_inputs(session, enterprises, kinds, day, now)
    return [{"enterprise_id": e.id, "county_id": e.county_id, **score_one(session, inputs[e.id])}
            for e in enterprises]


def store_day(session, kinds, day: date, now: datetime) -> int:
    """The daily job: compute and store (or replace) ``day``'s scores. The caller commits."""
    rows = compute_day(session, kinds, day, now)
    stored = {s.enterprise_id: s for s in session.scalars(select(SafetyScore).where(SafetyScore.day == day))}
    for r in rows:
        row = stored.get(r["enterprise_id"])
        if row is None:
            row = SafetyScore(enterprise_id=r["enterprise_id"], day=day)
            session.add(row)
        row.county_id, row.score, row.details = r["county_id"], r["score"], r["details"]
        row.decision_version, row.computed_at = r["decision_version"], now
    try:
        session.flush()
    except IntegrityError:  # another worker stored the day at the same moment: its scores stand
        session.rollback()
        return 0
    return len(rows)


def _rank(rows: list[dict]) -> None:
    """Competition ranking (1, 2, 2, 4) by score, in the city and within each county."""
    def ranks(group):
        ordered = sorted(group, key=lambda r: -r["score"])
        out, prev, place = {}, None, 0
        for n, r in enumerate(ordered, start=1):
            if r["score"] != prev:
                place, prev = n, r["score"]
            out[r["enterprise_id"]] = place
        return out
    city = ranks(rows)
    county = {}
    for cid in {r["county_id"] for r in rows}:
        county.update(ranks([r for r in rows if r["county_id"] == cid]))
    sizes = {cid: sum(1 for r in rows if r["county_id"] == cid) for cid in {r["county_id"] for r in rows}}
    for r in rows:
        r["city_rank"], r["city_of"] = city[r["enterprise_id"]], len(rows)
        r["county_rank"], r["county_of"] = county[r["enterprise_id"]], sizes[r["county_id"]]


def scores(session, user, kinds, day: date, today: date, now: datetime, county_id: int | None = None,
           enterprise_id: int | None = None) -> dict:
    """The day's scores in the caller's area with their ranks: today's computed live, an earlier day's as stored."""
    if day > today:
        raise InvalidInput("day: in the future", {"day": ["Not after today."]})
    if day == today:
        rows = compute_day(session, kinds, day, now)
    else:
        rows = [{"enterprise_id": s.enterprise_id, "county_id": s.county_id, "score": s.score, "details": s.details,
                 "decision_version": s.decision_version}
                for s in session.scalars(select(SafetyScore).where(SafetyScore.day == day))]
    _rank(rows)
    visible = {e.id: e for e in measures.enterprises_in(session, user, county_id, enterprise_id)}
    names = dict(session.execute(select(Region.id, Region.name)).all())
    shown = []
    for r in sorted(rows, key=lambda r: (r["city_rank"], r["enterprise_id"])):
        e = visible.get(r["enterprise_id"])
        if e is not None:
            shown.append({**r, "enterprise": {"id": e.id, "name": e.name, "kind": e.kind},
                          "county": {"id": e.county_id, "name": names.get(e.county_id, "")}})
    return {"day": day.isoformat(), "live": day == today, "scores": shown}


# ---- quarters and credit grades -------------------------------------------------------------------------
def parse_quarter(text: str | None, today: date) -> tuple[str, date, date]:
    """'YYYY-Qn' → (name, first day, first day of the next quarter); empty → the quarter before today's."""
    if not text:
        q = (today.month - 1) // 3
        year, q = (today.year - 1, 4) if q == 0 else (today.year, q)
        text = f"{year}-Q{q}"
    if len(text) != 7 or text[4:6] != "-Q" or not text[:4].isdigit() or text[6] not in "1234":
        raise InvalidInput("quarter: write it as YYYY-Qn", {"quarter": ["Write the quarter as YYYY-Qn."]})
    year, q = int(text[:4]), int(text[6])
    if not 2000 <= year <= 2100:
        raise InvalidInput("quarter: out of range", {"quarter": ["Between 2000-Q1 and 2100-Q4."]})
    first = date(year, 3 * q - 2, 1)
    return text, first, measures.add_months(first, 3)


def compute_grades(session, quarter: str, today: date, now: datetime) -> int:
    """Draft grades of the quarter from its stored daily scores; a published grade is not changed. The caller
    commits. Returns the drafts written."""
    name, first, after = parse_quarter(quarter, today)
    averages = session.execute(select(SafetyScore.enterprise_id, func.avg(SafetyScore.score),
                                      func.count(SafetyScore.id))
                               .where(SafetyScore.day >= first, SafetyScore.day < after)
                               .group_by(SafetyScore.enterprise_id)).all()
    ids = [e for e, _a, _n in averages]
    accidents = _counts(session, "accident", ids, measures.instant(first), measures.instant(after))
    existing = {g.enterprise_id: g for g in session.scalars(select(CreditGrade).where(CreditGrade.quarter == name))}
    counties = dict(session.execute(select(Enterprise.id, Enterprise.county_id).where(Enterprise.id.in_(ids))).all())
    written = 0
    for ent, average, days in averages:
        grade = existing.get(ent)
        if grade is not None and grade.status == GRADE_PUBLISHED:
            continue
        inputs = {"average_score": round(float(average), 1), "accidents": accidents.get(ent, 0)}
        found = measures.decide(session, "credit_grade", inputs)
        rule = found.rules[0] if found.rules else {"row": None, "description": "", "outputs": {"grade": "D"}}
        if grade is None:
            grade = CreditGrade(enterprise_id=ent, quarter=name)
            session.add(grade)
        grade.county_id, grade.average_score = counties[ent], inputs["average_score"]
        grade.grade = str(rule["outputs"].get("grade") or "D")[:1]
        grade.details = {"inputs": inputs, "days": int(days), "rule": {"row": rule["row"],
                                                                        "description": rule["description"]},
                         "decision_version": found.version}
        grade.status, grade.computed_at = GRADE_DRAFT, now
        written += 1
    return written


def publish_grades(session, quarter: str, user, today: date, now: datetime) -> int:
    """The city admin approves the quarter's drafts: published from now on. The caller commits."""
    name, _first, _after = parse_quarter(quarter, today)
    drafts = session.scalars(select(CreditGrade).where(CreditGrade.quarter == name,
                                                       CreditGrade.status == GRADE_DRAFT)).all()
    if not drafts:
        raise NotFound("no draft grades for the quarter", {"quarter": ["No draft grades for this quarter."]})
    for g in drafts:
        g.status, g.published_at, g.published_by_id = GRADE_PUBLISHED, now, user.id
    return len(drafts)


def grades(session, user, quarter: str | None, today: date, county_id: int | None = None,
           enterprise_id: int | None = None) -> dict:
    """The quarter's grades in the caller's area; an enterprise sees its own published grade only."""
    name, _first, _after = parse_quarter(quarter, today)
    visible = {e.id: e for e in measures.enterprises_in(session, user, county_id, enterprise_id)}
    stmt = select(CreditGrade).where(CreditGrade.quarter == name, CreditGrade.enterprise_id.in_(list(visible)))
    if access.is_enterprise_user(user):
        stmt = stmt.where(CreditGrade.status == GRADE_PUBLISHED)
    rows = session.scalars(stmt.order_by(CreditGrade.grade, CreditGrade.average_score.desc())).all()
    return {"quarter": name, "grades": [
        {"id": g.id, "enterprise": {"id": g.enterprise_id, "name": visible[g.enterprise_id].name},
         "county_id": g.county_id, "average_score": g.average_score, "grade": g.grade, "status": g.status,
         "details": g.details, "published_at": g.published_at.isoformat() if g.published_at else None}
        for g in rows]}


def latest_published(session, enterprise_id: int) -> CreditGrade | None:
    return session.scalar(select(CreditGrade).where(CreditGrade.enterprise_id == enterprise_id,
                                                    CreditGrade.status == GRADE_PUBLISHED)
                          .order_by(CreditGrade.quarter.desc()).limit(1))
