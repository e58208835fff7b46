"""The customer's side of the lifecycle: the live status (tracker, history) and cancelling within the window,
with nothing but forms and links (a browser without JavaScript); times in the shop's zone."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pizza42.orders import lifecycle
from tests.clock import ManualClock
from tests.web.conftest import VERIFIED, web_settings
from tests.web.staff_helpers import STAFF, csrf_token, place


@pytest.fixture
def app_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(provider):
    """A shop in Berlin: every time on the pages is CET/CEST, not UTC."""
    return web_settings(provider, SHOP_TIMEZONE="Europe/Berlin")


def berlin(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Berlin"))


def cancel(client, order_id: str, token: str | None = None):
    """Confirm "Cancel this order?" as a browser would."""
    if token is None:
        token = csrf_token(client.get(f"/orders/{order_id}/cancel").get_data(as_text=True))
    return client.post(f"/orders/{order_id}/cancel", data={"csrf_token": token})


def test_a_web_order_carries_the_customers_name_for_the_kitchen(client, auth, store):
    auth.login(VERIFIED)
    assert auth.place_order().status_code == 303
    [order] = store.page(VERIFIED, 5).orders
    assert order.customer_name == "Vera Verified"


def test_times_are_shown_in_the_shops_time_zone(client, auth, store):
    order = place(store, VERIFIED)
    auth.login(VERIFIED)
    local = berlin(order.created_at)
    expected = f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"
    assert local.tzname() in ("CET", "CEST")
    assert expected in client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert expected in client.get("/orders").get_data(as_text=True)


def test_the_receipt_shows_the_ticket_the_tracker_and_who_moved_it_never_a_staff_sub(client, auth, store):
    order = place(store, VERIFIED)
    store.change_status(VERIFIED, order.order_id, "preparing", actor="staff", by=STAFF)
    auth.login(VERIFIED)
    page = client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert f'<strong class="ticket-number">{order.ticket}</strong>' in page
    steps = re.findall(r'<li class="tracker-step tracker-(\w+)"', page)
    assert steps == ["done", "current", "todo", "todo"]
    assert re.search(r'aria-current="step">\s*<span class="tracker-dot" aria-hidden="true"></span>\s*'
                     r'<span class="tracker-label">Preparing', page)
    history = page.split('<table class="status-history">')[1].split("</table>")[0]
    assert re.findall(r"<td>(Placed|Preparing)</td>", history) == ["Placed", "Preparing"]
    assert "<td>You</td>" in history and "<td>Pizza 42 staff</td>" in history and STAFF not in page
    assert "can no longer be cancelled" in page and "Cancel order" not in page


def test_the_history_shows_each_orders_ticket_and_follows_open_ones(client, auth, store):
    open_order, done = place(store, VERIFIED), place(store, VERIFIED)
    store.change_status(VERIFIED, done.order_id, "cancelled", actor="staff", by=STAFF)
    auth.login(VERIFIED)
    page = client.get("/orders").get_data(as_text=True)
    assert f'<strong class="ticket-small">{open_order.ticket}</strong>' in page and done.ticket in page
    followed = re.findall(r'data-live-status="/orders/([^/]+)/status\?view=row"', page)
    assert followed == [open_order.order_id]  # a cancelled order no longer changes: not polled


def test_the_status_fragment_is_conditional_and_only_for_the_customers_own_orders(client, auth, store):
    mine, theirs = place(store, VERIFIED), place(store, "auth0|someone-else")
    auth.login(VERIFIED)
    first = client.get(f"/orders/{mine.order_id}/status")
    assert first.status_code == 200 and 'data-status="confirmed"' in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-store"
    same = client.get(f"/orders/{mine.order_id}/status", headers={"If-None-Match": first.headers["ETag"]})
    assert same.status_code == 304 and same.get_data() == b""
    store.change_status(VERIFIED, mine.order_id, "preparing", actor="staff", by=STAFF)
    moved = client.get(f"/orders/{mine.order_id}/status", headers={"If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and 'data-status="preparing"' in moved.get_data(as_text=True)
    assert client.get(f"/orders/{theirs.order_id}/status").status_code == 404
    assert client.get(f"/orders/{mine.order_id}/status?view=nope").status_code == 400


def test_a_customer_cancels_within_the_window_without_javascript(client, auth, store):
    order = place(store, VERIFIED)
    auth.login(VERIFIED)
    receipt = client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert "Cancel order</a>" in receipt and re.search(r'data-countdown="\d+">[45] min \d\d s</span> left', receipt)
    confirm = client.get(f"/orders/{order.order_id}/cancel").get_data(as_text=True)
    assert "Cancel this order?" in confirm and "Yes, cancel my order" in confirm
    response = cancel(client, order.order_id)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/orders/{order.order_id}")
    page = client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert f"Order {order.ticket} cancelled" in page and "This order was cancelled." in page
    cancelled = store.get(VERIFIED, order.order_id)
    assert cancelled.status == lifecycle.CANCELLED and cancelled.changes[-1].by == lifecycle.CUSTOMER


def test_after_the_window_the_customer_is_told_clearly_and_nothing_changes(client, auth, store, app_clock):
    order = place(store, VERIFIED)
    auth.login(VERIFIED)
    token = csrf_token(client.get(f"/orders/{order.order_id}/cancel").get_data(as_text=True))
    for _ in range(3):  # an hour later, the customer still active (the session's idle window is 30 minutes)
        app_clock.advance(1200)
        client.get("/")
    response = cancel(client, order.order_id, token)
    assert response.status_code == 303
    page = client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert "This order can no longer be cancelled" in page and "Cancel order</a>" not in page
    assert store.get(VERIFIED, order.order_id).status == lifecycle.CONFIRMED


def test_once_the_kitchen_started_the_cancel_step_says_so(client, auth, store):
    order = place(store, VERIFIED)
    auth.login(VERIFIED)
    token = csrf_token(client.get(f"/orders/{order.order_id}/cancel").get_data(as_text=True))
    store.change_status(VERIFIED, order.order_id, "preparing", actor="staff", by=STAFF)
    assert cancel(client, order.order_id, token).status_code == 303
    assert "This order can no longer be cancelled" in client.get(f"/orders/{order.order_id}").get_data(as_text=True)
    assert client.get(f"/orders/{order.order_id}/cancel").status_code == 303  # no confirmation step any more
    assert store.get(VERIFIED, order.order_id).status == "preparing"


def test_cancel_needs_a_valid_csrf_token_and_the_customers_own_order(client, auth, store):
    mine, theirs = place(store, VERIFIED), place(store, "auth0|someone-else")
    auth.login(VERIFIED)
    token = csrf_token(client.get(f"/orders/{mine.order_id}/cancel").get_data(as_text=True))
    for bad in ("", "forged"):
        response = client.post(f"/orders/{mine.order_id}/cancel", data={"csrf_token": bad})
        assert response.status_code == 400
    assert cancel(client, theirs.order_id, token).status_code == 404
    assert client.get(f"/orders/{theirs.order_id}/cancel").status_code == 404
    assert store.get(VERIFIED, mine.order_id).status == store.get("auth0|someone-else", theirs.order_id).status \
        == lifecycle.CONFIRMED
