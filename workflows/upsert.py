"""The dialect's own INSERT, the one that has ON CONFLICT (PostgreSQL's and SQLite's are separate
classes in SQLAlchemy): for the rows written by one statement whatever another request does at the
same time (a counter, the audit head, a form's draft)."""
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(session):
    """``insert`` of the database ``session`` is bound to."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
