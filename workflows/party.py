"""What the party (the case's enterprise) sees of a case whose model keeps the rest internal.

A process model declares the case data addressed to the party (its ``gasflow.party`` property, in
``meta["party"]``). For such a case an enterprise user sees only: that data; the history of the
party's own tasks; the comments marked visible to the party (and its own); the documents addressed
to it (``DocumentKind.addressed``: notices and the decision, not the approval form or the closing
report); the files its people uploaded and the PDFs of those documents. Internal approvals, opinions,
flags and the other tasks stay with the authority, on every page and over the API. Cases of models
that declare nothing are shown as before.
"""
from .access import is_enterprise_user
from .roles import ENTERPRISE

# History entries about the case as a whole that the party may see.
CASE_EVENTS = frozenset({"case_started", "case_completed"})
# History entries about one task, shown when the task is the party's own.
TASK_EVENTS = frozenset({"task_created", "task_completed", "task_cancelled", "task_claimed", "task_unclaimed",
                         "task_assigned", "follow_up_set"})


def party_keys(user, meta: dict | None) -> frozenset | None:
    """The case data ``user`` may see, when he is the party of a case whose model declares it; None
    when he sees the case whole (an authority user, or a model that declares no party view)."""
    if not is_enterprise_user(user) or not meta or "party" not in meta:
        return None
    return frozenset(meta["party"]) | {"case_id", "enterprise_id"}


def sees_event(event: str, detail: dict | None, task_role: str | None, by_party: bool) -> bool:
    """Whether the party sees one history entry: ``task_role`` the role of its task (if any),
    ``by_party`` whether one of the party's own people wrote it."""
    if event == "comment":
        return by_party or bool((detail or {}).get("visible_to_party"))
    if event in TASK_EVENTS:
        return task_role == ENTERPRISE
    return event in CASE_EVENTS


def comment_visibility(user, visible_to_party) -> bool:
    """A comment's flag as stored: an authority user's comments are internal unless he marks one visible
    to the party (off by default); the party's own comments are told apart by their author."""
    return bool(visible_to_party) and not is_enterprise_user(user)
