"""Uploading .eml files in the console: the browser posts each file to its presigned URL
(cross-origin, to S3) with a progress bar, then shows what became of each."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in_as

pytestmark = pytest.mark.stack


def test_upload_three_files_one_not_a_message(page: Page, console: str) -> None:
    tag = uuid.uuid4().hex[:6]
    files = [
        {
            "name": "first.eml",
            "mimeType": "message/rfc822",
            "buffer": (
                f"From: A <a@example.org>\r\nSubject: upload one {tag}\r\n"
                f"Message-ID: <u1-{tag}@example.org>\r\n\r\nbody one\r\n"
            ).encode(),
        },
        {
            "name": "二通目.eml",
            "mimeType": "message/rfc822",
            "buffer": (
                "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\n"
                f"Subject: upload two {tag}\r\nMessage-ID: <u2-{tag}@example.org>\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n本文です\r\n"
            ).encode(),
        },
        {
            "name": "photo.png",
            "mimeType": "image/png",
            "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 300,
        },
    ]
    sign_in_as(page, console, f"upload-{tag}@acme.example")
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("Folder", exact=True).select_option("inbox")
    # The drop zone is a keyboard-reachable button that opens the file picker.
    with page.expect_file_chooser() as chooser:
        page.locator("#dropzone").focus()
        page.keyboard.press("Enter")
    chooser.value.set_files(files)  # type: ignore[arg-type]

    rows = page.locator("li.file")
    expect(rows).to_have_count(3)
    first, second, png = (page.locator(f'li.file[data-file="{f["name"]}"]') for f in files)
    expect(first.locator(".status")).to_have_text("Stored")
    expect(second.locator(".status")).to_have_text("Stored")
    expect(png.locator(".status")).to_have_text(
        "Rejected: this is not a mail message (binary data)"
    )
    for row in (first, second, png):
        expect(row.locator("progress")).to_have_js_property("value", 100)
    expect(page.locator("#upload-summary")).to_have_text(
        "2 stored, 0 duplicates, 1 rejected, 0 being checked"
    )
    screenshot(page, "upload-results-en")

    # Dropped onto the zone: the same message again is a duplicate.
    page.locator("#dropzone").evaluate(
        """(zone, text) => {
          const data = new DataTransfer();
          data.items.add(new File([text], "again.eml", { type: "message/rfc822" }));
          const init = { dataTransfer: data, bubbles: true, cancelable: true };
          zone.dispatchEvent(new DragEvent("dragover", init));
          zone.dispatchEvent(new DragEvent("drop", init));
        }""",
        files[0]["buffer"].decode(),  # type: ignore[attr-defined]
    )
    expect(page.locator('li.file[data-file="again.eml"] .status')).to_have_text(
        "Duplicate: already in this folder"
    )

    page.get_by_role("link", name="Mailbox").click()
    stored = page.locator("button.row", has_text=tag)
    expect(stored).to_have_count(2)
    expect(stored.locator('[data-source="upload"]')).to_have_count(2)
    stored.filter(has_text=f"upload two {tag}").click()
    expect(page.locator(".message-view pre.body")).to_have_text("本文です")
    expect(page.locator(".message-view")).to_contain_text("山田 <yamada@example.jp>")
