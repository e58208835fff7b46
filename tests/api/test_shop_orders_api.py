"""GET /api/shop/orders: the kitchen's queue (with its ETag and 304) and a day's orders a page at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pizza42.orders import items as layout
from pizza42.orders.model import Order
from tests.api.conftest import MANAGER, USER
from tests.api.shop_helpers import move, order_in, place
from tests.conftest import TABLE

BOB = "auth0|bob"
OLD_DAY = "2025-01-01"


def board(client, headers: dict, **extra_headers):
    return client.get("/api/shop/orders?status=open", headers={**headers, **extra_headers})


def ids(response) -> list[str]:
    return [order["id"] for order in response.get_json()["orders"]]


def put_order_on(dynamodb, day: str, millis: int, user_id: str = BOB) -> str:
    """An order filed under an earlier shop-local day (as placing it then would have)."""
    order = Order(user_id=user_id, order_id=f"order_{millis}_0f3kq8x2mz", pizza="Supreme", size="large",
                  quantity=1, unit_price=Decimal("24.00"), total=Decimal("24.00"),
                  created_at="2025-01-01T12:00:00.000Z", user_email="bob@example.com")
    dynamodb.put_item(TableName=TABLE, Item=layout.order_to_item(order, day))
    return order.order_id


# -- the kitchen's queue ------------------------------------------------------------------------

def test_the_queue_is_every_open_order_oldest_first(client, auth, staff_auth):
    staff = staff_auth()
    first = place(client, auth, USER)
    preparing = order_in(client, auth, staff, "preparing", BOB)
    ready = order_in(client, auth, staff, "ready", USER)
    order_in(client, auth, staff, "completed", BOB)
    order_in(client, auth, staff, "cancelled", USER)
    last = place(client, auth, BOB)
    assert ids(board(client, staff)) == [first["id"], preparing["id"], ready["id"], last["id"]]


def test_each_queued_order_is_the_customers_view_plus_history_and_who_to_hand_it_to(client, auth, staff_auth):
    placed = place(client, auth, USER, name="Alice Liddell")
    moved = move(client, staff_auth(), placed["id"], "preparing").get_json()["order"]
    [shown] = board(client, staff_auth()).get_json()["orders"]
    customers = client.get(f"/api/orders/{placed['id']}", headers=auth()).get_json()["order"]
    assert shown == moved
    assert {k: v for k, v in shown.items() if k not in ("history", "customer")} == customers
    assert shown["customer"] == {"name": "Alice Liddell", "email": "alice@example.com"}
    assert [(step["status"], step["by"]) for step in shown["history"]] == [("confirmed", "customer"),
                                                                          ("preparing", MANAGER)]
    assert shown["history"][0]["at"] == placed["date"] and shown["history"][1]["at"] == shown["status_updated_at"]


def test_an_order_placed_with_a_token_without_a_name_shows_the_email(client, auth, staff_auth):
    place(client, auth, BOB, name=None)
    place(client, auth, USER, name="   ")
    customers = [order["customer"] for order in board(client, staff_auth()).get_json()["orders"]]
    assert customers == [{"name": None, "email": "bob@example.com"}, {"name": None, "email": "alice@example.com"}]


def test_an_unchanged_queue_is_304_with_nothing_to_render_for_one_dynamodb_request(client, auth, staff_auth,
                                                                                   counted_dynamodb):
    place(client, auth)
    before = counted_dynamodb.total
    first = board(client, staff_auth())
    assert counted_dynamodb.total - before == 1
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert first.headers["Cache-Control"] == "private, no-cache"
    for sent in (etag, "W/" + etag, f'"other", {etag}', "*"):
        before = counted_dynamodb.total
        again = board(client, staff_auth(), **{"If-None-Match": sent})
        assert (again.status_code, again.get_data(), again.headers["ETag"]) == (304, b"", etag), sent
        assert counted_dynamodb.total - before == 1


def test_a_move_or_a_new_order_changes_the_etag(client, auth, staff_auth):
    order = place(client, auth)
    etags = [board(client, staff_auth()).headers["ETag"]]
    assert move(client, staff_auth(), order["id"], "preparing").status_code == 200
    changed = board(client, staff_auth(), **{"If-None-Match": etags[-1]})
    assert changed.status_code == 200 and changed.get_json()["orders"][0]["status"] == "preparing"
    etags.append(changed.headers["ETag"])
    place(client, auth, BOB)
    etags.append(board(client, staff_auth(), **{"If-None-Match": etags[-1]}).headers["ETag"])
    assert move(client, staff_auth(), order["id"], "cancelled").status_code == 200  # leaves the queue
    etags.append(board(client, staff_auth(), **{"If-None-Match": etags[-1]}).headers["ETag"])
    assert len(set(etags)) == 4


def test_an_empty_queue_has_an_etag_too(client, staff_auth):
    empty = board(client, staff_auth())
    assert empty.get_json() == {"orders": []}
    assert board(client, staff_auth(), **{"If-None-Match": empty.headers["ETag"]}).status_code == 304


# -- a day's orders -----------------------------------------------------------------------------

def day_pages(client, headers: dict, day: str, limit: int, cursor: str | None = None) -> list[list[str]]:
    pages = []
    for _ in range(20):
        query = f"day={day}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"/api/shop/orders?{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["day"] == day and len(body["orders"]) <= limit
        pages.append([order["id"] for order in body["orders"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("paging never ended")


def test_a_day_is_every_order_of_it_in_every_status_oldest_first_a_page_at_a_time(client, auth, staff_auth):
    staff = staff_auth()
    placed = [order_in(client, auth, staff, status, sub)
              for status, sub in (("confirmed", USER), ("completed", BOB), ("cancelled", USER), ("ready", BOB),
                                  ("preparing", USER))]
    day = placed[0]["date"][:10]
    pages = day_pages(client, staff, day, limit=2)
    assert [order_id for page in pages for order_id in page] == [order["id"] for order in placed]
    assert len(pages) >= 3


def test_a_day_shows_that_day_only(client, auth, staff_auth, dynamodb):
    today = place(client, auth)
    old = put_order_on(dynamodb, OLD_DAY, 1735732800000)
    assert day_pages(client, staff_auth(), today["date"][:10], limit=10) == [[today["id"]]]
    assert day_pages(client, staff_auth(), OLD_DAY, limit=10) == [[old]]
    assert day_pages(client, staff_auth(), "2025-01-02", limit=10) == [[]]


def test_a_cursor_only_ever_moves_within_the_day_asked_for(client, auth, staff_auth, dynamodb):
    today = [place(client, auth, sub) for sub in (USER, BOB, USER)]
    old = [put_order_on(dynamodb, OLD_DAY, 1735732800000 + n, f"auth0|old{n}") for n in range(3)]
    staff = staff_auth()
    todays_cursor = client.get(f"/api/shop/orders?day={today[0]['date'][:10]}&limit=1",
                               headers=staff).get_json()["next_cursor"]
    olds_cursor = client.get(f"/api/shop/orders?day={OLD_DAY}&limit=1", headers=staff).get_json()["next_cursor"]
    assert todays_cursor and olds_cursor
    # Today's cursor on the old day reads the old day's orders only, and the other way round.
    on_old = [i for page in day_pages(client, staff, OLD_DAY, 10, todays_cursor) for i in page]
    on_today = [i for page in day_pages(client, staff, today[0]["date"][:10], 10, olds_cursor) for i in page]
    assert set(on_old) <= set(old)
    assert set(on_today) <= {order["id"] for order in today}


@pytest.mark.parametrize(("query", "field"), [
    ("", "status"),
    ("status=open&day=2025-01-01", "day"),
    ("status=closed", "status"),
    ("status=", "status"),
    ("status=OPEN", "status"),
    ("day=2025-13-01", "day"),
    ("day=20250101", "day"),
    ("day=", "day"),
    ("day=2025-1-1", "day"),
    ("status=open&limit=5", "limit"),
    ("status=open&cursor=abc", "cursor"),
    ("day=2025-01-01&limit=0", "limit"),
    ("day=2025-01-01&limit=101", "limit"),
    ("day=2025-01-01&limit=ten", "limit"),
    ("day=2025-01-01&cursor=bm90LWEtY3Vyc29y", "cursor"),
    ("day=2025-01-01&cursor=%F0%9F%8D%95", "cursor"),
])
def test_a_bad_query_is_400_naming_the_field(client, staff_auth, query, field):
    response = client.get(f"/api/shop/orders?{query}", headers=staff_auth())
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["error"] in ("invalid_query", "invalid_limit", "invalid_cursor")
    assert "orders" not in body
