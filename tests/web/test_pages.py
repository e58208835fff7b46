"""Every page for a visitor, a verified and an unverified customer; caching; error pages; CSP-ready markup."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pizza42.orders import service
from pizza42.orders.model import now_iso
from pizza42.orders.service import Customer
from pizza42.sandbox import DEMO_LOGIN_TIME
from pizza42.web.filters import day, when
from tests.dynamo_helpers import put_legacy_order
from tests.web.conftest import UNVERIFIED, VERIFIED, csp_violations

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _place(store, n: int, sub: str = VERIFIED, pizza: str = "Margherita") -> None:
    for i in range(n):
        payload = {"pizza": pizza, "size": "small", "quantity": 1 + i}
        service.place_order(store, Customer(sub, "x@pizza42.test"), payload)


def test_visitor_sees_the_menu_and_both_login_buttons(client):
    """The menu with the server's prices, "Log in" and "Log in with Google", and no form."""
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Margherita", "Pepperoni", "Supreme", "Hawaiian", "$12.00", "$24.00"):
        assert text in page
    assert 'href="/login"' in page and 'href="/login?connection=google-oauth2"' in page
    assert "Log in with Google" in page
    assert 'id="order-form"' not in page and "order.js" not in page
    assert response.headers.get("Cache-Control") != "no-store"  # nothing personal on it


def test_verified_customer_gets_the_order_form(client, auth):
    """Pizza select, size radios, a 1–20 quantity, the CSRF token and the total script."""
    auth.login(VERIFIED)
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert '<select id="pizza" name="pizza">' in page
    assert page.count('name="size" type="radio"') == 3
    assert re.search(r'<input[^>]*max="20" min="1" name="quantity"[^>]*type="number"', page)
    assert 'name="csrf_token"' in page and '<label for="quantity">' in page
    assert re.search(r'<script src="/static/order\.js\?v=[0-9a-f]{12}" defer></script>', page)  # versioned URL
    assert response.headers["Cache-Control"] == "no-store"


def test_unverified_customer_is_told_why_and_what_to_do(client, auth):
    """No form: an explanation, the next steps, and a way to log in again."""
    auth.login(UNVERIFIED)
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert "Verify your email to order" in page and "log in again" in page
    assert "unverified@pizza42.test" in page
    assert 'id="order-form"' not in page
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/orders", "/account"])
def test_personal_pages_require_login(client, path):
    """A visitor is sent to log in, and brought back afterwards."""
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next={path}"


def test_history_is_empty_at_first(client, auth):
    """A new customer sees an invitation, not an empty table."""
    auth.login(VERIFIED)
    response = client.get("/orders")
    assert "No orders yet" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_history_lists_orders_newest_first_with_profile_and_charts(client, auth, store):
    """Date, pizza, size, quantity, total and status per order; stats; two inline SVG charts."""
    auth.login(VERIFIED)
    _place(store, 1, pizza="Hawaiian")
    _place(store, 2, pizza="Supreme")
    page = client.get("/orders").get_data(as_text=True)
    rows = re.findall(r'<td data-label="Pizza">(\w+)</td>', page)
    assert rows == ["Supreme", "Supreme", "Hawaiian"]
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+Z">\d+ \w{3} \d{4}, \d\d:\d\d UTC</time>', page)
    assert '<td data-label="Total" class="num">$32.00</td>' in page  # 2 × Supreme small
    assert "Confirmed" in page
    stats = dict(re.findall(r'<div class="stat"><dt>([^<]+)</dt><dd>([^<]+)</dd></div>', page))
    assert stats["Orders"] == "3" and stats["Total spent"] == "$61.00" and stats["Average order"] == "$20.33"
    assert stats["Favourite pizza"] == "Supreme" and stats["Favourite size"] == "Small"
    assert stats["First order"] == day(now_iso()) and "Customer since" not in stats
    assert "How often" not in stats  # three orders in one day are not a habit yet
    assert page.count('<svg class="chart-svg"') == 2
    assert "Pizzas ordered: Margherita 0, Pepperoni 0, Supreme 3, Hawaiian 1." in page


def test_history_shows_how_often_once_two_orders_lie_a_day_apart(client, auth, dynamodb):
    """The frequency appears with a second order at least a day after the first, labelled with the first order."""
    now = time.time()
    put_legacy_order(dynamodb, VERIFIED, int((now - 10 * 86400) * 1000), created_at=None)
    put_legacy_order(dynamodb, VERIFIED, int((now - 3 * 86400) * 1000), created_at=None)
    auth.login(VERIFIED)
    stats = dict(re.findall(r'<div class="stat"><dt>([^<]+)</dt><dd>([^<]+)</dd></div>',
                            client.get("/orders").get_data(as_text=True)))
    assert stats["Orders"] == "2" and stats["How often"] == "1.4 per week"  # 2 orders in 10 days
    assert stats["First order"] == day(datetime.fromtimestamp(now - 10 * 86400, UTC).isoformat())


def test_history_pages_through_older_orders_and_back(client, auth, store):
    """Ten a page; "Older orders" follows the cursor; cursor pages show orders only, and link to the newest."""
    auth.login(VERIFIED)
    _place(store, 12)
    first = client.get("/orders").get_data(as_text=True)
    assert first.count('<td data-label="Pizza">') == 10
    older = re.search(r'href="(/orders\?cursor=[^"]+)">Older orders', first).group(1)
    second = client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('<td data-label="Pizza">') == 2
    assert re.findall(r'data-label="Quantity" class="num">(\d+)<', second) == ["2", "1"]
    assert 'class="stats"' not in second and "<svg" not in second.split("<main", 1)[1]
    assert 'href="/orders">← Newest</a>' in second and "Older orders →" not in second


def test_a_forged_cursor_is_a_400_page(client, auth):
    """Cursors are opaque: one this app did not hand out is refused."""
    auth.login(VERIFIED)
    response = client.get("/orders?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "newest orders" in response.get_data(as_text=True)


def test_another_customers_cursor_shows_only_my_orders(client, auth, store):
    """A cursor names a position, never a customer: it cannot read someone else's history."""
    _place(store, 1)
    _place(store, 3, sub="auth0|someone-else", pizza="Hawaiian")
    cursor = service.list_orders(store, "auth0|someone-else", limit=1).next_cursor
    auth.login(VERIFIED)
    page = client.get(f"/orders?cursor={cursor}").get_data(as_text=True)
    assert re.findall(r'<td data-label="Pizza">(\w+)</td>', page) == ["Margherita"]


def test_unverified_customer_history_is_an_explanation(client, auth, store):
    """Like the API, the history is refused until the email is verified."""
    _place(store, 1, sub=UNVERIFIED)
    auth.login(UNVERIFIED)
    page = client.get("/orders").get_data(as_text=True)
    assert "Verify your email to see your orders" in page and "<table" not in page


def test_account_page_shows_the_verified_claims_readably(client, auth, provider):
    """ID token verification: a definition list of the claims, not a JSON dump."""
    auth.login(VERIFIED)
    response = client.get("/account")
    page = response.get_data(as_text=True)
    assert "ID token verification" in page
    claims = dict(re.findall(r"<dt>([^<]+?)(?: <span[^>]*>[^<]*</span>)?</dt>\s*<dd>(.*?)</dd>", page, re.S))
    assert claims["Email"] == "verified@pizza42.test"
    assert "auth0|demo-verified" in claims["Subject"]
    assert "Yes" in claims["Email verified"] and "Yes" in claims["Can place orders"]
    assert claims["Verified at"] == claims["Logged in"] == when(DEMO_LOGIN_TIME)
    assert claims["Login method"] == "database" and claims["Connection"] == "Username-Password-Authentication"
    assert claims["Account created"] == "15 Jan 2026" and "Customer since" not in claims
    assert provider in claims["Issuer"] and "UTC" in claims["Token expires"]
    assert "{&#34;" not in page and '{"' not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_account_page_says_how_long_the_session_lasts_and_offers_to_end_them_all(client, auth):
    """The server's idle timeout and absolute lifetime, and "Log out everywhere" (a CSRF-protected POST)."""
    auth.login(VERIFIED)
    page = client.get("/account").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "ends after 30 minutes without activity, and at the latest 8 hours after you logged in (" in text
    assert re.search(r'<form method="post" action="/logout/everywhere">\s*<input[^>]+name="csrf_token"', page)


def test_not_found_is_a_styled_page(client):
    """404 in the site's layout, with a way back."""
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Page not found" in page and "/static/style.css" in page and 'href="/"' in page


def test_error_pages_for_a_customer_are_not_cached_but_static_files_are(client, auth):
    """A 404 shows the customer's name in the header, so it is no-store; the stylesheet is cacheable."""
    auth.login(VERIFIED)
    assert client.get("/no-such-page").headers["Cache-Control"] == "no-store"
    assert client.get("/static/style.css").headers.get("Cache-Control") != "no-store"


def test_a_bug_is_a_styled_500_page_without_details(app, client):
    """An unexpected exception: the layout, an apology, no traceback."""

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in page and "secret internals" not in page and "Traceback" not in page


def test_templates_have_no_inline_scripts_styles_or_external_assets():
    """Every template is ready for a strict Content-Security-Policy."""
    for template in TEMPLATES.glob("*.html"):
        assert csp_violations(template.read_text()) == [], template.name


def test_rendered_pages_have_no_inline_scripts_styles_or_external_assets(client, auth, store):
    """The rendered pages too (charts included)."""
    auth.login(VERIFIED)
    _place(store, 2)
    for path in ("/", "/orders", "/account", "/logout", "/missing"):
        assert csp_violations(client.get(path).get_data(as_text=True)) == [], path


def test_static_assets_are_served(client):
    """The stylesheet, the script and the icon come from this site."""
    for name in ("style.css", "order.js", "print.js", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200
