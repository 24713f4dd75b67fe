"""What the OpenAPI document says about the API as a whole: its limits and the Idempotency-Key.

Each figure is read from the constant or setting that enforces it, so the document cannot drift
from the code (shared/spec/api.md was the original contract; this document is the truth).
"""
from flask import current_app

from web.common.idempotency import HEADER, KEY_PATTERN, REPLAYED

IDEMPOTENCY_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": "Any unique value (a UUID) for this request, to send it again safely: see the "
                   "description of the API. Printable ASCII, 1 to 255 characters; a quoted value is unquoted.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
}
REPLAYED_HEADER = {REPLAYED: {"description": "\"true\" when this answer is the one kept for the Idempotency-Key, "
                                             "replayed: the request did not act again",
                              "schema": {"type": "string", "enum": ["true"]}}}


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


def limits() -> list[str]:
    """One line per limit, in words, with the figure the code enforces."""
    from forms.checklist_file import MAX_FILE_BYTES as CHECKLIST_BYTES
    from forms.fields import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
    from web import api
    from web.common import taskflow
    from web.pages.account.login import LOCK_AFTER, THROTTLE_AFTER, WINDOW
    from workflows.engine.decisions import MAX_DMN_BYTES
    from workflows.engine.loader import MAX_BPMN_BYTES

    from . import monitoring

    cfg = current_app.config
    return [
        f"Request body: at most {_mb(cfg['MAX_CONTENT_LENGTH'])} (413 beyond).",
        f"Attachments (`POST /api/v1/attachments`, comment files): at most {_mb(MAX_ATTACHMENT_BYTES)} each, "
        f"of the types {', '.join(ATTACHMENT_TYPES)}, the content as well as the declared type (422 otherwise).",
        f"Files of data records (`POST /api/v1/data/{{kind}}/{{record_id}}/files`, the web form): at most "
        f"{_mb(MAX_ATTACHMENT_BYTES)} each, checked by their content (not the name or type sent): PDF, JPEG, PNG, "
        "Word (.docx) or Excel (.xlsx); a photo is JPEG or PNG. A refused file is 422 naming `file`, and none of "
        "the request's files is kept.",
        f"Data batches (`POST /api/v1/data/{{kind}}`): at most {cfg['DATA_MAX_RECORDS']} records and "
        f"{_mb(cfg['DATA_MAX_BYTES'])} of body (413 beyond).",
        f"Readings (`POST /api/v1/readings`): at most {monitoring.MAX_BATCH} per batch (413 beyond); "
        f"`GET /api/v1/readings` returns at most `limit` ≤ {monitoring.MAX_LIMIT} "
        f"(default {monitoring.DEFAULT_LIMIT}).",
        f"Lists: `per_page` from 1 (default 50; above {api.MAX_PER_PAGE} a page holds {api.MAX_PER_PAGE}), "
        "`page` from 1.",
        f"Comments: at most {taskflow.MAX_COMMENT} characters; task search `q`: at most {taskflow.MAX_SEARCH}.",
        f"Models: a BPMN file at most {_mb(MAX_BPMN_BYTES)}, a DMN file at most {_mb(MAX_DMN_BYTES)}, a checklist "
        f"template file at most {_mb(CHECKLIST_BYTES)}.",
        "Ids and integer arguments: 1 to 2^31 − 1; a larger id names nothing (404).",
        f"Process models: each script or expression step runs under {cfg['SCRIPT_CPU_SECONDS']} s of CPU time and "
        f"{cfg['SCRIPT_MEMORY_MB']} MB of memory; beyond either, the step fails with 422 `model_error` naming the "
        "BPMN element, and nothing is written.",
        "Rate: the API itself is not rate-limited per request; signing in on the web pages locks a name after "
        f"{LOCK_AFTER} failures and throttles an address after {THROTTLE_AFTER} within "
        f"{int(WINDOW.total_seconds() // 60)} minutes.",
    ]


def description() -> str:
    wait = current_app.config["IDEMPOTENCY_WAIT_SECONDS"]
    lines = "\n".join(f"- {line}" for line in limits())
    return f"""The REST API of gasflow: cases, tasks, data reporting, monitoring and models.

## Limits
{lines}

## Task context
`GET /api/v1/tasks/{{id}}` returns, besides the task's form, its `context`: what the person deciding it sees
above the form on the task page, item by item (the order and its notice, every earlier round of replies,
photos and send-back reasons, a penalty's facts, basis, amount, evidence and the opinions so far, a data
batch's records). Each item has a machine-readable `value` (money as a number of yuan, instants in ISO 8601
UTC, choices as their code, files as attachment ids with their names) and its `label` and `text` as a person
reads them. An enterprise's key gets only what is addressed to the enterprise; personal fields are masked
unless the key's user holds `data.personal`.

## Idempotency-Key
Every `POST` takes an optional `{HEADER}` header (IETF draft "The Idempotency-Key HTTP Header Field"):
send a new unique value (a UUID) with each request that creates or completes something, and the same
value again when retrying it, after a timeout or a lost connection.

- A key is kept for 24 hours per user, per method and path.
- The first request with the key acts. A repeat gets the same status and body, with
  `{REPLAYED}: true`, and does not act again; also when the requests race, from any number of servers.
- A repeat that arrives while the first request is still being served waits up to {wait} s for its
  answer, then gets `409` (`idempotency_in_progress`, with `Retry-After`).
- The key with a different request (method and path the same; query, content type or body not)
  gets `422` (`idempotency_key_reused`).
- Only a success (2xx) is kept. A refusal (4xx) or a server error changed nothing: the key is free
  again, and the request may be sent again with it, corrected.
- A malformed key gets `400` (`invalid_idempotency_key`)."""
