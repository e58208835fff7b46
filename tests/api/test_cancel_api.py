"""POST /api/orders/<id>/cancel: the customer takes back their own order, within the window, before the kitchen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pizza42.orders.ids import order_id_millis
from pizza42.orders.model import now_iso
from tests.api.conftest import SPA_CLIENT, USER
from tests.api.shop_helpers import customers_view, move, place, shop_view
from tests.clock import ManualClock

BOB = "auth0|bob"
SUPREME = {"pizza": "Supreme", "size": "large", "quantity": 1}


@pytest.fixture
def app_clock() -> ManualClock:
    """The app's clock, moved by hand: the cancel window is judged by it."""
    return ManualClock()


@pytest.fixture
def window(settings) -> int:
    return settings.cancel_window_seconds


def cancel(client, headers: dict, order_id: str):
    return client.post(f"/api/orders/{order_id}/cancel", headers=headers)


def profile(client, auth, sub: str = USER) -> dict:
    return client.get("/api/orders", headers=auth(sub)).get_json()["customer_profile"]


def test_a_customer_cancels_their_order_within_the_window(client, auth, app_clock, window):
    order = place(client, auth)
    app_clock.advance(window - 1)
    response = cancel(client, auth(), order["id"])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"order", "storage"}
    assert body["order"] == {**order, "status": "cancelled", "status_updated_at": now_iso_at(app_clock)}
    assert customers_view(client, auth, order["id"]) == body["order"]


def now_iso_at(clock: ManualClock) -> str:
    return now_iso(datetime.fromtimestamp(clock(), UTC))


def test_a_cancelled_order_leaves_the_customers_summary(client, auth, app_clock):
    margherita = place(client, auth)  # 2 × medium, 32.00
    supreme = place(client, auth, order=SUPREME)  # 1 × large, 24.00
    before = profile(client, auth)
    assert (before["total_orders"], before["total_spent"]) == (2, margherita["total"] + supreme["total"])
    app_clock.advance(30)
    assert cancel(client, auth(), margherita["id"]).status_code == 200
    after = profile(client, auth)
    assert after["total_orders"] == 1
    assert after["total_spent"] == after["average_order_value"] == supreme["total"]
    assert after["favorite_pizza"] == "Supreme" and after["favorite_size"] == "large"
    assert after["pizza_counts"] == {"Supreme": 1} and after["size_counts"] == {"large": 1}
    assert list(after["monthly_spend"].values()) == [supreme["total"]]
    # The order itself stays in the history, cancelled.
    listed = client.get("/api/orders", headers=auth()).get_json()["orders"]
    assert [(o["id"], o["status"]) for o in listed] == [(supreme["id"], "confirmed"), (margherita["id"], "cancelled")]


def test_an_order_placed_an_hour_ago_cannot_be_cancelled(client, auth, app_clock):
    order = place(client, auth)
    before = profile(client, auth)
    app_clock.advance(3600)
    response = cancel(client, auth(), order["id"])
    assert response.status_code == 409
    body = response.get_json()
    assert (body["error"], body["status"]) == ("status_conflict", "confirmed")
    assert "time to cancel" in body["message"]
    assert customers_view(client, auth, order["id"]) == order
    assert {k: v for k, v in profile(client, auth).items() if k != "profile_generated_at"} == \
        {k: v for k, v in before.items() if k != "profile_generated_at"}


def test_the_window_closes_cancel_window_minutes_after_the_order_was_placed(client, auth, app_clock, window):
    late, in_time = place(client, auth), place(client, auth)
    app_clock.now = order_id_millis(late["id"]) / 1000 + window + 1
    assert cancel(client, auth(), late["id"]).status_code == 409
    app_clock.now = order_id_millis(in_time["id"]) / 1000 + window - 1
    assert cancel(client, auth(), in_time["id"]).status_code == 200


def test_once_the_kitchen_has_started_the_customer_cannot_cancel(client, auth, staff_auth, app_clock):
    order = place(client, auth)
    assert move(client, staff_auth(), order["id"], "preparing").status_code == 200
    app_clock.advance(10)
    response = cancel(client, auth(), order["id"])
    assert response.status_code == 409
    assert response.get_json()["status"] == "preparing" and "kitchen" in response.get_json()["message"]
    assert customers_view(client, auth, order["id"])["status"] == "preparing"


def test_cancelling_twice_is_409_cancelled(client, auth, app_clock):
    order = place(client, auth)
    app_clock.advance(1)
    assert cancel(client, auth(), order["id"]).status_code == 200
    again = cancel(client, auth(), order["id"])
    assert (again.status_code, again.get_json()["status"]) == (409, "cancelled")
    assert profile(client, auth)["total_orders"] == 0  # taken out once, not twice


def test_a_customer_cannot_cancel_or_see_another_customers_order(client, auth, app_clock):
    bobs = place(client, auth, BOB)
    app_clock.advance(1)
    for response in (cancel(client, auth(), bobs["id"]), client.get(f"/api/orders/{bobs['id']}", headers=auth())):
        assert response.status_code == 404 and response.get_json() == {"error": "not_found",
                                                                       "message": "No such order."}
    assert customers_view(client, auth, bobs["id"], BOB)["status"] == "confirmed"
    assert profile(client, auth, BOB)["total_orders"] == 1


@pytest.mark.parametrize("order_id", ["order_1640995200000", "~profile", "order_", "x"])
def test_an_unknown_order_is_404(client, auth, order_id):
    assert cancel(client, auth(), order_id).status_code == 404


def test_an_unverified_customer_cannot_cancel(client, auth, app_clock):
    order = place(client, auth)
    app_clock.advance(1)
    response = cancel(client, auth(verified=False), order["id"])
    assert response.status_code == 403 and response.get_json()["action"] == "verify_email"
    assert customers_view(client, auth, order["id"])["status"] == "confirmed"


def test_the_legacy_spas_id_token_cancels_like_the_access_token(client, auth, app_clock):
    order = place(client, auth)
    app_clock.advance(1)
    response = cancel(client, auth(aud=SPA_CLIENT, scope=None, email_verified=True), order["id"])
    assert response.status_code == 200 and response.get_json()["order"]["status"] == "cancelled"


def test_a_cancelled_order_leaves_the_kitchens_queue_with_the_customer_in_its_history(client, auth, staff_auth,
                                                                                      app_clock):
    order = place(client, auth)
    app_clock.advance(1)
    cancel(client, auth(), order["id"])
    assert client.get("/api/shop/orders?status=open", headers=staff_auth()).get_json()["orders"] == []
    history = shop_view(client, staff_auth(), order)["history"]
    assert [(step["status"], step["by"]) for step in history] == [("confirmed", "customer"),
                                                                 ("cancelled", "customer")]


def test_without_a_token_cancel_is_401(client, auth):
    order = place(client, auth)
    assert cancel(client, {}, order["id"]).status_code == 401
    assert customers_view(client, auth, order["id"])["status"] == "confirmed"
