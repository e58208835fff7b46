"""GET /api/shop/analytics: exactly the orders placed, cancellations taken out, per shop-local day and in total.

The shop here is in New York (SHOP_TIMEZONE), so days and hours are the shop's, not UTC's.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pizza42 import menu
from pizza42.config import load_settings
from pizza42.orders import figures
from tests.api.shop_helpers import move, place

ZONE = ZoneInfo("America/New_York")
CUSTOMERS = ("auth0|ann", "auth0|ben", "auth0|cat", "google-oauth2|dan")


@pytest.fixture
def settings(issuer):
    """The API's settings, with the shop in New York."""
    return load_settings({
        "SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": issuer.issuer, "AUTH0_CLIENT_ID": "pizza42-web",
        "AUTH0_CLIENT_SECRET": "web-secret", "AUTH0_SPA_CLIENT_IDS": "pizza42-spa", "SHOP_TIMEZONE": "America/New_York",
    })


def local(order: dict) -> datetime:
    return datetime.fromisoformat(order["date"].replace("Z", "+00:00")).astimezone(ZONE)


def expected_day(day: str, placed: list[dict], cancelled: set[str], firsts: set[str], *, every_day=False) -> dict:
    """What a day's figures (or, with every_day, the totals) must be, worked out from the orders the API gave."""
    mine = [order for order in placed if every_day or local(order).date().isoformat() == day]
    kept = [order for order in mine if order["id"] not in cancelled]
    revenue = round(sum(order["total"] for order in kept), 2)
    new = sum(1 for order in kept if order["id"] in firsts)
    hours = Counter(f"{local(order).hour:02d}" for order in kept)
    return {
        "day": day, "orders": len(kept), "revenue": revenue, "cancelled": len(mine) - len(kept),
        "new_customers": new, "returning_orders": len(kept) - new,
        "average_order_value": round(revenue / len(kept), 2) if kept else 0.0,
        "cancellation_rate": round((len(mine) - len(kept)) / len(mine), 4) if mine else 0.0,
        "pizzas": {name: sum(1 for o in kept if o["pizza"] == name) for name in menu.PIZZAS},
        "sizes": {size: sum(1 for o in kept if o["size"] == size) for size in menu.SIZES},
        "hours": {f"{hour:02d}": hours.get(f"{hour:02d}", 0) for hour in range(24)},
    }


def analytics(client, headers: dict, first: date, last: date):
    return client.get(f"/api/shop/analytics?from={first}&to={last}", headers=headers)


def test_analytics_equal_what_was_placed_minus_cancellations(client, auth, staff_auth):
    placed, firsts = [], set()
    orders = [{"pizza": pizza, "size": size, "quantity": quantity} for pizza, size, quantity in (
        ("Margherita", "small", 1), ("Pepperoni", "large", 3), ("Supreme", "medium", 2), ("Hawaiian", "large", 1),
        ("Margherita", "large", 2), ("Supreme", "small", 4), ("Pepperoni", "medium", 1))]
    for number, order in enumerate(orders):
        customer = CUSTOMERS[number % len(CUSTOMERS)]
        placed.append(place(client, auth, customer, order))
        if number < len(CUSTOMERS):
            firsts.add(placed[-1]["id"])  # each customer's first order ever
    # Ben takes his first order back; the kitchen cancels one it had started; one is completed.
    assert client.post(f"/api/orders/{placed[1]['id']}/cancel", headers=auth(CUSTOMERS[1])).status_code == 200
    for status in ("preparing", "cancelled"):
        assert move(client, staff_auth(), placed[5]["id"], status).status_code == 200
    for status in ("preparing", "ready", "completed"):
        assert move(client, staff_auth(), placed[2]["id"], status).status_code == 200
    cancelled = {placed[1]["id"], placed[5]["id"]}

    days = sorted({local(order).date() for order in placed})
    first, last = days[0] - timedelta(days=1), days[-1]
    response = analytics(client, staff_auth(), first, last)
    assert response.status_code == 200
    report = response.get_json()
    every_day = [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]
    assert [day["day"] for day in report["days"]] == every_day
    for day in report["days"]:
        assert day == expected_day(day["day"], placed, cancelled, firsts)
    totals = report["totals"]
    assert totals == expected_day(f"{first}/{last}", placed, cancelled, firsts, every_day=True)
    assert (totals["orders"], totals["cancelled"], totals["new_customers"]) == (len(placed) - 2, 2, 3)
    assert (report["from"], report["to"]) == (first.isoformat(), last.isoformat())


def test_analytics_cost_a_bounded_number_of_dynamodb_requests(client, auth, staff_auth, counted_dynamodb):
    for customer in CUSTOMERS:
        place(client, auth, customer)
    today = datetime.now(ZONE).date()
    queries, total = counted_dynamodb.calls["query"], counted_dynamodb.total
    assert analytics(client, staff_auth(), today - timedelta(days=91), today).status_code == 200
    assert counted_dynamodb.calls["query"] - queries == counted_dynamodb.total - total == figures.SHARDS


def test_a_range_of_92_days_is_the_most(client, staff_auth):
    response = analytics(client, staff_auth(), date(2025, 1, 1), date(2025, 4, 2))
    assert response.status_code == 200 and len(response.get_json()["days"]) == 92
    assert response.get_json()["totals"]["orders"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ("", "from"),
    ("from=2025-01-01", "to"),
    ("to=2025-01-01", "from"),
    ("from=2025-01-01&to=2025-04-03", "to"),
    ("from=2025-01-02&to=2025-01-01", "to"),
    ("from=yesterday&to=2025-01-01", "from"),
    ("from=2025-02-29&to=2025-03-01", "from"),
    ("from=2025-01-01&to=2025-01-01T00:00", "to"),
    ("from=%F0%9F%8D%95&to=2025-01-01", "from"),
])
def test_a_bad_range_is_400_naming_the_field(client, staff_auth, query, field):
    response = client.get(f"/api/shop/analytics?{query}", headers=staff_auth())
    assert response.status_code == 400
    assert (response.get_json()["error"], response.get_json()["field"]) == ("invalid_range", field)
