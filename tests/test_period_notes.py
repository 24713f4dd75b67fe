"""The notes of what each counted date was counted in (workflows/engine/period_notes.py), moved on a resume."""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from workflows.engine import period_notes
from workflows.engine.restricted import CountedPeriod

T = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def _workflow():
    data = {}
    return SimpleNamespace(top_workflow=SimpleNamespace(data=data))


def _note(workflow, name, start, days):
    end = (start + timedelta(days=days)).isoformat()
    period_notes.note_script(workflow, {name: end}, {name: None},
                             [CountedPeriod(end, "days", start.isoformat(), days)])


def test_a_date_moved_to_where_another_of_its_variable_was_is_moved_once():
    """Two branches hold ``d``: one 1 day, one 2 days from T. A resume moves each by a day: the first lands on
    the second's old end, which must not take it for the second and move it on again."""
    workflow = _workflow()
    _note(workflow, "d", T, 1)
    _note(workflow, "d", T, 2)
    notes = period_notes.notes_of(workflow)
    first, second = sorted(notes["d"], key=lambda n: n.end)
    period_notes.renote(workflow, [(first, second.end, "s1"), (second, second.end + timedelta(days=1), "s2")])
    moved = sorted((n.end, n.start) for n in period_notes.notes_of(workflow)["d"])
    assert moved == [(T + timedelta(days=2), "s1"), (T + timedelta(days=3), "s2")]
