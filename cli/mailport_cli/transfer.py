"""Sending one file with its presigned POST, retrying what may pass on a second try."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import requests

from .api import USER_AGENT, describe_failure
from .files import LocalFile

ATTEMPTS = 3
TIMEOUT_S = 120.0
_local = threading.local()


def _session() -> requests.Session:
    """One session per thread (sessions are not shared across threads)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        _local.session = session
    return session


def send_file(file: LocalFile, post: dict[str, Any]) -> str | None:
    """POST the file to S3; None when it arrived, else why it did not."""
    try:
        content = file.path.read_bytes()
    except OSError as e:
        return f"cannot read the file: {e.strerror}"
    why = "not sent"
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(0.5 * 2**attempt)
        why, retry = _attempt(file, post, content)
        if not retry:
            break
    return why or None


def _attempt(file: LocalFile, post: dict[str, Any], content: bytes) -> tuple[str, bool]:
    """One try: ("", False) when it arrived, else (why, whether to try again)."""
    try:
        response = _session().post(
            str(post["url"]),
            data=post.get("fields") or {},
            files={"file": (file.name, content)},
            timeout=TIMEOUT_S,
        )
    except requests.RequestException as e:
        return f"the upload failed: {describe_failure(e)}", True
    if response.ok:
        return "", False
    detail = re.search(r"<Message>(.*?)</Message>", response.text or "", re.DOTALL)
    why = f"the upload was refused (HTTP {response.status_code})"
    if detail:
        why += f": {detail.group(1).strip()}"
    return why, response.status_code >= requests.codes.server_error
