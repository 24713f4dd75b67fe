"""The audit entry every writing request appends (workflows/services/audit_chain.py): on PostgreSQL one
statement locks the chain's head, inserts the entry hashed by the database and moves the head; the alert
rules are kept by each process under the reference revision's token, so no request reads them, and a rule
changed in any process counts from the next entry. The chain is the one Python verifies."""
from datetime import timedelta

import pytest
from conftest import statements
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from test_audit_rules import MONDAY_10, alerts

from workflows.engine import clock

pytestmark = pytest.mark.usefixtures("working_hours")  # the off-hours rule as shipped, which these tests read

# What an attacker's request may carry into the entry, unencoded: quotes, a backslash, characters beyond
# ASCII, a line separator that JSON leaves raw, an emoji.
ODD_QUERY = 'note="引号"\\\u2028🔥&x=1'.encode()


def last_entry(app):
    from models import AuditEntry
    from web.extensions import db

    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        db.session.expunge_all()
        return entry


def test_a_write_appends_its_entry_without_reading_the_rules_in_one_statement_on_postgresql(app, api,
                                                                                         database_url):
    from web.extensions import db
    from workflows.services import audit_chain

    inspector = api("keqiao_inspector")
    with clock.frozen_at(MONDAY_10):
        inspector.post("/cases", {"process": "rectification", "data": {}})  # the rules are kept from now on
        with statements(app) as seen:
            refused = inspector.client.post("/api/v1/cases", headers=inspector.headers,
                                            environ_overrides={"QUERY_STRING": ODD_QUERY.decode("latin-1")},
                                            json={"process": "rectification", "data": {}})
    assert refused.status_code == 422, refused.json
    audit = [s for s in seen if "audit_" in s]
    assert not [s for s in audit if "audit_rules" in s], audit
    # PostgreSQL: lock, entry and head's move in one round trip; SQLite: lock, entry, move.
    assert len(audit) == (1 if database_url.startswith("postgresql") else 3), audit

    entry = last_entry(app)
    assert entry.endpoint == "api.create_case" and entry.status == 422 and "\u2028" in entry.detail["query"]
    fields = audit_chain.fields_of(entry)
    part_a, part_b, part_c = audit_chain.canonical_parts(fields)
    assert part_a + str(entry.id).encode() + part_b + entry.prev_hash.encode() + part_c == \
        audit_chain.canonical(fields, entry.prev_hash)
    assert entry.hash == audit_chain.entry_hash(fields, entry.prev_hash)
    with app.app_context():
        assert audit_chain.verify(db.session).ok


def test_a_write_that_matches_no_rule_ends_with_its_commit_and_one_at_night_extends_its_episode(app, api,
                                                                                              database_url):
    inspector = api("keqiao_inspector")
    with clock.frozen_at(MONDAY_10), statements(app, transactions=True) as seen:
        assert inspector.post("/cases", {"process": "rectification", "data": {}}).status_code == 422
    # The entry's transaction is the request's last: nothing begins after its commit.
    last = seen[len(seen) - 1 - seen[::-1].index("BEGIN"):]
    assert last[-1] == "COMMIT" and [s for s in last if "INSERT INTO audit_entries" in s], seen

    saturday_10 = MONDAY_10 - timedelta(days=2)
    with clock.frozen_at(saturday_10):
        inspector.post("/cases", {"process": "rectification", "data": {}})
    with clock.frozen_at(saturday_10 + timedelta(minutes=5)), statements(app, transactions=True) as seen:
        inspector.post("/cases", {"process": "rectification", "data": {}})
    # The rules run after the request's commit, in a transaction of their own: the episode is extended, on
    # PostgreSQL under the lock of its rule and subject (two workers never raise one episode twice).
    after = seen[len(seen) - 1 - seen[::-1].index("BEGIN"):]
    locked = [s for s in after[1:2] if "pg_advisory_xact_lock" in s]
    assert bool(locked) == database_url.startswith("postgresql"), after
    assert after[0] == "BEGIN" and "UPDATE audit_alerts" in after[1 + len(locked)] and after[-1] == "COMMIT", seen
    [alert] = alerts(app, "off_hours")
    assert alert.matches == 2


def test_a_rule_changed_in_another_process_counts_from_the_next_entry(app, api, database_url):
    from workflows.services import audit_rules

    inspector = api("keqiao_inspector")
    saturday_10 = MONDAY_10 - timedelta(days=2)
    with clock.frozen_at(saturday_10):
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert len(alerts(app, "off_hours")) == 1  # the rules as stored are kept by this process now

    # Another process (its own engine) switches the rule off: the token changes with its commit.
    other = create_engine(database_url, poolclass=NullPool)
    with Session(other) as s:
        rule = audit_rules.rules(s)[audit_rules.OFF_HOURS]
        rule.enabled = False
        audit_rules.save(s, rule, None, saturday_10)
        s.commit()
    other.dispose()
    with clock.frozen_at(saturday_10 + timedelta(hours=5)):  # after a quiet gap: would be a new episode
        inspector.post("/cases", {"process": "rectification", "data": {}})
    assert len(alerts(app, "off_hours")) == 1


def test_an_append_that_waited_for_the_head_links_to_the_entry_it_waited_for(app, api, database_url):
    """The lock is taken by the statement that appends: one that waits for another's commit must hash and
    link the head as that commit left it, not as its snapshot saw it."""
    import threading
    from datetime import UTC, datetime

    from web.extensions import db
    from workflows.services import audit_chain

    api("keqiao_inspector").get("/notifications")  # the chain has its head
    other = create_engine(database_url, poolclass=NullPool)
    at = datetime.now(UTC)
    first, second = Session(other), Session(other)
    try:
        held, _head = audit_chain.append(first, at=at, kind="write", username="first", path="/first")
        done = {}
        waiting = threading.Thread(target=lambda: done.setdefault("entry", audit_chain.append(
            second, at=at, kind="write", username="second", path="/second")[0]))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() or not database_url.startswith("postgresql")  # waits for the head's lock
        first.commit()
        waiting.join(30)
        second.commit()
        assert done["entry"].id == held.id + 1 and done["entry"].prev_hash == held.hash
    finally:
        first.close()
        second.close()
        other.dispose()
    with app.app_context():
        assert audit_chain.verify(db.session).ok
