"""The browser tier: Playwright driving Debian's chromium against the session's local stack
(the shared ``local_stack`` and ``dovecot`` fixtures). One browser for the session; each test
gets a fresh context (its own storage, locale and language).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailport_local.stack import LocalStack

pytest.importorskip("playwright.sync_api")

from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
# Chromium as root, on a machine whose network is closed: no sandbox, no background traffic.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 60_000  # the longest any step may take (a migration through Step Functions)


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium; `make test` installs it)")
    browser = playwright_session.chromium.launch(
        executable_path=executable, headless=True, args=LAUNCH_ARGS
    )
    expect.set_options(timeout=WAIT_MS)
    yield browser
    browser.close()


@pytest.fixture
def console(local_stack: LocalStack) -> str:
    """The console's address: the API's root redirects to it."""
    return f"{local_stack.api_url}/"


def new_page(browser: Browser, locale: str = "en-US", *, ignore_https_errors: bool = False) -> Page:
    context = browser.new_context(
        locale=locale,
        viewport={"width": 1280, "height": 900},
        ignore_https_errors=ignore_https_errors,
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    yield page
    errors = list(page.errors)  # type: ignore[attr-defined]
    page.context.close()
    assert not errors, errors


def sign_in(page: Page, console: str, email: str) -> None:
    """Sign in through the console's local sign-in page as a demo user."""
    page.goto(console)
    page.locator(f'button.demo-user[data-email="{email}"]').click()
    signed_in(page)


def sign_in_as(
    page: Page, console: str, email: str, tenant: str = "acme", *, admin: bool = False
) -> None:
    """Sign in as any user (the "another user" form)."""
    page.goto(console)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Organisation (tenant id)").fill(tenant)
    if admin:
        page.get_by_label("Administrator").check()
    page.locator("form").get_by_role("button", name="Sign in").click()
    signed_in(page)


def signed_in(page: Page) -> None:
    """Signed in, and the first page drawn: a click on the navigation now is not lost to the
    navigation being drawn again."""
    expect(page.locator("#signout")).to_be_visible()
    expect(page.locator("main h1")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def expect_focused(locator: Locator) -> None:
    """The element has the keyboard focus. One browser serves many pages: the page is brought
    to the front first, since focus inside a page that is not the active one reads as
    "inactive" (a flake seen when another page was opened or activated just before).
    """
    locator.page.bring_to_front()
    expect(locator).to_be_focused()
