"""The newest version of each key of a versioned table (process models, decision tables, checklist templates:
``key``, ``version``, unique together), in one statement."""
from sqlalchemy import Select, func, select


def newest_versions(entity, *columns, key: str = "key") -> Select:
    """A select of ``columns`` (the whole ``entity`` without them) of the newest version of each ``key``."""
    named, version = getattr(entity, key), entity.version
    newest = select(named.label("key"), func.max(version).label("version")).group_by(named).subquery()
    return select(*(columns or (entity,))).join(newest, (named == newest.c.key) & (version == newest.c.version))


__all__ = ["newest_versions"]
