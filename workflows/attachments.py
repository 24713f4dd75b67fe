"""Case attachments: what a file may be, and the one way an attachment row is made.

Files come with task forms (web posts, or ids of files posted before to the API), with comments, from
``POST /api/v1/attachments``, and from the documents the platform renders; each of those paths checks
its files with ``refusal`` and stores them with ``new_attachment``.
"""
import hashlib
from dataclasses import dataclass

import filetype

from models import Attachment

from .text import display_filename

MAX_BYTES = 10 * 1024 * 1024
TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")
TOO_LARGE, TYPE_NOT_ALLOWED = "size", "type"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMAGE_TYPES = ("image/jpeg", "image/png")
DOCUMENT_TYPES = ("application/pdf", *IMAGE_TYPES, DOCX, XLSX)


@dataclass
class NewFile:
    """An uploaded file to store with a task completion or a comment, in the same transaction."""

    filename: str
    content_type: str
    content: bytes
    field: str

    def __post_init__(self):
        # Kept as a name to show, never as a path: "../../x.png" is "x.png", control characters go.
        self.filename = display_filename(self.filename)


def refusal(content_type: str | None, size: int, head: bytes | None = None) -> str | None:
    """Why a file of this type and size may not be attached (TYPE_NOT_ALLOWED, TOO_LARGE), or None.
    ``head``: the file's first bytes, when at hand, must show one of the types too (a page renamed .png is not)."""
    if content_type not in TYPES:
        return TYPE_NOT_ALLOWED
    if size > MAX_BYTES:
        return TOO_LARGE
    if head is not None and sniffed_type(head) not in TYPES:
        return TYPE_NOT_ALLOWED
    return None


def sniffed_type(content: bytes) -> str | None:
    """The type the content itself shows (its magic bytes; an Office file by the parts inside its zip),
    whatever name and type the sender gave it: an HTML page or a program renamed ``.pdf`` is not a PDF."""
    return filetype.guess_mime(content) if content else None


def content_refusal(content: bytes, allowed: tuple) -> tuple[str | None, str | None]:
    """(the type found in ``content``, why it may not be stored: TOO_LARGE, TYPE_NOT_ALLOWED, or None)."""
    found = sniffed_type(content)
    if len(content) > MAX_BYTES:
        return found, TOO_LARGE
    if found not in allowed:
        return found, TYPE_NOT_ALLOWED
    return found, None


def new_attachment(filename: str, content_type: str, content: bytes, *, enterprise_id: int | None,
                   uploaded_by_id: int | None = None, case_id: int | None = None, task_id: int | None = None,
                   **extra) -> Attachment:
    """An attachment row for ``content``; the caller adds it to the session."""
    att = Attachment(uploaded_by_id=uploaded_by_id, enterprise_id=enterprise_id, case_id=case_id, task_id=task_id,
                     **extra)
    return refill(att, filename, content_type, content)


def refill(att: Attachment, filename: str, content_type: str, content: bytes) -> Attachment:
    """``att`` holding ``content`` (a document rendered again): name, type, size and SHA-256 with it."""
    att.filename, att.content_type = filename[:256], content_type[:128]
    att.content, att.size, att.sha256 = content, len(content), hashlib.sha256(content).hexdigest()
    return att
