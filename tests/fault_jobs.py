"""Jobs the fault tests enqueue; imported by a real `gasflow worker` process (tests/ on its PYTHONPATH)."""
import os
import time

from redis import Redis
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload


def complete_task_holding_commit(task_id: int, username: str, data: dict, gate: str) -> int:
    """Completes a task through the case engine, but stops right before its COMMIT (every write of the
    transition already sent) until the Redis key ``{gate}:open`` exists, saying so in ``{gate}:reached``.
    The gate stands for the moment a worker may die: after the work, before it is durable."""
    from models import User
    from web.app import create_app
    from web.extensions import case_engine, db

    redis = Redis.from_url(os.environ["REDIS_URL"])
    app = create_app(migrate=False)
    with app.app_context():
        # The actor is used detached from this session: the per-user rights the engine checks come with it.
        actor = db.session.scalar(select(User).where(User.username == username)
                                  .options(selectinload(User.right_overrides)))
        db.session.expunge(actor)

        def hold(_conn):
            redis.set(f"{gate}:reached", os.getpid())
            while not redis.exists(f"{gate}:open"):
                time.sleep(0.05)

        event.listen(db.engine, "commit", hold)
        return case_engine(app).complete_task(task_id, actor, data)
