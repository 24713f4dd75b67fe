"""A start opens the newest version of its process. Which one that is, each process keeps under the
reference revision (workflows/reference_cache.py): an API request's key reads the revision, so a start
reads no process model, and a version deployed by any other process is opened from the next start on."""
from conftest import enterprise_id, statements
from flows import open_order
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from models import ProcessModel


def test_a_start_reads_no_model_and_opens_a_version_another_process_deployed(app, api):
    ent = enterprise_id(app)
    first = open_order(api, app, ent)
    with statements(app) as seen:
        again = open_order(api, app, ent)
    assert again["version"] == first["version"]
    assert not [s for s in seen if "FROM process_models" in s], seen

    # Another process (its own connection) deploys a new version: its write gives the revision a new token.
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with Session(other) as s:
            current = s.scalar(select(ProcessModel).where(ProcessModel.key == "rectification")
                               .order_by(ProcessModel.version.desc()).limit(1))
            newer = ProcessModel(key=current.key, version=current.version + 1, checksum="0" * 64,
                                 name=current.name, bpmn_xml=current.bpmn_xml, spec=current.spec,
                                 meta=current.meta, created_by_id=None)
            s.add(newer)
            s.commit()
            newest = (newer.id, newer.version)
    finally:
        other.dispose()
    with statements(app) as seen:
        opened = open_order(api, app, ent)
    assert opened["version"] == newest[1] > first["version"]
    # The new token was seen with the key: the newest versions are read again, once (then the new
    # version's row and spec, the first time this process opens it).
    assert len([s for s in seen if "max(process_models.version)" in s]) == 1, seen
    assert open_order(api, app, ent)["version"] == newest[1]
