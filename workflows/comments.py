"""What a comment on a case may be: the one rule, applied by the engine when it stores one.

The messages are English templates; the web layer shows them in the reader's language (the same
texts are in its catalogue), from ``CommentRefused.template`` and ``.params``.
"""
from .errors import InvalidInput

MAX_TEXT = 4000
EMPTY = "Write a comment or attach a file."
TOO_LONG = "At most %(n)s characters."
NOT_TEXT = "The comment must be text."
# What the field's own error says, where it is not the message itself.
FIELD_MESSAGES = {NOT_TEXT: "Must be a string."}


class CommentRefused(InvalidInput):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        message = template % params if params else template
        super().__init__(message, {"text": [FIELD_MESSAGES.get(template, message)]})


def comment_text(text, files: int) -> str:
    """The comment's text as stored (trimmed), or CommentRefused: text it is, and not empty unless
    files come with it, and at most MAX_TEXT characters."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise CommentRefused(NOT_TEXT)
    text = text.strip()
    if not text and not files:
        raise CommentRefused(EMPTY)
    if len(text) > MAX_TEXT:
        raise CommentRefused(TOO_LONG, n=MAX_TEXT)
    return text
