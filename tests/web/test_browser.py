"""The customer journey in a real browser (Debian's chromium via Playwright), with screenshots for a person.

The app is served by werkzeug in a thread, the local OIDC provider in another, DynamoDB by moto; the browser
is not allowed to reach anything but loopback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from pizza42 import create_app
from tests.browser import ARTIFACTS, LateApp, log_in, log_out, loopback_context, screenshot
from tests.dynamo_helpers import CountingClient
from tests.web.conftest import serve_wsgi, web_settings

pytestmark = pytest.mark.browser


@pytest.fixture
def live_app(provider, dynamodb) -> Iterator[str]:
    """The app on 127.0.0.1, configured like the sandbox (APP_BASE_URL, local provider, moto)."""
    late = LateApp()
    with serve_wsgi(late) as base_url:
        late.app = create_app(web_settings(provider, APP_BASE_URL=base_url),
                              dynamodb_client=CountingClient(dynamodb, serialise=True))  # moto is not thread-safe
        yield base_url


@pytest.fixture
def page(browser, live_app) -> Iterator[object]:
    """A fresh browser context (no cookies) that may only talk to loopback; fails on CSP or JS errors."""
    context = loopback_context(browser)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and live_app in msg.location.get(
        "url", "") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def place_order(page, pizza: str, size: str, quantity: int, expected_total: str) -> None:
    """Fill in the form; the live total must match before submitting."""
    page.get_by_label("Pizza", exact=True).select_option(pizza)
    page.get_by_label(size.capitalize(), exact=True).check()
    page.get_by_label("Quantity").fill(str(quantity))
    assert page.locator("#order-total").inner_text() == expected_total  # updated by static/order.js
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))


def test_verified_customer_orders_twice_sees_history_profile_and_charts_then_logs_out(page, live_app):
    """The whole journey of a customer who may order."""
    page.goto(live_app + "/")
    assert page.get_by_role("link", name="Log in with Google").is_visible()
    screenshot(page, "home-visitor")

    log_in(page, live_app, "auth0|demo-verified")
    assert "Welcome, Vera Verified!" in page.locator(".flashes").inner_text()
    assert page.locator("#order-total").inner_text() == "$16.00"
    screenshot(page, "home-ordering")

    place_order(page, "Pepperoni", "large", 2, "$44.00")
    assert "Order placed: 2 × Pepperoni (large), $44.00." in page.locator(".flashes").inner_text()
    page.goto(live_app + "/")
    place_order(page, "Margherita", "small", 1, "$12.00")

    rows = page.locator(".orders-table tbody tr")
    assert rows.count() == 2
    assert "Margherita" in rows.nth(0).inner_text() and "Pepperoni" in rows.nth(1).inner_text()
    stats = page.locator(".stats").inner_text()
    assert "2" in stats and "$56.00" in stats and "$28.00" in stats and "Pepperoni" in stats
    assert page.locator("svg.chart-svg").count() == 2
    assert page.locator("svg.chart-svg rect.chart-bar").count() == 6 + 4  # the last six months; four pizzas
    screenshot(page, "orders")

    page.get_by_role("link", name="Account").click()
    assert page.get_by_role("heading", name="ID token verification").is_visible()
    assert "verified@pizza42.test" in page.locator(".claims").first.inner_text()
    screenshot(page, "account")

    log_out(page, live_app)
    assert page.get_by_role("link", name="Log in with Google").is_visible()
    page.goto(live_app + "/orders")
    assert "/oauth2/authorize" in page.url  # logged out: the history needs a login again


def test_unverified_customer_is_refused_ordering(page, live_app):
    """No form, an explanation on the home page and the history page."""
    log_in(page, live_app, "auth0|demo-unverified")
    assert page.get_by_role("heading", name="Verify your email to order").is_visible()
    assert page.locator("#order-form").count() == 0
    screenshot(page, "home-unverified")
    page.get_by_role("link", name="My orders").click()
    assert page.get_by_role("heading", name="Verify your email to see your orders").is_visible()
    assert page.locator(".orders-table").count() == 0


def test_error_page_and_javascript_free_ordering(browser, live_app):
    """The 404 page is styled; with JavaScript off the form still orders (server-side total)."""
    context = loopback_context(browser, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_app + "/no-such-page")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    screenshot(page, "error-404")
    log_in(page, live_app, "auth0|demo-verified")
    page.get_by_label("Quantity").fill("3")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    assert "Order placed: 3 × Margherita (medium), $48.00." in page.locator(".flashes").inner_text()
    context.close()


def test_receipt_print_view_order_again_and_honest_labels(page, live_app):
    """History → receipt → print view → "Order again" prefilled at today's price → placed only on the button."""
    log_in(page, live_app, "auth0|demo-verified")
    place_order(page, "Pepperoni", "large", 2, "$44.00")
    stats = page.locator(".stats").inner_text()
    assert "FIRST ORDER" in stats.upper() and "HOW OFTEN" not in stats.upper()  # one order: no frequency yet
    assert "CUSTOMER SINCE" not in stats.upper()

    page.get_by_role("link", name="Receipt").first.click()
    page.wait_for_url(re.compile(r".*/orders/order_\d{13}_[0-9a-z]{10}$"))
    receipt = page.locator("article.receipt")
    assert page.get_by_role("heading", name="Receipt").is_visible()
    assert page.locator(".receipt-lines tbody tr td").all_inner_texts() == ["Pepperoni, large", "$22.00", "2", "$44.00"]
    assert "Confirmed" in receipt.inner_text() and "UTC" in receipt.inner_text()
    assert page.get_by_role("button", name="Print receipt").is_visible()  # shown by static/print.js
    screenshot(page, "receipt")

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and not page.locator(".site-footer").is_visible()
    assert not page.get_by_role("link", name="Order again").is_visible()
    assert not page.get_by_role("button", name="Print receipt").is_visible()
    assert receipt.is_visible() and page.locator(".receipt-total").inner_text() == "$44.00"
    assert receipt.evaluate("e => getComputedStyle(e).boxShadow") == "none"
    page.screenshot(path=ARTIFACTS / "receipt-print.png", full_page=True)
    page.emulate_media(media="screen")

    page.get_by_role("link", name="Order again").click()
    page.wait_for_url(re.compile(r".*/\?pizza=Pepperoni&size=large&quantity=2#order-form$"))
    assert page.get_by_label("Pizza", exact=True).input_value() == "Pepperoni"
    assert page.get_by_label("Large", exact=True).is_checked()
    assert page.get_by_label("Quantity").input_value() == "2"
    assert page.locator("#order-total").inner_text() == "$44.00"
    assert page.locator("#repeat-note").is_visible()
    screenshot(page, "order-again")
    page.goto(live_app + "/orders")
    assert page.locator(".orders-table tbody tr").count() == 1  # opening the form placed nothing

    page.go_back()
    page.get_by_label("Quantity").fill("3")
    assert page.locator("#order-total").inner_text() == "$66.00"
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    rows = page.locator(".orders-table tbody tr")
    assert rows.count() == 2 and "$66.00" in rows.nth(0).inner_text()

    page.get_by_role("link", name="Account").click()
    claims = page.locator(".claims").first.inner_text()
    assert "Account created" in claims and "15 Jan 2026" in claims and "Customer since" not in claims
    assert "Logged in" in page.locator(".claims").nth(1).inner_text()


def test_receipt_and_order_again_without_javascript(browser, live_app):
    """Links and a server-side prefilled form: nothing needs JavaScript (the print button just stays hidden)."""
    context = loopback_context(browser, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_app, "auth0|demo-verified")
    page.get_by_label("Pizza", exact=True).select_option("Hawaiian")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    page.get_by_role("link", name="Receipt").first.click()
    assert page.locator(".receipt-total").inner_text() == "$17.00"
    assert not page.get_by_role("button", name="Print receipt").is_visible()
    page.get_by_role("link", name="Order again").click()
    assert page.locator("#order-total").inner_text() == "$17.00"  # priced by the server
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    assert page.locator(".orders-table tbody tr").count() == 2
    context.close()
