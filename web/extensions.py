from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from models import Base
from workflows.engine.case_engine import CaseEngine

# The models are plain SQLAlchemy (models.Base); Flask-SQLAlchemy provides sessions and engines.
# ``db.session`` is the platform's one session factory (web/common/unit_of_work.py). Objects are not expired
# at commit: the reply to a transition shows the case as the transition left it, without reading back
# the rows it has just written (and the caller's user and token). The engine reads what it locks with
# populate_existing, so what a request read before the lock never stands in for the locked rows.
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def case_engine(app=None) -> CaseEngine:
    from flask import current_app

    return (app or current_app).extensions["gasflow.engine"]
