"""Entities of rows written or read by Core statements, put in the session as if the ORM had loaded them.

The engine writes a transition's rows and reads the task it locks by Core statements (the ORM's unit of
work and loading cost more than the statements), and the objects must still be the session's: an
``s.get`` finds them, the unit of work has nothing to write, and what a request reads of them later is
what was written."""
from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key


def persisted(s: Session, cls, entity_or_values):
    """The entity of a row a Core INSERT wrote (id included), in the session as if loaded from it: an
    ``s.get`` finds it, the unit of work does not write it again. Every column must be set (one left
    out would be read back)."""
    entity = entity_or_values if isinstance(entity_or_values, cls) else cls(**entity_or_values)
    make_transient_to_detached(entity)
    stale = s.identity_map.get(inspect(entity).key)
    if stale is not None:  # a row of a rolled-back transaction whose id SQLite gave again
        s.expunge(stale)
    s.add(entity)
    return entity


def loaded(s: Session, cls, values: dict):
    """The entity of ``values`` (every column of a row just read) as a query with populate_existing would
    leave it: the session's own, its columns set to what was read, else a new one in the session as loaded."""
    known = s.identity_map.get(identity_key(cls, tuple(values[c.key] for c in inspect(cls).primary_key)))
    if known is None:
        return persisted(s, cls, values)
    set_committed(known, **values)
    return known


def set_committed(entity, **values) -> None:
    """Set what a Core statement read or writes (or is about to) as the entity's loaded values: readers see
    them, and the unit of work has nothing to flush."""
    for key, value in values.items():
        set_committed_value(entity, key, value)
