"""Every page of the console, in Japanese and English, checked by axe-core (WCAG 2.1 A and AA
rules, from the npm registry: infra/package.json) inside the browser: no serious or critical
violation. Pages are checked with data on them and in the states a user opens (a message
read, the new-account form, the sign-in page before anyone signs in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import WAIT_MS, sign_in
from tests.browser.test_language_console import HEADINGS, PAGES, carol_has_data

pytestmark = [pytest.mark.stack, pytest.mark.dovecot]
__all__ = ["carol_has_data"]  # the fixture, shared

AXE = Path(__file__).resolve().parents[2] / "infra" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
ADD = {"en": "Add an account", "ja": "アカウントを追加"}
RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


@pytest.fixture
def checked_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in ``request.param``'s language, under the console's own CSP (the checker is
    evaluated through the debugging protocol: ``violations``).
    """
    locale = {"ja": "ja-JP", "en": "en-US"}[request.param]
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make deps`")
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's debugging protocol, which the page's CSP does not
        # govern (an injected <script> would need the CSP bypassed).
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(RUN, TAGS)
    return [v for v in found if v["impact"] in BLOCKING]


def states(console: str, lang: str) -> Iterator[tuple[str, Callable[[Page], None]]]:
    """Each page and state to check, with how to reach it."""

    def visit(name: str, heading: str) -> Callable[[Page], None]:
        def go(page: Page) -> None:
            page.goto(f"{console}console/index.html#/{name}")
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)

        return go

    for name, heading in zip(PAGES, HEADINGS[lang], strict=True):
        yield name, visit(name, heading)
        if name == "mail":

            def read(page: Page) -> None:
                page.locator("button.row").first.click()
                expect(page.locator(".message-view h2")).to_be_visible()

            yield "mail-message", read
        if name == "accounts":

            def add(page: Page) -> None:
                page.get_by_role("button", name=ADD[lang]).click()
                expect(page.locator("#account-form")).to_be_visible()

            yield "accounts-form", add


@pytest.mark.usefixtures("carol_has_data")
@pytest.mark.parametrize("checked_page", ["ja", "en"], indirect=True)
def test_no_serious_or_critical_violation_on_any_page(checked_page: Page, console: str) -> None:
    page = checked_page
    lang = page.evaluate("navigator.language").split("-")[0]
    page.goto(console)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    found = {"signin": violations(page)}
    sign_in(page, console, "carol@acme.example")
    for name, reach in states(console, lang):
        reach(page)
        found[name] = violations(page)
    failing = {name: v for name, v in found.items() if v}
    assert not failing, failing
    assert len(found) == len(PAGES) + 3  # every page and state was checked

    # The check can fail: a button with no name and an image with no text are found.
    page.evaluate(
        """() => {
          document.querySelector("main").append(document.createElement("button"));
          const img = document.createElement("img");
          img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw=";
          document.querySelector("main").append(img);
        }"""
    )
    assert {v["id"] for v in violations(page)} >= {"button-name", "image-alt"}
