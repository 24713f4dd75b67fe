"""web/database.py's StatementCache: a statement compiled before is found by its cache key's identity, gives
the same rows as SQLAlchemy's own lookup, and any other statement is looked up as SQLAlchemy does."""
from sqlalchemy import bindparam, select
from sqlalchemy.util import LRUCache

from models import User
from web.database import StatementCache

_BY_NAME = select(User.id, User.role).where(User.username == bindparam("name"))


def test_the_apps_engine_compiles_through_the_statement_cache(app):
    from web.extensions import db

    with app.app_context():
        cache = db.engine.get_execution_options()["compiled_cache"]
        assert isinstance(cache, StatementCache)
        with db.engine.connect() as conn:
            conn.execute(_BY_NAME, {"name": "admin"}).all()
        assert any(found[0] is _BY_NAME._generate_cache_key().key for found in cache._by_identity.values())


def test_a_statement_is_found_by_identity_and_others_as_before(app, monkeypatch):
    from web.extensions import db

    hashed = []
    lookup = LRUCache.get

    def counted(self, key, default=None):
        hashed.append(key)
        return lookup(self, key, default)
    monkeypatch.setattr(LRUCache, "get", counted)
    cache = StatementCache(50)
    with app.app_context(), db.engine.connect() as raw:
        conn = raw.execution_options(compiled_cache=cache)
        first = conn.execute(_BY_NAME, {"name": "admin"}).all()
        second = conn.execute(_BY_NAME, {"name": "keqiao_inspector"}).all()
        assert len(hashed) == 1  # compiled once, then found without hashing its key
        assert first[0].role == "city_admin" and second[0].role == "inspector"
        # The same statement built again: another key object, equal to the first; found by SQLAlchemy's
        # lookup, compiled no second time.
        again = select(User.id, User.role).where(User.username == bindparam("name"))
        assert conn.execute(again, {"name": "admin"}).all() == first
        assert len(hashed) == 2 and len(cache) == 1
        cache.clear()
        assert not cache._by_identity and conn.execute(_BY_NAME, {"name": "admin"}).all() == first
        # Too many keys remembered: forgotten at once, and the statements still found.
        for _ in range(cache.capacity + 1):
            conn.execute(select(User.id).where(User.username == bindparam("name")), {"name": "admin"}).all()
        assert len(cache._by_identity) <= cache.capacity
        assert conn.execute(_BY_NAME, {"name": "admin"}).all() == first
