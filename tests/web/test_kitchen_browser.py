"""The kitchen and the customer in two real browsers (Debian's chromium via Playwright), and axe-core on the pages.

A customer orders; the order appears on the kitchen's open board without a reload; staff click it to ready; the
customer's open receipt shows "Ready" without a reload. axe-core (bundled by axe-playwright-python, no network)
finds no serious or critical issue on the kitchen, the day view, the analytics and the receipt with its tracker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from pizza42 import create_app
from pizza42.orders.figures import ShopTime
from pizza42.orders.store import OrderStore
from tests.browser import ARTIFACTS, LateApp, log_in, loopback_context, screenshot
from tests.dynamo_helpers import CountingClient
from tests.web.conftest import TABLE, VERIFIED, serve_wsgi, web_settings
from tests.web.staff_helpers import MANAGER, STAFF, place, register_staff

SERIOUS = ("serious", "critical")

pytestmark = pytest.mark.browser

SHOP_TIMEZONE = "Europe/Berlin"  # a shop that is not in UTC


@pytest.fixture
def serial_dynamodb(dynamodb) -> CountingClient:
    """One client for the app and the test's own writes, its calls serialised: moto is not thread-safe."""
    return CountingClient(dynamodb, serialise=True)


@pytest.fixture
def shop_store(serial_dynamodb) -> OrderStore:
    """The order store, for orders the test places while the app serves (in the app's time zone, as it files them)."""
    return OrderStore(serial_dynamodb, TABLE, shop_time=ShopTime(ZoneInfo(SHOP_TIMEZONE)))


@pytest.fixture
def live_app(provider, serial_dynamodb) -> Iterator[str]:
    """The app on 127.0.0.1 like the sandbox, in a shop time zone that is not UTC; staff known to the provider."""
    register_staff(provider)
    late = LateApp()
    with serve_wsgi(late) as base_url:
        late.app = create_app(web_settings(provider, APP_BASE_URL=base_url, SHOP_TIMEZONE=SHOP_TIMEZONE),
                              dynamodb_client=serial_dynamodb)
        yield base_url


def new_page(browser, base_url: str, errors: list[str], **options) -> object:
    """A page in its own context (its own cookies: another person) that records CSP and script errors."""
    context = loopback_context(browser, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and base_url in msg.location.get(
        "url", "") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def staff_log_in(page, base_url: str, sub: str) -> None:
    """Log in as a user the provider does not list: type the `sub` into its form."""
    page.goto(base_url + "/")
    page.get_by_role("link", name="Log in", exact=True).first.click()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(base_url + "/")


def serious_issues(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in SERIOUS]


def test_an_order_reaches_the_kitchen_and_the_customer_sees_it_ready_without_reloading(browser, live_app, shop_store):
    errors: list[str] = []
    kitchen = new_page(browser, live_app, errors)
    # Count the tones the page plays (Web Audio oscillators): headless chromium has no speaker to listen to.
    kitchen.add_init_script("""(() => { const make = AudioContext.prototype.createOscillator; window.__tones = 0;
        AudioContext.prototype.createOscillator = function () { window.__tones += 1; return make.call(this); }; })()""")
    staff_log_in(kitchen, live_app, STAFF)
    assert kitchen.get_by_role("link", name="Kitchen").is_visible()
    assert kitchen.get_by_role("link", name="Analytics").count() == 0  # staff, not a manager
    kitchen.get_by_role("link", name="Kitchen").click()
    assert "No open orders" in kitchen.locator("#board").inner_text()
    kitchen.get_by_role("button", name="Start shift").click()  # the user gesture that allows the sound
    assert kitchen.get_by_role("button", name="Shift started: sound on").is_visible()
    tones_at_start = kitchen.evaluate("window.__tones")
    assert tones_at_start > 0  # the click plays a tone: sound is on
    kitchen.evaluate("window.__loads = (window.__loads || 0) + 1")  # survives only while the page is not reloaded

    customer = new_page(browser, live_app, errors)
    log_in(customer, live_app, VERIFIED)
    customer.get_by_label("Pizza", exact=True).select_option("Pepperoni")
    customer.get_by_label("Large", exact=True).check()
    customer.get_by_role("button", name="Place order").click()
    customer.wait_for_url(re.compile(r".*/orders$"))
    customer.get_by_role("link", name="Receipt").first.click()
    ticket = customer.locator(".ticket-number").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{4}", ticket)
    assert customer.locator(".tracker [aria-current=step]").inner_text().startswith("Placed")
    assert re.search(r"CET|CEST", customer.locator(".receipt-details").inner_text())  # the shop's zone, not UTC
    assert customer.get_by_role("link", name="Cancel order").is_visible()

    card = kitchen.locator(".card", has_text=ticket)
    card.wait_for(timeout=15_000)  # the board's own refresh brought it: no reload
    assert kitchen.evaluate("window.__loads") == 1
    assert "card-new" in card.get_attribute("class")
    assert "Vera Verified" in card.inner_text() and "Pepperoni" in card.inner_text()
    # Announced a moment later (the live region is cleared first, so the same words twice are read twice).
    kitchen.wait_for_function("t => document.querySelector('[data-board-announcer]').textContent.includes(t)",
                              arg=ticket, timeout=5_000)
    assert kitchen.evaluate("window.__tones") > tones_at_start  # and the new order sounded
    screenshot(kitchen, "kitchen")

    start = card.get_by_role("button", name=re.compile("^Start preparing"))
    start.focus()
    other = place(shop_store, "auth0|otto", name="Otto Other", pizza="Supreme")
    kitchen.locator(".card", has_text=other.ticket).wait_for(timeout=15_000)  # the board was replaced…
    focus_key = f"{card.get_attribute('data-order-id')}:preparing"
    assert kitchen.evaluate("document.activeElement.dataset.focusKey") == focus_key  # …the focus stayed

    card.get_by_role("button", name=re.compile("^Start preparing")).click()
    kitchen.locator(".card.card-preparing", has_text=ticket).wait_for()
    assert kitchen.evaluate("document.activeElement.textContent").startswith("Mark ready")  # focus kept on the card
    kitchen.locator(".card", has_text=ticket).get_by_role("button", name=re.compile("^Mark ready")).click()
    kitchen.locator(".card.card-ready", has_text=ticket).wait_for()
    assert kitchen.evaluate("window.__loads") == 1
    assert f"Ticket {ticket}: ready." in kitchen.locator("[data-kitchen-messages]").inner_text()

    customer.evaluate("window.__loads = 1")
    customer.locator(".tracker [aria-current=step]", has_text="Ready").wait_for(timeout=15_000)
    assert customer.evaluate("window.__loads") == 1  # the receipt followed the kitchen without a reload
    assert customer.locator("[data-status-badge]").first.inner_text() == "Ready"
    history = customer.locator(".status-history tbody").inner_text()
    assert "Preparing" in history and "Ready" in history and "Pizza 42 staff" in history
    assert STAFF not in customer.content()  # a staff member's sub never reaches the customer
    assert customer.get_by_role("link", name="Cancel order").count() == 0  # the kitchen started: too late
    assert "can no longer be cancelled" in customer.locator(".order-progress").inner_text()
    screenshot(customer, "receipt-tracker")
    assert serious_issues(customer) == []
    customer.get_by_role("link", name="My orders", exact=True).click()
    assert customer.locator(".mini-tracker").count() == 1 and serious_issues(customer) == []
    assert errors == []


def test_the_shop_pages_have_no_serious_accessibility_issue(browser, live_app, shop_store):
    for index, pizza in enumerate(("Margherita", "Supreme", "Hawaiian")):
        place(shop_store, f"auth0|customer-{index}", name=f"Customer {index}", pizza=pizza, quantity=index + 1)
    errors: list[str] = []
    page = new_page(browser, live_app, errors)
    staff_log_in(page, live_app, MANAGER)
    for path, name in (("/kitchen", "kitchen-board"), ("/kitchen/day", "kitchen-day"),
                       ("/shop/analytics", "analytics")):
        page.goto(live_app + path)
        assert serious_issues(page) == [], path
        screenshot(page, name)
    page.goto(live_app + "/kitchen")
    page.locator(".card-print").first.click()
    page.locator(".ticket-big").wait_for()  # the ticket page has loaded
    assert serious_issues(page) == []
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and page.locator(".ticket-big").is_visible()
    page.screenshot(path=ARTIFACTS / "kitchen-ticket-print.png", full_page=True)
    page.emulate_media(media="screen")
    assert errors == []


def test_the_kitchen_works_without_javascript(browser, live_app, shop_store):
    order = place(shop_store)
    page = new_page(browser, live_app, [], java_script_enabled=False)
    staff_log_in(page, live_app, STAFF)
    page.goto(live_app + "/kitchen")
    assert not page.get_by_role("button", name="Start shift").is_visible()
    card = page.locator(".card", has_text=order.ticket)
    with page.expect_navigation():  # the form posts, and the page comes back as /kitchen (the same URL)
        card.get_by_role("button", name=re.compile("^Start preparing")).click()
    assert page.url == live_app + "/kitchen"
    assert f"Ticket {order.ticket}: preparing." in page.locator(".flashes").first.inner_text()
    assert page.locator(".card.card-preparing", has_text=order.ticket).is_visible()


def test_a_customer_cancels_from_the_receipt_with_a_confirmation_step(browser, live_app):
    errors: list[str] = []
    page = new_page(browser, live_app, errors)
    log_in(page, live_app, VERIFIED)
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r".*/orders$"))
    page.get_by_role("link", name="Receipt").first.click()
    countdown = page.locator(".cancel-box [data-countdown]")
    first = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert re.fullmatch(r"[45] min \d\d s", countdown.inner_text()) and countdown.inner_text() != first  # ticking
    screenshot(page, "receipt-cancellable")
    page.get_by_role("link", name="Cancel order").click()
    page.get_by_role("heading", name="Cancel this order?").wait_for()
    assert serious_issues(page) == []
    screenshot(page, "cancel-confirm")
    page.get_by_role("button", name="Yes, cancel my order").click()
    assert "cancelled" in page.locator(".flashes").inner_text()
    assert page.locator(".tracker-cancelled").inner_text() == "This order was cancelled."
    assert page.locator("[data-status-badge]").first.inner_text() == "Cancelled"
    assert errors == []
