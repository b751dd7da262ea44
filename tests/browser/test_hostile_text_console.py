"""Hostile text in the console: markup, a script end tag, a right-to-left override and
control characters in a message's subject, sender name and attachment names, in the
uploaded file's own name, in what a POP3 server says (a refused registration, a failed
fetch: the account card, the run history, the admin's list and a switch-off reason), and in
an IMAP migration (an admin's server template, a source folder's name, the source server's
refusal: the form, the preview, the job card, the admin's lists) are shown as text. No dialog
but the console's own confirmations opens, and nothing the page builds from that text
becomes an element: a MutationObserver, installed before the console's own code runs,
records every ``img``/``script``/``iframe``/``object``/``embed`` added to the document and
every added element with an ``on…`` attribute.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from playwright.sync_api import Dialog, Locator, Page, expect

from mailport.domain.accounts import DISABLE_AFTER_FAILURES
from mailport_local.stack import LocalStack
from tests.browser.conftest import screenshot, sign_in_as
from tests.e2e.test_migration import _wrap_worker
from tests.support.api import login, pop_form
from tests.support.dovecot import Dovecot
from tests.support.events import queue_record

pytestmark = pytest.mark.stack

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
RLO = "\u202e"
CONTROLS = "\x01\x07\x1b[31m\x7f"
# The same markup in one word, for places that split at spaces (a passwd-file field).
IMG_WORD = "<img/src=x/onerror=alert(1)>"
# What the console says, in English (describe() below reads its error texts).
EN: dict[str, str] = json.loads(
    (Path(__file__).resolve().parents[2] / "functions/api/console/i18n-en.json").read_text("utf-8")
)

WATCH = """
(() => {
  window.__created = [];
  const risky = new Set(["IMG", "SCRIPT", "IFRAME", "OBJECT", "EMBED"]);
  const note = (el) => {
    // A message's HTML is shown on purpose: sanitised by the server, in an iframe sandboxed
    // without scripts (checked in nothing_ran).
    const sandbox = el.getAttribute("sandbox");
    const viewer = el.matches("iframe.viewer-html");
    if (viewer && sandbox !== null && !sandbox.includes("allow-scripts")) return;
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


def described(error: dict[str, str]) -> str:
    """What the console's ``describe()`` must show for an API error: a known code's words,
    then the server's own words in brackets (exactly the API's text).
    """
    known = EN.get(f"error.{error['code']}")
    if known and error.get("message"):
        return f"{known} ({error['message']})"
    return known or error["message"]


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


def watched(page: Page, confirms: list[str] | None = None) -> list[str]:
    """Record every dialog (and dismiss it), and watch for elements built from text. With
    ``confirms``, the console's own confirmations are accepted and recorded there instead.
    """
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        if confirms is not None and dialog.type == "confirm":
            confirms.append(dialog.message)
            dialog.accept()
            return
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.add_init_script(WATCH)
    return dialogs


def nothing_ran(page: Page, dialogs: list[str]) -> None:
    assert dialogs == []
    assert page.evaluate("window.__created") == [], page.evaluate("window.__created")
    assert page.locator("img, iframe:not(.viewer-html), object, embed").count() == 0
    for frame in page.locator("iframe.viewer-html").all():
        assert "allow-scripts" not in (frame.get_attribute("sandbox") or "allow-scripts")
        assert frame.content_frame.locator("script, [onerror], [onclick]").count() == 0
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
    assert "Attachments" not in headers  # listed below the body, each a download
    listed_names = view.locator(".viewer-attachments button[data-part]").all_text_contents()
    assert listed_names == names
    # The HTML body, sanitised, in its sandboxed frame.
    body = page.frame_locator(".message-view iframe.viewer-html").locator("body")
    expect(body).to_contain_text(f"hello {tag}")
    screenshot(page, "hostile-text")
    nothing_ran(page, dialogs)


class HostilePop3:
    """A POP3S server (the test Dovecot's certificate, which the local stack trusts) that
    refuses every login with ``refusal``; with ``refusal`` None it lets anyone in to an empty
    mailbox (so an account can be registered, and then refused).
    """

    def __init__(self, dovecot: Dovecot, refusal: bytes | None) -> None:
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
        if self.refusal is None:  # read once per connection: a login and its session agree
            empty = b"+OK\r\n.\r\n"
            answers |= {b"PASS": b"+OK\r\n", b"STAT": b"+OK 0 0\r\n", b"LIST": empty}
            answers[b"UIDL"] = empty
        try:
            with self.tls.wrap_socket(raw, server_side=True) as conn:
                conn.sendall(b"+OK ready\r\n")
                for line in conn.makefile("rb"):
                    verb = line.split(b" ", 1)[0].strip().upper()
                    if verb == b"QUIT":
                        conn.sendall(b"+OK bye\r\n")
                        return
                    conn.sendall(answers.get(verb, self.refusal or b"-ERR no\r\n"))
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


POP3_REFUSAL = f"-ERR {IMG} {SCRIPT} {RLO}drowssap{CONTROLS} denied\r\n".encode()


@pytest.fixture
def hostile_pop3(dovecot: Dovecot) -> Iterator[HostilePop3]:
    server = HostilePop3(dovecot, POP3_REFUSAL)
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


def fail_scheduled_runs(stack: LocalStack, owner: dict[str, str], account_id: str) -> None:
    """Run the POP fetch worker on enough scheduled requests (as the dispatcher queues them,
    one a tick) to switch the account's automatic fetching off."""
    records = [
        queue_record(
            uuid.uuid4().hex,
            {
                "tenant_id": owner["tenant_id"],
                "user_id": owner["id"],
                "account_id": account_id,
                "trigger": "schedule",
                "tick": uuid.uuid4().hex,
            },
            "fetch",
        )
        for _ in range(DISABLE_AFTER_FAILURES)
    ]
    # One invocation each: ticks are 10 minutes apart. In one batch they would run at once,
    # and the account's lease would let only one of them run.
    for record in records:
        answer = stack.lambdas["PopFetchFunction"].invoke({"Records": [record]})
        assert answer == {"batchItemFailures": []}, answer


def dd_of(container: Locator, term: str) -> str:
    """The text of the ``<dd>`` that follows the ``<dt>`` saying ``term``."""
    facts = dict(
        zip(
            container.locator("dl dt").all_text_contents(),
            [text_of(dd) for dd in container.locator("dl dd").all()],
            strict=True,
        )
    )
    return facts[term]


@pytest.mark.dovecot
def test_a_hostile_pop3_server_after_registration_is_text(  # noqa: PLR0915 - one story, told in order
    page: Page, console: str, local_stack: LocalStack, hostile_pop3: HostilePop3
) -> None:
    """The server lets the account register, then refuses every fetch with hostile words:
    the account card's last error and switch-off reason, the fetch's toast, the run history
    and the admin's list of the organisation's accounts show exactly the API's text.
    """
    api, tag = local_stack.api_url, uuid.uuid4().hex[:8]
    tenant = f"hostile{tag}"
    admin_email = f"admin@{tenant}.example"
    login(local_stack, admin_email, tenant, plan="advanced", admin=True)
    email = f"pop-{tag}@{tenant}.example"
    user = login(local_stack, email, tenant)
    me = requests.get(f"{api}/v1/me", headers=user, timeout=10).json()["user"]
    username = f"{IMG}{SCRIPT}{tag}"
    hostile_pop3.refusal = None
    form = pop_form(hostile_pop3.port, username, "pw", auto_fetch=True)
    created = requests.post(f"{api}/v1/accounts", headers=user, json=form, timeout=30)
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]
    hostile_pop3.refusal = POP3_REFUSAL
    fail_scheduled_runs(local_stack, {"tenant_id": tenant, "id": me["id"]}, account_id)

    # What the API says: the console must show exactly this, as text.
    account = requests.get(f"{api}/v1/accounts/{account_id}", headers=user, timeout=10).json()
    status = account["status"]
    assert status["last_error"]["code"] == "remote_auth_failed"
    error = status["last_error"]["message"]
    assert IMG in error and SCRIPT in error and RLO not in error
    assert not any(c in error for c in "\x01\x1b\x7f")
    assert status["disabled_reason"].endswith(error) and not account["auto_fetch"]
    title = f"{username} @ 127.0.0.1:{hostile_pop3.port}"

    dialogs = watched(page)
    sign_in_as(page, console, email, tenant)
    page.get_by_role("link", name="External mail (POP3)").click()
    card = page.locator(f'article.account[data-account="{account_id}"]')
    expect(card.locator('[data-fact="pop.disabled_reason"]')).to_have_count(1)
    assert text_of(card.locator("h3")) == title
    assert dd_of(card, EN["pop.last_error"]) == described(status["last_error"])
    assert dd_of(card, EN["pop.disabled_reason"]) == status["disabled_reason"]

    card.get_by_role("button", name="Fetch now").click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("The fetch failed")
    runs = requests.get(
        f"{api}/v1/accounts/{account_id}/runs?limit=50", headers=user, timeout=10
    ).json()["runs"]
    [manual] = [r for r in runs if r["trigger"] == "manual"]
    assert text_of(toast) == EN["pop.fetch_failed"].replace("{why}", described(manual["error"]))
    expect(card.locator('[data-fact="pop.last_error"]')).to_have_text(described(manual["error"]))

    card.get_by_role("button", name="Run history").click()
    history = page.locator("table.runs tbody tr")
    expect(history).to_have_count(DISABLE_AFTER_FAILURES + 1)
    assert len(runs) == DISABLE_AFTER_FAILURES + 1
    for run in runs:
        cells = page.locator(f'table.runs tr[data-run="{run["id"]}"] td')
        assert text_of(cells.last) == described(run["error"])
    screenshot(page, "hostile-pop-history")
    nothing_ran(page, dialogs)

    # The organisation's accounts, as its admin sees them.
    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, console, admin_email, tenant, admin=True)
    page.get_by_role("link", name="Admin").click()
    row = page.locator(f'#admin-accounts tr[data-account="{account_id}"]')
    expect(row).to_have_count(1)
    assert text_of(row.locator("td").nth(1)) == title
    assert text_of(row.locator("td").nth(2).locator(".muted")) == status["disabled_reason"]
    screenshot(page, "hostile-admin-accounts")
    nothing_ran(page, dialogs)


# A source folder's name: markup and a right-to-left override. maildir++ keeps a folder in
# one directory name, so no "/" (and "." would nest it): the script tag is left open.
HOSTILE_FOLDER = f"{IMG} <script>alert(2)<-script> {RLO}gpj-exe"


def mail(subject: str) -> tuple[bytes, set[str], float]:
    raw = f"From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{uuid.uuid4()}@x>\r\n\r\n"
    return raw.encode(), set(), 1_700_000_000.0


def ended_job(api: str, user: dict[str, str]) -> dict[str, Any]:
    """The user's one migration, once it has ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = requests.get(f"{api}/v1/migrations", headers=user, timeout=10).json()["migrations"]
        if jobs and jobs[0]["state"] in ("failed", "rolled_back", "completed"):
            return dict(jobs[0])
        time.sleep(0.3)
    raise AssertionError(f"no migration ended: {jobs}")


@pytest.mark.dovecot
def test_a_hostile_imap_server_is_text(  # noqa: PLR0915 - one story, told in order
    page: Page, console: str, local_stack: LocalStack, dovecot: Dovecot
) -> None:
    """An admin's server template with a hostile name, a source folder with one, and the
    source server refusing the migration's login with hostile words: the form, the preview,
    the job card and the admin's lists show exactly the API's text.
    """
    api, tag = local_stack.api_url, uuid.uuid4().hex[:8]
    tenant = f"hostile{tag}"
    admin_email = f"admin@{tenant}.example"
    admin = login(local_stack, admin_email, tenant, plan="advanced", admin=True)
    server = {"host": "127.0.0.1", "port": dovecot.imaps_port, "ssl": True}
    # An override would show "name (127.0.0.1:port)" as another server: refused.
    for name in (f"{IMG} {RLO}revres", f"bell{CONTROLS}"):
        spoof = requests.post(
            f"{api}/v1/admin/imap-templates",
            headers=admin,
            json={**server, "name": name},
            timeout=10,
        )
        assert spoof.status_code == 400, spoof.text
    made = requests.post(
        f"{api}/v1/admin/imap-templates",
        headers=admin,
        json={**server, "name": f"{IMG} {SCRIPT} server"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    template = made.json()
    assert template["name"] == f"{IMG} {SCRIPT} server"
    source, password = f"hostile-{tag}", f"pw-{tag}"
    dovecot.add_user(source, password)
    dovecot.seed_maildir(source, "INBOX", [mail("one")])
    dovecot.seed_maildir(source, HOSTILE_FOLDER, [mail("two")])
    email = f"mig-{tag}@{tenant}.example"
    user = login(local_stack, email, tenant)
    conn = {
        "type": "template",
        "template_id": template["id"],
        "username": source,
        "password": password,
    }
    previewed = requests.post(
        f"{api}/v1/migrations/preview", headers=user, json={"connection": conn}, timeout=30
    )
    assert previewed.status_code == 200, previewed.text
    [folder] = [f for f in previewed.json()["folders"] if IMG in f["name"]]

    confirms: list[str] = []
    dialogs = watched(page, confirms)
    sign_in_as(page, console, email, tenant)
    page.get_by_role("link", name="IMAP migration").click()
    form = page.locator("#migration-form")
    option = form.get_by_label("Server").locator("option")
    expect(option).to_have_count(1)
    assert text_of(option) == f"{template['name']} (127.0.0.1:{dovecot.imaps_port})"
    form.get_by_label("User name").fill(source)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Preview").click()
    row = page.locator("#migration-preview tbody tr", has_text="alert(2)")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    assert text_of(cells.nth(0)) == folder["name"]
    assert text_of(cells.nth(1)) == folder["target"]

    # Once the job has started, the source server refuses this user with hostile words
    # (starting logs in once more): the job ends with them.
    def refuse(chunk: int) -> None:
        if chunk == 1:
            dovecot.refuse_logins(source, f"{IMG_WORD}{SCRIPT}")

    restore = _wrap_worker(local_stack, refuse, lambda chunk: None)
    try:
        form.get_by_label("I agree").check()
        page.locator("#start-migration").click()
        job = ended_job(api, user)
    finally:
        restore()
    # The server's words as it said them (not a Python bytes literal, b'…').
    assert job["error"]["message"].endswith(f"] {IMG_WORD}{SCRIPT}"), job
    card = page.locator(f'article.job[data-job="{job["id"]}"][data-state="{job["state"]}"]')
    expect(card).to_have_count(1)
    assert dd_of(card, EN["mig.error"]) == described(job["error"])

    # A preview now is refused with the same words.
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Preview").click()
    refused = requests.post(
        f"{api}/v1/migrations/preview", headers=user, json={"connection": conn}, timeout=30
    )
    assert refused.status_code == 422, refused.text
    expect(form.get_by_role("alert")).to_have_text(described(refused.json()["error"]))
    screenshot(page, "hostile-migration")
    nothing_ran(page, dialogs)

    # The organisation's migrations and templates, as its admin sees them.
    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, console, admin_email, tenant, admin=True)
    page.get_by_role("link", name="Admin").click()
    listed = page.locator(f'#admin-migrations tr[data-job="{job["id"]}"]')
    expect(listed).to_have_count(1)
    assert text_of(listed.locator("td").nth(1)) == f"{source} @ 127.0.0.1"
    named = page.locator(f'#admin-templates tr[data-template="{template["id"]}"]')
    assert text_of(named.locator("td").first) == template["name"]
    screenshot(page, "hostile-admin-migrations")
    assert confirms == []
    nothing_ran(page, dialogs)
