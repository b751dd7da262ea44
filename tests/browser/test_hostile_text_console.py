"""Hostile text in the console: markup, a script end tag, a right-to-left override and
control characters in a message's subject, sender name and attachment names, in the
uploaded file's own name, and in a POP3 server's refusal, are shown as text. No dialog
opens, and nothing the page builds from that text becomes an element: a MutationObserver,
installed before the console's own code runs, records every ``img``/``script``/``iframe``/
``object``/``embed`` added to the document and every added element with an ``on…``
attribute.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from playwright.sync_api import Dialog, Locator, Page, expect

from mailport_local.stack import LocalStack
from tests.browser.conftest import screenshot, sign_in_as
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.stack

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
RLO = "\u202e"
CONTROLS = "\x01\x07\x1b[31m\x7f"

WATCH = """
(() => {
  window.__created = [];
  const risky = new Set(["IMG", "SCRIPT", "IFRAME", "OBJECT", "EMBED"]);
  const note = (el) => {
    const on = [...el.attributes].filter((a) => a.name.toLowerCase().startsWith("on"));
    if (risky.has(el.tagName) || on.length) window.__created.push(el.outerHTML.slice(0, 200));
  };
  new MutationObserver((records) => {
    if (document.readyState === "loading") return; // index.html's own elements, parsed
    for (const r of records) {
      for (const node of r.addedNodes) {
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        note(node);
        for (const el of node.querySelectorAll("*")) note(el);
      }
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""


def encoded_word(text: str) -> str:
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def attachment(name: str) -> str:
    return (
        "--b1\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Disposition: attachment; filename*=UTF-8''{quote(name, safe='')}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
    )


def hostile_message(tag: str) -> bytes:
    subject = f"{IMG} {SCRIPT} {RLO}exe.txt {CONTROLS} {tag}"
    sender = f"{IMG} {SCRIPT} {RLO}moc.knab{CONTROLS}"
    names = [f"{IMG}{RLO}fdp.exe", f"{SCRIPT}.txt", f"bell{CONTROLS}.txt"]
    return (
        f"From: {encoded_word(sender)} <mallory@example.org>\r\n"
        f"To: me@example.org\r\nSubject: {encoded_word(subject)}\r\n"
        f"Message-ID: <hostile-{tag}@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p>{IMG}{SCRIPT}<script>alert(3)</script>hello {tag}</p>\r\n"
        + "".join(attachment(n) for n in names)
        + "--b1--\r\n"
    ).encode()


def text_of(locator: Locator) -> str:
    return str(locator.evaluate("el => el.textContent"))


def api_message(stack: LocalStack, email: str, tag: str) -> dict[str, Any]:
    headers = login(stack, email, "acme")
    listed = requests.get(
        f"{stack.api_url}/v1/folders/inbox/messages", headers=headers, timeout=10
    ).json()
    [summary] = [m for m in listed["messages"] if m["subject"].endswith(tag)]
    message = requests.get(
        f"{stack.api_url}/v1/messages/{summary['id']}", headers=headers, timeout=10
    ).json()
    return dict(message)


def watched(page: Page) -> list[str]:
    """Record every dialog (and dismiss it), and watch for elements built from text."""
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.add_init_script(WATCH)
    return dialogs


def nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert dialogs == []
    assert page.evaluate("window.__created") == [], page.evaluate("window.__created")
    assert page.locator("img, iframe, object, embed").count() == 0
    assert page.evaluate("[...document.scripts].filter(s => s.text.includes('alert')).length") == 0


def test_hostile_subject_sender_and_file_names_are_text(
    page: Page, console: str, local_stack: LocalStack
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"hostile-{tag}@acme.example"
    dialogs = watched(page)
    file_name = f"{IMG}{RLO}lmx.eml"
    sign_in_as(page, console, email)
    page.get_by_role("link", name="Upload").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#dropzone").focus()
        page.keyboard.press("Enter")
    chooser.value.set_files(
        [{"name": file_name, "mimeType": "message/rfc822", "buffer": hostile_message(tag)}]
    )
    row = page.locator("li.file")
    expect(row.locator(".status")).to_have_text("Stored")
    assert text_of(row.locator(".name")) == file_name

    # What the API says the message is: the console must show exactly this, as text.
    stored = api_message(local_stack, email, tag)
    subject = stored["subject"]
    # Markup stays (it is only text); bidi overrides are taken out by the index, so a name
    # can't display as something else ("…\u202efdp.exe" as "…exe.pdf").
    assert IMG in subject and SCRIPT in subject and RLO not in subject
    [sender] = stored["from"]
    assert IMG in sender["name"] and SCRIPT in sender["name"] and RLO not in sender["name"]
    names = stored["attachments"]
    assert any(IMG in n for n in names) and len(names) == 3
    assert not any(RLO in n for n in names)

    page.get_by_role("link", name="Mailbox").click()
    listed = page.locator("button.row", has_text=tag)
    expect(listed).to_have_count(1)
    assert text_of(listed.locator(".subject")) == subject
    assert text_of(listed.locator(".from")) == f"{sender['name']} <{sender['email']}>"

    listed.click()
    view = page.locator(".message-view")
    expect(view.locator("h2")).to_have_count(1)
    assert text_of(view.locator("h2")) == subject
    headers = dict(
        zip(
            view.locator("dl.headers dt").all_text_contents(),
            view.locator("dl.headers dd").all_text_contents(),
            strict=True,
        )
    )
    assert headers["From"] == f"{sender['name']} <{sender['email']}>"
    assert headers["Attachments"] == ", ".join(names)
    expect(view.locator("pre.body")).to_contain_text(f"hello {tag}")  # the HTML body, as text
    screenshot(page, "hostile-text")
    nothing_ran(page, dialogs)


class HostilePop3:
    """A POP3S server (the test Dovecot's certificate, which the local stack trusts) that
    refuses every login with ``refusal``.
    """

    def __init__(self, dovecot: Dovecot, refusal: bytes) -> None:
        self.refusal = refusal
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(dovecot._cert_pem, dovecot._key_pem)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        answers = {b"CAPA": b"+OK\r\nUSER\r\nUIDL\r\n.\r\n", b"USER": b"+OK\r\n"}
        try:
            with self.tls.wrap_socket(raw, server_side=True) as conn:
                conn.sendall(b"+OK ready\r\n")
                for line in conn.makefile("rb"):
                    verb = line.split(b" ", 1)[0].strip().upper()
                    if verb == b"QUIT":
                        conn.sendall(b"+OK bye\r\n")
                        return
                    conn.sendall(answers.get(verb, self.refusal))
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hostile_pop3(dovecot: Dovecot) -> Iterator[HostilePop3]:
    text = f"-ERR {IMG} {SCRIPT} {RLO}drowssap{CONTROLS} denied\r\n".encode()
    server = HostilePop3(dovecot, text)
    yield server
    server.close()


@pytest.mark.dovecot
def test_a_hostile_pop3_refusal_is_text(
    page: Page, console: str, local_stack: LocalStack, hostile_pop3: HostilePop3
) -> None:
    tag = uuid.uuid4().hex[:8]
    email = f"hostile-pop-{tag}@acme.example"
    user = f"{IMG}{tag}"
    # What the API answers: the console must show exactly its message, as text.
    refused = requests.post(
        f"{local_stack.api_url}/v1/accounts",
        headers=login(local_stack, email, "acme"),
        json=pop_form(hostile_pop3.port, user, "pw"),
        timeout=30,
    )
    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]["message"]
    # Markup stays as text; control characters and bidi overrides are taken out.
    assert IMG in message and SCRIPT in message and RLO not in message
    assert not any(c in message for c in "\x01\x1b\x7f")

    dialogs = watched(page)
    sign_in_as(page, console, email)
    page.get_by_role("link", name="External mail (POP3)").click()
    page.get_by_role("button", name="Add an account").click()
    form = page.locator("#account-form")
    form.get_by_label("Provider").select_option("manual")
    form.get_by_label("Email address or ID").fill(user)
    form.get_by_label("Password").fill("pw")
    form.get_by_label("POP3 server").fill("127.0.0.1")
    form.get_by_label("Port").fill(str(hostile_pop3.port))
    form.get_by_label("I agree").check()
    form.get_by_role("button", name="Register").click()
    alert = form.get_by_role("alert")
    expect(alert).to_contain_text("denied")
    assert message in text_of(alert)
    screenshot(page, "hostile-pop-refusal")
    nothing_ran(page, dialogs)
