"""The answers of reading a message (GET /v1/messages/{id}/content), as ``api_models``
describes its shapes: TypedDicts pydantic renders into openapi.json, exact.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from api_models import EXACT, ContentHeaders
from pydantic import Field, with_config


@with_config(EXACT)
class MessagePart(TypedDict):
    """An attachment or inline image: ``id`` is its MIME path (GET .../parts/{id})."""

    id: str
    filename: Annotated[str, Field(description='The file name it was sent with ("" if none).')]
    content_type: str
    size: Annotated[int, Field(description="Bytes, transfer encoding undone.")]
    content_id: Annotated[
        str | None, Field(description="Its Content-ID (without <>), as HTML's cid: names it.")
    ]
    disposition: Literal["attachment", "inline"]


@with_config(EXACT)
class ContentCharset(TypedDict):
    """How the bodies were read: ``used`` (a choice's name, or the label), ``detected`` when
    the label was not followed (or there was none), and what ``?charset=`` may choose.
    """

    used: str
    detected: bool
    label: str | None
    choices: list[str]


@with_config(EXACT)
class MessageContent(TypedDict):
    """The message as a person reads it. ``html`` is sanitised (no scripts, forms or event
    handlers; remote content blocked unless ``?remote=allow``; ``cid:`` images point at the
    parts route, relative to the API). Each body is at most 1,000,000 bytes of UTF-8
    (``truncated`` says one was cut); the raw message is GET .../raw.
    """

    headers: ContentHeaders
    text: str | None
    html: str | None
    charset: Annotated[ContentCharset | None, Field(description="None: no text or HTML body.")]
    remote_blocked: Annotated[int, Field(description="Remote images and CSS url()s blocked.")]
    parts: list[MessagePart]
    truncated: bool


@with_config(EXACT)
class DownloadLink(TypedDict):
    """A download straight from the store, for a message or part too big for the API's
    answer: ``url`` works without the API's token until ``expires_at`` (5 minutes).
    """

    url: str
    expires_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
