"""Reading a message over HTTP: GET /v1/messages/{id}/content and /parts/{part_id} on the
local stack, for the owner only.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from mailport_local.stack import LocalStack
from tests.e2e.test_upload import start, upload_all, wait_done
from tests.support.api import login
from tests.support.reading_mail import (
    JAPANESE,
    PNG,
    SUBJECT,
    html_with_remote_image,
    shift_jis_labelled_latin1,
)

pytestmark = pytest.mark.stack


def _upload(stack: LocalStack, headers: dict[str, str]) -> dict[str, str]:
    """Upload the two samples; their message ids by file name."""
    files = {"sjis.eml": shift_jis_labelled_latin1(), "news.eml": html_with_remote_image()}
    batch = start(stack, headers, files)
    upload_all(batch, files)
    done = wait_done(stack, headers, batch["id"])
    assert {f["status"] for f in done["files"]} == {"stored"}, done
    page = requests.get(
        f"{stack.api_url}/v1/folders/inbox/messages", headers=headers, timeout=10
    ).json()
    by_subject = {m["subject"]: m["id"] for m in page["messages"]}
    return {"sjis.eml": by_subject[SUBJECT], "news.eml": by_subject["Newsletter"]}


def _get(stack: LocalStack, headers: dict[str, str], path: str, **params: str) -> Any:
    return requests.get(f"{stack.api_url}{path}", headers=headers, params=params, timeout=10)


def test_content_and_parts_for_the_owner_only(local_stack: LocalStack) -> None:
    h = login(local_stack, "reader@acme.example", "acme")
    ids = _upload(local_stack, h)

    sjis = _get(local_stack, h, f"/v1/messages/{ids['sjis.eml']}/content")
    assert sjis.status_code == 200, sjis.text
    body = sjis.json()
    assert body["text"].strip() == JAPANESE
    assert body["charset"]["used"] == "shift_jis" and body["charset"]["detected"] is True
    assert body["headers"]["subject"] == SUBJECT
    assert body["headers"]["from"] == [{"name": "Sender", "email": "sender@example.jp"}]
    chosen = _get(local_stack, h, f"/v1/messages/{ids['sjis.eml']}/content", charset="utf-8")
    assert chosen.json()["charset"] == {**body["charset"], "used": "utf-8", "detected": False}
    assert JAPANESE not in chosen.json()["text"]
    bad = _get(local_stack, h, f"/v1/messages/{ids['sjis.eml']}/content", charset="koi8-r")
    assert bad.status_code == 400 and "shift_jis" in bad.json()["error"]["message"]

    news_path = f"/v1/messages/{ids['news.eml']}/content"
    news = _get(local_stack, h, news_path).json()
    assert news["remote_blocked"] == 2 and "tracker.example" not in news["html"]
    assert "<script" not in news["html"]
    assert _get(local_stack, h, news_path, remote="allow").json()["remote_blocked"] == 0
    assert _get(local_stack, h, news_path, remote="yes").status_code == 400
    pdf, logo = news["parts"][1], news["parts"][0]
    assert (pdf["filename"], pdf["disposition"]) == ("資料.pdf", "attachment")
    assert f'src="/v1/messages/{ids["news.eml"]}/parts/{logo["id"]}"' in news["html"]

    download = _get(local_stack, h, f"/v1/messages/{ids['news.eml']}/parts/{pdf['id']}")
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 test\n"
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert "filename*=UTF-8''%E8%B3%87%E6%96%99.pdf" in download.headers["Content-Disposition"]
    image = _get(local_stack, h, f"/v1/messages/{ids['news.eml']}/parts/{logo['id']}")
    assert image.content == PNG

    missing = _get(local_stack, h, f"/v1/messages/{ids['news.eml']}/parts/9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert _get(local_stack, h, f"/v1/messages/{ids['news.eml']}/parts/x.1").status_code == 404

    other = login(local_stack, "someone-else@acme.example", "acme")
    for path in (news_path, f"/v1/messages/{ids['news.eml']}/parts/{pdf['id']}"):
        refused = _get(local_stack, other, path)
        assert refused.status_code == 404, path
        assert refused.json()["error"]["code"] == "not_found"


def test_words_in_japanese(local_stack: LocalStack) -> None:
    h = login(local_stack, "reader-ja@acme.example", "acme")
    ids = _upload(local_stack, h)
    ja = {**h, "Accept-Language": "ja"}
    missing = _get(local_stack, ja, f"/v1/messages/{ids['news.eml']}/parts/7")
    assert (
        missing.json()["error"]["message"]
        == "指定された添付ファイル (パート) はこのメールにありません。"
    )
