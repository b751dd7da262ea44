"""The mailbox: folders, messages, auto-sort rules and ``.eml`` uploads.

A body is checked against its model in ``api_inputs`` (``body(Model)``), which is imported
in the route that needs it: it brings pydantic, which a cold start need not pay for.
"""

from __future__ import annotations

import json
import re
import urllib.parse

import api_views as views
import api_views_reading
from api_http import Routes, body, json_response, owner, query
from chalice.app import Response

from mailport.catalogue import say
from mailport.domain.identity import Feature
from mailport.errors import NotFound, ValidationFailed
from mailport.http import attachment
from mailport.usecases.mailbox import SearchRequest
from mailport.wiring import container

routes = Routes(__name__)


# ---------------------------------------------------------------- folders
@routes.api("/v1/folders", methods=["GET"])
def list_folders() -> Response:
    """Every folder with total and unread counts, system folders first."""
    folders = container().mailbox.folders(owner())
    return json_response({"folders": [views.folder(f) for f in folders]})


@routes.api("/v1/folders", methods=["POST"])
def create_folder() -> Response:
    """Create a folder (``{name, parent_id?}``)."""
    from api_inputs import FolderIn  # noqa: PLC0415 (lazily: see the module's docstring)

    data = body(FolderIn)
    folder = container().mailbox.create_folder(owner(), data["name"], data.get("parent_id"))
    return json_response(views.folder(folder), 201)


@routes.api("/v1/folders/{folder_id}", methods=["PATCH"])
def update_folder(folder_id: str) -> Response:
    """Rename and/or move a folder (``{name?, parent_id?}``)."""
    from api_inputs import FolderChange  # noqa: PLC0415 (lazily: see the module's docstring)

    changes = body(FolderChange)
    folder = container().mailbox.update_folder(owner(), folder_id, changes)
    return json_response(views.folder(folder))


@routes.api("/v1/folders/{folder_id}", methods=["DELETE"])
def delete_folder(folder_id: str) -> Response:
    """Delete an empty folder."""
    container().mailbox.delete_folder(owner(), folder_id)
    return Response(body="", status_code=204)


@routes.api("/v1/folders/{folder_id}/messages", methods=["GET"])
def list_messages(folder_id: str) -> Response:
    """A page of the folder's messages, newest first (``?limit=&cursor=``); with any of
    ``q``, ``since``, ``before``, only those that match (see ``search_messages``).
    """
    mailbox = container().mailbox
    request = _search()
    if request is None:
        page = mailbox.messages(owner(), folder_id, query("limit"), query("cursor"))
    else:
        page = mailbox.search_folder(owner(), folder_id, request, query("limit"), query("cursor"))
    return json_response(views.message_page(page))


# ---------------------------------------------------------------- messages
@routes.api("/v1/messages", methods=["GET"])
def search_messages() -> Response:
    """Search all the caller's folders (``?q=&since=&before=&limit=&cursor=``).

    ``q``: words, each found in the sender's name or address or in the subject;
    ``from:word`` and ``subject:word`` look in one of them; ``"two words"`` together.
    Case, full-width and half-width forms don't matter (NFKC, casefold). ``since`` and
    ``before``: dates (YYYY-MM-DD, UTC), ``since`` included, ``before`` not. Folder after
    folder (the folder list's order), each newest first; a page may be short, even empty,
    with a cursor: each request reads a bounded part of the index.
    """
    page = container().mailbox.search_all(
        owner(), _search() or SearchRequest(), query("limit"), query("cursor")
    )
    return json_response(views.message_search(page))


def _search() -> SearchRequest | None:
    """The search the query string asks for, or None if it asks none."""
    q, since, before = query("q"), query("since"), query("before")
    if q is None and since is None and before is None:
        return None
    return SearchRequest(q, since, before)


@routes.api("/v1/messages/{message_id}", methods=["GET"])
def get_message(message_id: str) -> Response:
    """One message's index entry."""
    return json_response(views.message(container().mailbox.message(owner(), message_id)))


@routes.api("/v1/messages/{message_id}", methods=["PATCH"])
def update_message(message_id: str) -> Response:
    """Change flags and/or move (``{flags?: {seen, flagged, answered}, folder_id?}``)."""
    from api_inputs import MessageChange  # noqa: PLC0415 (lazily: see the module's docstring)

    message = container().mailbox.update_message(owner(), message_id, body(MessageChange))
    return json_response(views.message(message))


@routes.api("/v1/messages/{message_id}", methods=["DELETE"])
def delete_message(message_id: str) -> Response:
    """Delete a message for good."""
    container().mailbox.delete_message(owner(), message_id)
    return Response(body="", status_code=204)


@routes.api("/v1/messages/{message_id}/raw", methods=["GET"])
def raw_message(message_id: str) -> Response:
    """The message exactly as received (``Accept: message/rfc822`` or ``*/*``); over 4 MB,
    409 (``raw_message_link`` hands out a link instead).
    """
    raw = container().mailbox.raw(owner(), message_id)
    return Response(
        body=raw,
        status_code=200,
        headers={
            "Content-Type": "message/rfc822",
            "Content-Disposition": f'attachment; filename="{message_id}.eml"',
        },
    )


@routes.api("/v1/messages/{message_id}/content", methods=["GET"])
def message_content(message_id: str) -> Response:
    """The message to read (``?charset=&remote=allow``): headers, text, safe HTML, parts."""
    remote = query("remote")
    if remote not in (None, "allow", "block"):
        raise ValidationFailed(say("mailbox.remote_choice"))
    quoted = urllib.parse.quote(message_id, safe="")
    reading = container().mailbox.content(
        owner(),
        message_id,
        lambda part_id: f"/v1/messages/{quoted}/parts/{part_id}",
        charset=query("charset"),
        remote=remote == "allow",
    )
    # Japanese text as UTF-8, not \uXXXX: a third of the bytes (the bodies are capped in
    # UTF-8 bytes, so the answer stays far below Lambda's 6 MB).
    answer = json.dumps(api_views_reading.content(reading), ensure_ascii=False)
    return Response(
        body=answer, status_code=200, headers={"Content-Type": "application/json; charset=utf-8"}
    )


_PART_ID = re.compile(r"[1-9][0-9]{0,3}(\.[1-9][0-9]{0,3}){0,49}")


@routes.api("/v1/messages/{message_id}/parts/{part_id}", methods=["GET"])
def message_part(message_id: str, part_id: str) -> Response:
    """One part, decoded, as a download (``Accept: application/octet-stream`` or ``*/*``)."""
    if not _PART_ID.fullmatch(part_id):
        raise NotFound(say("mailbox.no_part"))
    found = container().mailbox.part(owner(), message_id, part_id)
    # Always a download: an HTML or SVG attachment is never shown as a page of the API's
    # origin. Its own type is in the /content answer's parts.
    return Response(
        body=found.data,
        status_code=200,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": attachment(found.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.api("/v1/messages/{message_id}/raw/link", methods=["GET"])
def raw_message_link(message_id: str) -> Response:
    """A short-lived link that downloads the raw message straight from the store."""
    return json_response(api_views_reading.link(container().downloads.message(owner(), message_id)))


@routes.api("/v1/messages/{message_id}/parts/{part_id}/link", methods=["GET"])
def message_part_link(message_id: str, part_id: str) -> Response:
    """A short-lived link that downloads one part, decoded, straight from the store."""
    if not _PART_ID.fullmatch(part_id):
        raise NotFound(say("mailbox.no_part"))
    return json_response(
        api_views_reading.link(container().downloads.part(owner(), message_id, part_id))
    )


# ---------------------------------------------------------------- rules
@routes.api("/v1/rules", methods=["GET"])
def get_rules() -> Response:
    """The ordered auto-sort rules."""
    return json_response(container().mailbox.rules(owner()))


@routes.api("/v1/rules", methods=["PUT"])
def put_rules() -> Response:
    """Replace the auto-sort rules; each move target must be an existing folder."""
    from api_inputs import RulesInput  # noqa: PLC0415 (lazily: see the module's docstring)

    return json_response(container().mailbox.replace_rules(owner(), body(RulesInput)))


# ---------------------------------------------------------------- uploads
@routes.api("/v1/uploads", methods=["POST"])
def create_upload() -> Response:
    """Start an upload batch: per file, a presigned POST (or why it was refused)."""
    from api_inputs import UploadIn  # noqa: PLC0415 (lazily: see the module's docstring)

    batch = container().uploads.create(owner(Feature.EML_UPLOAD), body(UploadIn))
    return json_response(views.upload(batch.batch, batch.posts), 201)


@routes.api("/v1/uploads/{upload_id}", methods=["GET"])
def get_upload(upload_id: str) -> Response:
    """The batch and each file's state: pending, stored, duplicate or rejected (with why)."""
    return json_response(
        views.upload(container().uploads.get(owner(Feature.EML_UPLOAD), upload_id))
    )
