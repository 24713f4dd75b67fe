"""Abnormal-operation rules over the audit trail (O7): bulk exports, access outside working hours,
bursts of refused requests, mass deletions, an account locked by failed sign-ins. A match raises an
alert to the city admins once per episode: while matches for the same rule and subject keep coming
within the rule's window, the open alert is extended instead of raising another.

Evaluated after the commit of the transaction that appends the entry (the chain head's lock is held
for the append alone), with the rules current at that lock: each process keeps them under the
reference revision's token (workflows/reference_cache.py), which the lock's statement reads.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, or_, select, text, update

from models import ROLE_CITY_ADMIN, AuditAlert, AuditEntry, AuditRule, User
from workflows import notify, reference_cache

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ALERT = "audit_alert"
DENIED_STATUSES = (401, 403, 404, 429)
# Paths that remove or switch off something, besides the DELETE method itself.
DELETION_MARKS = ("/delete", "/deactivate", "/revoke", "/remove", "/disable")
ACCESS_KINDS = ("login_success", "write", "export", "denied")

BULK_EXPORT, OFF_HOURS, DENIED_BURST, MASS_DELETE = "bulk_export", "off_hours", "denied_burst", "mass_delete"
ACCOUNT_LOCKED = "account_locked"
# Set by the web layer on an entry after which the account it names is locked (wrong passwords or
# second-factor codes); the account's user id and name.
LOCKED_ID, LOCKED_NAME = "locked_user_id", "locked_username"
DEFAULTS = {
    BULK_EXPORT: {"threshold": 20, "window_minutes": 10, "params": {}},
    # threshold unused: one access outside the hours is the match; the window is the quiet gap that
    # ends an episode.
    OFF_HOURS: {"threshold": 1, "window_minutes": 120,
                "params": {"start_hour": 8, "end_hour": 18, "weekdays": [1, 2, 3, 4, 5]}},
    DENIED_BURST: {"threshold": 20, "window_minutes": 5, "params": {}},
    MASS_DELETE: {"threshold": 10, "window_minutes": 10, "params": {}},
    # threshold unused: the lock itself is the match (the sign-in lockout counted the failures); the
    # window, the lockout's own, is the quiet gap that ends an episode, so tries while locked extend it.
    ACCOUNT_LOCKED: {"threshold": 1, "window_minutes": 15, "params": {}},
}
RULE_KEYS = tuple(DEFAULTS)
_ALERTS = AuditAlert.__table__
TEXTS = {
    BULK_EXPORT: "审计告警: {who} 在 {window} 分钟内导出/下载 {count} 次",
    OFF_HOURS: "审计告警: {who} 在非工作时间访问平台 ({local})",
    DENIED_BURST: "审计告警: {who} 在 {window} 分钟内被拒绝 {count} 次请求",
    MASS_DELETE: "审计告警: {who} 在 {window} 分钟内删除/停用 {count} 次",
    ACCOUNT_LOCKED: "审计告警: 账户 {who} 因登录失败次数过多被锁定 (来源地址 {address})",
}


@dataclass
class Rule:
    key: str
    enabled: bool
    threshold: int
    window_minutes: int
    params: dict = field(default_factory=dict)

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


_STORED = (AuditRule.key, AuditRule.enabled, AuditRule.threshold, AuditRule.window_minutes, AuditRule.params)


def rules(s) -> dict[str, Rule]:
    """Every rule: as stored, else its default."""
    return from_stored(s.execute(select(*_STORED)).all())


def from_stored(rows) -> dict[str, Rule]:
    """The rules from stored rows (key, enabled, threshold, window_minutes, params), defaults for the others."""
    stored = {row[0]: row for row in rows}
    out = {}
    for key, default in DEFAULTS.items():
        row = stored.get(key)
        if row is None:
            out[key] = Rule(key, True, default["threshold"], default["window_minutes"], dict(default["params"]))
        else:
            out[key] = Rule(key, bool(row[1]), row[2], row[3], {**default["params"], **(row[4] or {})})
    return out


_kept = reference_cache.Kept()


def current(s, token: str | None) -> dict[str, Rule]:
    """The rules under ``token``, the reference revision (workflows/reference_cache.py) as the chain head's
    lock read it: kept by the process, read again (in the locking transaction, so at least as new as the
    token) only when a rule changed since, in any process. No token (a database without its row): read."""
    return _kept.under(token, lambda: rules(s))


def save(s, rule: Rule, actor_id: int | None, now: datetime) -> None:
    row = s.get(AuditRule, rule.key) or AuditRule(key=rule.key)
    row.enabled, row.threshold, row.window_minutes = rule.enabled, rule.threshold, rule.window_minutes
    row.params, row.updated_at, row.updated_by_id = dict(rule.params), now, actor_id
    s.add(row)


def is_deletion(method: str, path: str) -> bool:
    return method == "DELETE" or any(mark in path for mark in DELETION_MARKS)


def outside_hours(rule: Rule, at: datetime) -> bool:
    local = at.astimezone(LOCAL_TZ)
    start, end = int(rule.params.get("start_hour", 8)), int(rule.params.get("end_hour", 18))
    return local.isoweekday() not in rule.params.get("weekdays", []) or not start <= local.hour < end


def evaluate(s, entry, current_rules: dict[str, Rule] | None = None) -> list[AuditAlert]:
    """Check the rules the entry can trigger; returns the alerts newly raised. ``current_rules``: as the
    entry's append found them (``audit_chain.Head.rules``); else they are read here. Each rule is decided
    on the entry first: most entries match none, and cost no statement and no SQL expression."""
    active = {k: r for k, r in (rules(s) if current_rules is None else current_rules).items() if r.enabled}
    user = entry.user_id
    counted = []  # (rule, subject, condition builder): a count over the rule's window decides
    if BULK_EXPORT in active and entry.kind == "export" and user is not None:
        counted.append((active[BULK_EXPORT], _subject(entry),
                        lambda: [AuditEntry.user_id == user, AuditEntry.kind == "export"]))
    if DENIED_BURST in active and entry.status in DENIED_STATUSES:
        if user is not None:
            counted.append((active[DENIED_BURST], _subject(entry),
                            lambda: [AuditEntry.user_id == user, AuditEntry.status.in_(DENIED_STATUSES)]))
        if entry.address:
            counted.append((active[DENIED_BURST], f"address:{entry.address}",
                            lambda: [AuditEntry.address == entry.address, AuditEntry.status.in_(DENIED_STATUSES)]))
    if MASS_DELETE in active and entry.kind == "write" and user is not None and (entry.status or 500) < 400 \
            and is_deletion(entry.method, entry.path):
        counted.append((active[MASS_DELETE], _subject(entry), lambda: [
            AuditEntry.user_id == user, AuditEntry.kind == "write", AuditEntry.status < 400,
            or_(AuditEntry.method == "DELETE",
                *(AuditEntry.path.contains(m, autoescape=True) for m in DELETION_MARKS))]))
    raised = []
    for rule, subject, where in counted:
        count = s.scalar(select(func.count()).where(*where(), AuditEntry.at > entry.at - rule.window,
                                                    AuditEntry.at <= entry.at))
        if count >= rule.threshold:
            raised.append(_episode(s, rule, subject, entry, count=count))
    if OFF_HOURS in active and entry.kind in ACCESS_KINDS and user is not None \
            and outside_hours(active[OFF_HOURS], entry.at):
        local = entry.at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        raised.append(_episode(s, active[OFF_HOURS], _subject(entry), entry, local=local))
    locked = (entry.detail or {}).get(LOCKED_ID)
    if ACCOUNT_LOCKED in active and locked is not None:
        raised.append(_episode(s, active[ACCOUNT_LOCKED], f"user:{locked}", entry,
                               who=entry.detail.get(LOCKED_NAME) or str(locked), address=entry.address or "?"))
    return [a for a in raised if a is not None]


# The newest open alert of an episode extended by one statement (built once), if there is one.
_EXTEND_EPISODE = update(_ALERTS).where(_ALERTS.c.id == select(_ALERTS.c.id).where(
    _ALERTS.c.rule == bindparam("p_rule"), _ALERTS.c.subject == bindparam("p_subject"),
    _ALERTS.c.last_at >= bindparam("p_since", type_=_ALERTS.c.last_at.type))
    .order_by(_ALERTS.c.id.desc()).limit(1).scalar_subquery()).values(
    last_at=case((_ALERTS.c.last_at < bindparam("p_at", type_=_ALERTS.c.last_at.type),
                  bindparam("p_at", type_=_ALERTS.c.last_at.type)), else_=_ALERTS.c.last_at),
    matches=_ALERTS.c.matches + 1).returning(_ALERTS.c.id)


_EPISODE_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def _subject(entry) -> str:
    return f"user:{entry.user_id}"


def _episode(s, rule: Rule, subject: str, entry, **facts) -> AuditAlert | None:
    """Extend the subject's open episode of this rule, or raise a new alert and notify the city admins."""
    if s.get_bind().dialect.name == "postgresql":
        # One episode at a time per rule and subject, to this transaction's end: two processes evaluating
        # entries of one burst at once would each find no open episode and raise it twice. The second waits,
        # then its extend (a new snapshot, read committed) finds the first's alert. SQLite writes one at a time.
        s.execute(_EPISODE_LOCK, {"key": f"audit_alert:{rule.key}:{subject}"})
    extended = s.execute(_EXTEND_EPISODE, {"p_rule": rule.key, "p_subject": subject,
                                           "p_since": entry.at - rule.window, "p_at": entry.at}).first()
    if extended is not None:
        return None
    who = facts.pop("who", None) or entry.username or subject.split(":", 1)[1]
    if subject.startswith("address:"):
        who = f"地址 {entry.address}"
    message = TEXTS[rule.key].format(who=who, window=rule.window_minutes, **facts)
    alert = AuditAlert(rule=rule.key, subject=subject, first_at=entry.at, last_at=entry.at, matches=1,
                       first_entry_id=entry.id, text=message)
    s.add(alert)
    admins = s.scalars(select(User.id).where(User.role == ROLE_CITY_ADMIN, User.active.is_(True)))
    notify.add(s, admins, ALERT, entry.at, text=message)
    return alert
