"""Industry information (A6): who writes which items, their lifecycle, the public listing and search.

Lifecycle: draft → published → withdrawn → (revised as a) draft → published again. Only drafts are
edited, so what the public read is what was published; a withdrawn item leaves the public site but
stays in the database with its dates and view count. The city admin writes for the whole city (and
may file an item under a county); a county supervisor writes for his own county only. Inspectors and
enterprises read the public site like everyone else.
"""
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, or_, select, update

from models import (
    INFO_DRAFT,
    INFO_PUBLISHED,
    INFO_WITHDRAWN,
    ROLE_CITY_ADMIN,
    ROLE_COUNTY_SUPERVISOR,
    InfoAttachment,
    InfoItem,
)
from workflows.engine import clock
from workflows.errors import Conflict, NotFound
from workflows.text import display_filename

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# action → (states it may be taken from, state it leads to)
TRANSITIONS = {
    "publish": ((INFO_DRAFT,), INFO_PUBLISHED),
    "withdraw": ((INFO_PUBLISHED,), INFO_WITHDRAWN),
    "revise": ((INFO_WITHDRAWN,), INFO_DRAFT),
}


@dataclass
class NewFile:
    filename: str
    content_type: str
    content: bytes

    def __post_init__(self):
        # Kept as a name to show, never as a path: "../../x.png" is "x.png", control characters go.
        self.filename = display_filename(self.filename)


@dataclass
class InfoQuery:
    q: str = ""
    category: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""  # editors only; the public sees published items whatever is asked


def may_write(user) -> bool:
    return user.role == ROLE_CITY_ADMIN or (user.role == ROLE_COUNTY_SUPERVISOR and user.county_id is not None)


def editor_scope(user):
    """The items ``user`` may edit and see unpublished."""
    if user.role == ROLE_CITY_ADMIN:
        return InfoItem.id.isnot(None)
    if user.role == ROLE_COUNTY_SUPERVISOR and user.county_id is not None:
        return InfoItem.county_id == user.county_id
    return false()


def issuing_county(user, chosen: int | None) -> int | None:
    """The county an item is filed under: the supervisor's own, or what the city admin chose."""
    return chosen if user.role == ROLE_CITY_ADMIN else user.county_id


def like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def search(stmt, query: InfoQuery, date_column):
    """Narrow ``stmt`` by text (title or body, LIKE so both databases answer alike), category and a
    date range in Shanghai days."""
    if query.q:
        pattern = like(query.q)
        stmt = stmt.where(or_(InfoItem.title.ilike(pattern, escape="\\"), InfoItem.body.ilike(pattern, escape="\\"),
                              InfoItem.doc_number.ilike(pattern, escape="\\")))
    if query.category:
        stmt = stmt.where(InfoItem.category == query.category)
    if query.date_from:
        stmt = stmt.where(date_column >= day_start(query.date_from))
    if query.date_to:
        stmt = stmt.where(date_column < day_start(query.date_to + timedelta(days=1)))
    return stmt


def public_stmt(query: InfoQuery):
    stmt = select(InfoItem).where(InfoItem.status == INFO_PUBLISHED)
    return search(stmt, query, InfoItem.published_at).order_by(InfoItem.published_at.desc(), InfoItem.id.desc())


def editor_stmt(user, query: InfoQuery):
    stmt = select(InfoItem).where(editor_scope(user))
    if query.status:
        stmt = stmt.where(InfoItem.status == query.status)
    return search(stmt, query, InfoItem.created_at).order_by(InfoItem.updated_at.desc(), InfoItem.id.desc())


def published_item(s, item_id: int) -> InfoItem:
    item = s.get(InfoItem, item_id)
    if item is None or item.status != INFO_PUBLISHED:
        raise NotFound("no such item")
    return item


def editable_item(s, user, item_id: int) -> InfoItem:
    item = s.scalar(select(InfoItem).where(InfoItem.id == item_id, editor_scope(user)))
    if item is None:
        raise NotFound("no such item")
    return item


def item_file(item: InfoItem, att_id: int) -> InfoAttachment:
    """An attachment of this item; another item's file is not found here, whatever its id."""
    att = next((a for a in item.attachments if a.id == att_id), None)
    if att is None:
        raise NotFound("no such attachment")
    return att


def count_view(s, item: InfoItem) -> None:
    # One UPDATE: concurrent readers add up instead of overwriting each other's count.
    s.execute(update(InfoItem).where(InfoItem.id == item.id).values(view_count=InfoItem.view_count + 1)
              .execution_options(synchronize_session=False))


def _attach(s, item: InfoItem, user, files: list[NewFile]) -> None:
    for f in files:
        s.add(InfoAttachment(item=item, filename=f.filename[:256], content_type=f.content_type, size=len(f.content),
                             sha256=hashlib.sha256(f.content).hexdigest(), content=f.content,
                             uploaded_by_id=user.id))


def create_item(s, user, fields: dict, files: list[NewFile]) -> InfoItem:
    """A new draft; the caller commits."""
    county_id = issuing_county(user, fields.pop("county_id", None))
    item = InfoItem(status=INFO_DRAFT, author_id=user.id, county_id=county_id, view_count=0, **fields)
    s.add(item)
    _attach(s, item, user, files)
    s.flush()
    return item


def update_item(s, user, item: InfoItem, fields: dict, files: list[NewFile], remove: list[int]) -> None:
    if item.status != INFO_DRAFT:
        raise Conflict("only drafts are edited; withdraw and revise a published item first")
    county_id = issuing_county(user, fields.pop("county_id", item.county_id))
    item.county_id = county_id
    for name, value in fields.items():
        setattr(item, name, value)
    for att in list(item.attachments):
        if att.id in remove:
            item.attachments.remove(att)
            s.delete(att)
    _attach(s, item, user, files)
    item.updated_at = clock.now()


def delete_draft(s, item: InfoItem) -> None:
    """A draft never published may be thrown away; anything once public is kept (withdrawn)."""
    if item.status != INFO_DRAFT or item.published_at is not None:
        raise Conflict("only a draft that was never published can be deleted")
    for att in list(item.attachments):
        s.delete(att)
    s.delete(item)


def transition(s, item: InfoItem, action: str, now: datetime | None = None) -> None:
    if action not in TRANSITIONS:
        raise NotFound("no such action")
    sources, target = TRANSITIONS[action]
    if item.status not in sources:
        raise Conflict(f"cannot {action} an item that is {item.status}")
    now = now or clock.now()
    item.status = target
    if target == INFO_PUBLISHED:
        item.published_at = now
        item.withdrawn_at = None
    elif target == INFO_WITHDRAWN:
        item.withdrawn_at = now
    item.updated_at = now


def counts(s, user) -> dict:
    """Items and views per category and status, within what ``user`` edits (the A6.1 statistics)."""
    rows = s.execute(select(InfoItem.category, InfoItem.status, func.count(), func.coalesce(func.sum(
        InfoItem.view_count), 0)).where(editor_scope(user)).group_by(InfoItem.category, InfoItem.status)).all()
    return {(category, status): {"items": n, "views": int(views)} for category, status, n, views in rows}
