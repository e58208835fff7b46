"""A real browser for the tests: Debian's chromium driven by Playwright (never `playwright install`).

Contexts may only reach loopback; the tests skip with a message on a laptop without chromium, and fail in CI.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
_NOT_LOOPBACK = re.compile(r"^(?!http://127\.0\.0\.1[:/]).*")


def require_chromium() -> None:
    """Skip (or, in CI, fail) unless chromium and Playwright are installed."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} not found: `apt-get install chromium` enables the browser tests"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed: `pip install -r requirements-dev.txt` enables the browser tests"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing + " (CI is set: browser tests must run)")
        pytest.skip(missing)


@contextmanager
def chromium() -> Iterator[object]:
    """One headless chromium."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def loopback_context(browser, **options) -> object:
    """A fresh browser context (its own cookies: another browser, as far as the app can tell) that may only
    talk to 127.0.0.1."""
    context = browser.new_context(viewport=DESKTOP, **options)
    context.route(_NOT_LOOPBACK, lambda route: route.abort())
    return context


def log_in(page, base_url: str, sub: str) -> None:
    """Click "Log in", then the demo user's button on the provider's page."""
    page.goto(base_url + "/")
    page.get_by_role("link", name="Log in", exact=True).first.click()
    page.get_by_role("button", name=sub, exact=True).click()
    page.wait_for_url(base_url + "/")


def log_out(page, base_url: str) -> None:
    """Click "Log out", then "End session" on the provider's end-session page; back on the home page."""
    page.get_by_role("button", name="Log out", exact=True).click()
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(base_url + "/")


class LateApp:
    """A WSGI callable whose app is set once the server's port (and so APP_BASE_URL) is known."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # git-ignored


def screenshot(page, name: str) -> None:
    """Save the page at desktop and phone widths into tests/artifacts/ (for a person to look at)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=ARTIFACTS / f"{name}-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)
