"""A customer in Debian's chromium, through the production edge: HTTPS, a real login, an order, the history.

What `make run-edge` offers a person: nginx on https (a self-signed certificate, accepted), two instances
behind it, the local identity provider on plain http. The session cookie is Secure (so `__Host-session`) and
must survive the round trip to the provider and back; the page's static files come from nginx with their version.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser import log_in
from tests.integration.conftest import EDGE_SPA_ORIGIN
from tests.integration.test_edge_cors import OTHER_ORIGIN, own_nginx
from tests.web.test_browser import place_order

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_customer_logs_in_orders_and_sees_the_history_through_the_edge(browser, edge):
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


SPA_PAGE = "<!doctype html><html lang=en><meta charset=utf-8><title>The SPA</title><h1>The SPA</h1></html>"
# What an SPA does: call the API with its bearer token (so the browser sends a CORS preflight for each new
# URL), and report what it saw: the status and what it may read, or the error fetch() threw.
CALL_THE_API = """async ({base, count}) => {
  const seen = [];
  for (let i = 0; i < count; i++) {
    try {
      const answer = await fetch(`${base}/api/orders/order_${i}`, {headers: {Authorization: "Bearer not-a-token"}});
      seen.push({status: answer.status, retryAfter: answer.headers.get("Retry-After"), body: await answer.text()});
    } catch (error) {
      seen.push({error: `${error.name}: ${error.message}`});
    }
  }
  return seen;
}"""


def spa_page(browser, origin: str) -> tuple[object, object]:
    """A page served from `origin` (the SPA's own host, played by the browser), allowed to reach loopback."""
    # In production the API is on a public address; here it is on loopback, which Chromium's Local Network
    # Access refuses to a page from a public origin unless the user allows it: allow it, as a person would.
    context = browser.new_context(ignore_https_errors=True, permissions=["local-network-access"])
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    context.route(f"{origin}/", lambda route: route.fulfill(status=200, content_type="text/html", body=SPA_PAGE))
    page = context.new_page()
    page.goto(f"{origin}/")
    return context, page


def test_an_spa_on_an_allowed_origin_sees_nginxs_429_not_a_cors_error(browser, edge, tmp_path):
    """Issue 16's check: past the API's rate limit, fetch() from the SPA's origin resolves with status 429."""
    nginx = own_nginx(edge, tmp_path / "nginx")  # its own rate-limit budget: the browser calls from 127.0.0.1
    context, page = spa_page(browser, EDGE_SPA_ORIGIN)
    try:
        seen = page.evaluate(CALL_THE_API, {"base": nginx.https_url, "count": 60})
    finally:
        context.close()
        nginx.stop()
    assert [s for s in seen if "error" in s] == []  # not one CORS error: every answer reached the page
    statuses = [s["status"] for s in seen]
    assert statuses[0] == 401 and 429 in statuses, statuses  # the app's own 401 first, then nginx's 429
    refused = seen[statuses.index(429)]
    assert refused["retryAfter"] == "1"  # exposed, so the SPA knows when to retry
    assert json.loads(refused["body"])["error"] == "too_many_requests"


def test_a_page_on_another_origin_gets_cors_errors_from_the_same_api(browser, edge, tmp_path):
    """The control: the browser does enforce CORS here, so the test above could fail."""
    nginx = own_nginx(edge, tmp_path / "nginx")
    context, page = spa_page(browser, OTHER_ORIGIN)
    try:
        seen = page.evaluate(CALL_THE_API, {"base": nginx.https_url, "count": 3})
    finally:
        context.close()
        nginx.stop()
    assert [s.get("error", "").split(":")[0] for s in seen] == ["TypeError"] * 3, seen
