"""A customer in Debian's chromium, through the production edge: HTTPS, a real login, an order, the history.

What `make run-edge` offers a person: nginx on https (a self-signed certificate, accepted), two instances
behind it, the local identity provider on plain http. The session cookie is Secure (so `__Host-session`) and
must survive the round trip to the provider and back; the page's static files come from nginx with their version.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import log_in
from tests.web.test_browser import browser, place_order  # noqa: F401  (browser: the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_customer_logs_in_orders_and_sees_the_history_through_the_edge(browser, edge):  # noqa: F811
    context = browser.new_context(ignore_https_errors=True)  # the edge's certificate is self-signed
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Ours only: the provider's login page asks a CDN for its stylesheet, which this browser may not reach.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and msg.location.get(
        "url", "").startswith(edge.url) else None)
    stylesheets: list[str] = []
    page.on("response", lambda r: stylesheets.append(r.headers.get("cache-control", ""))
            if "/static/style.css" in r.url else None)
    try:
        page.goto(edge.url + "/")
        log_in(page, edge.url, "auth0|demo-verified")
        assert "Welcome, Vera Verified!" in page.locator(".flashes").inner_text()
        session = next(c for c in context.cookies() if c["name"] == "__Host-session")
        assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
        assert session["path"] == "/" and session["domain"] == "127.0.0.1"  # host-only: no Domain attribute

        place_order(page, "Hawaiian", "medium", 2, "$34.00")  # the live total: static/order.js, from nginx
        assert "Order placed: 2 × Hawaiian (medium), $34.00." in page.locator(".flashes").inner_text()
        assert "Hawaiian" in page.locator(".orders-table tbody tr").first.inner_text()
        assert "public, max-age=31536000, immutable" in stylesheets
    finally:
        context.close()
    assert errors == [], errors
