"""The kitchen's pages (Flask test client, a browser without JavaScript): who may open them, the board, the
buttons (CSRF-protected form POSTs), and the live refresh's conditional GET."""

from __future__ import annotations

import re

import pytest
from flask import template_rendered

from pizza42.orders import lifecycle
from pizza42.web.session import SESSION_KEY
from tests.dynamo_helpers import CountingClient
from tests.web.conftest import SESSIONS_TABLE, TABLE, UNVERIFIED, VERIFIED, read_session
from tests.web.staff_helpers import MANAGER, STAFF, csrf_token, place, register_staff

SECRET_NAME = "Zelda Secretname"


@pytest.fixture(autouse=True)
def _staff_at_the_provider(provider) -> None:
    register_staff(provider)


@pytest.fixture
def app_dynamodb(dynamodb) -> CountingClient:
    """The app's client counts its calls (what a refresh of the board costs)."""
    return CountingClient(dynamodb)


@pytest.fixture
def order(store):
    """An open order of a customer with a name the page must not leak to non-staff."""
    return place(store, "auth0|zelda", name=SECRET_NAME, pizza="Hawaiian", size="large", quantity=3)


def staff_pages(order_id: str) -> list[str]:
    return ["/kitchen", "/kitchen/board", "/kitchen/day", "/kitchen/day?day=2026-12-05", "/kitchen/day.csv",
            f"/kitchen/orders/{order_id}/ticket", "/shop/analytics"]


def move(client, order_id: str, status: str, shown: str = "confirmed", *, token: str | None = None, **headers):
    """Press a card's button: the form the board renders, posted as a browser would."""
    token = token if token is not None else csrf_token(client.get("/kitchen").get_data(as_text=True))
    return client.post(f"/kitchen/orders/{order_id}/status", headers=headers,
                       data={"csrf_token": token, "from": shown, "status": status})


# -- who may open the kitchen ---------------------------------------------------------------------------


def test_visitors_are_sent_to_log_in_on_every_staff_page_and_post(client, order):
    for path in staff_pages(order.order_id):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    response = client.post(f"/kitchen/orders/{order.order_id}/status", data={"status": "preparing"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("sub", [VERIFIED, UNVERIFIED])
def test_customers_get_403_with_no_shop_data_on_every_staff_page_and_post(client, auth, store, order, sub):
    auth.login(sub)
    token = csrf_token(client.get("/").get_data(as_text=True))  # the logout form's: a valid token of theirs
    for path in staff_pages(order.order_id):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert order.ticket not in body and SECRET_NAME not in body and "Hawaiian" not in body, path
    for data in ({"csrf_token": token, "status": "cancelled"}, {"status": "cancelled"}):
        response = client.post(f"/kitchen/orders/{order.order_id}/status", data=data)
        assert response.status_code == 403 and SECRET_NAME not in response.get_data(as_text=True)
    assert store.get("auth0|zelda", order.order_id).status == lifecycle.CONFIRMED


def test_staff_open_the_kitchen_but_not_the_analytics(client, auth, order):
    auth.login(STAFF)
    page = client.get("/kitchen").get_data(as_text=True)
    assert ">Kitchen</a>" in page and ">Analytics</a>" not in page
    response = client.get("/shop/analytics")
    assert response.status_code == 403 and "Revenue" not in response.get_data(as_text=True)


def test_managers_open_both_and_customers_see_neither_link(client, auth, order):
    auth.login(MANAGER)
    page = client.get("/kitchen").get_data(as_text=True)
    assert ">Kitchen</a>" in page and ">Analytics</a>" in page
    assert client.get("/shop/analytics").status_code == 200
    auth.login(VERIFIED)
    home = client.get("/").get_data(as_text=True)
    assert ">Kitchen</a>" not in home and ">Analytics</a>" not in home


# -- the board ------------------------------------------------------------------------------------------


def test_the_board_shows_open_orders_oldest_first_with_one_button_per_next_step(client, auth, store):
    first = place(store, "auth0|a", name="Ann", pizza="Margherita")
    second = place(store, "auth0|b", name=None, pizza="Supreme")
    third = place(store, "auth0|c", name="Cid", pizza="Pepperoni")
    done = place(store, "auth0|d", name="Dot")
    store.change_status("auth0|b", second.order_id, "preparing", actor="staff", by=STAFF)
    store.change_status("auth0|c", third.order_id, "preparing", actor="staff", by=STAFF)
    store.change_status("auth0|c", third.order_id, "ready", actor="staff", by=STAFF)
    store.change_status("auth0|d", done.order_id, "cancelled", actor="staff", by=STAFF)
    auth.login(STAFF)
    page = client.get("/kitchen").get_data(as_text=True)
    cards = re.findall(r'<li class="card card-(\w+)" data-order-id="([^"]+)"', page)
    assert cards == [("confirmed", first.order_id), ("preparing", second.order_id), ("ready", third.order_id)]
    card = {order_id: page.split(f'data-order-id="{order_id}"')[1].split("</li>")[0] for _, order_id in cards}
    buttons = {order_id: re.findall(r'name="status" value="(\w+)"[^>]*>([^<]+)<', text)
               for order_id, text in card.items()}
    assert buttons[first.order_id] == [("preparing", "Start preparing"), ("cancelled", "Cancel")]
    assert buttons[second.order_id] == [("ready", "Mark ready"), ("cancelled", "Cancel")]
    assert buttons[third.order_id] == [("completed", "Hand over")]
    assert first.ticket in card[first.order_id] and "Ann" in card[first.order_id]
    assert "b@pizza42.test" in card[second.order_id]  # no name: the email
    assert "Margherita" in card[first.order_id] and "Medium" in card[first.order_id]
    assert re.search(r'<time datetime="[^"]+" data-ago>just now</time>', card[first.order_id])
    assert all('name="csrf_token"' in text for text in card.values())


def test_a_refresh_is_a_304_with_nothing_rendered_and_one_query_while_the_board_is_unchanged(
        client, auth, order, app_dynamodb):
    auth.login(STAFF)
    first = client.get("/kitchen/board")
    assert first.status_code == 200 and order.ticket in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    rendered: list[str] = []
    before = len(app_dynamodb.requests)
    with template_rendered.connected_to(lambda sender, template, context, **extra: rendered.append(template.name)):
        again = client.get("/kitchen/board", headers={"If-None-Match": etag})
    calls = app_dynamodb.requests[before:]
    assert again.status_code == 304 and again.get_data() == b"" and rendered == []
    assert [(op, params.get("TableName")) for op, params in calls] == [("get_item", SESSIONS_TABLE),
                                                                       ("query", TABLE)]
    assert calls[1][1]["IndexName"]  # the open-orders index, never a Scan


def test_the_etag_changes_when_an_order_moves_or_arrives(client, auth, store, order):
    auth.login(STAFF)
    etag = client.get("/kitchen/board").headers["ETag"]
    move(client, order.order_id, "preparing")
    moved = client.get("/kitchen/board", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and "Mark ready" in moved.get_data(as_text=True)
    newer = place(store, "auth0|late", name="Late Larry")
    arrived = client.get("/kitchen/board", headers={"If-None-Match": moved.headers["ETag"]})
    assert arrived.status_code == 200 and newer.ticket in arrived.get_data(as_text=True)


# -- the buttons ----------------------------------------------------------------------------------------


def test_a_button_moves_the_order_without_javascript_and_comes_back_to_the_board(client, auth, store, order):
    auth.login(STAFF)
    response = move(client, order.order_id, "preparing")
    assert response.status_code == 303 and response.headers["Location"].endswith("/kitchen")
    page = client.get("/kitchen").get_data(as_text=True)
    assert f"Ticket {order.ticket}: preparing." in page
    moved = store.get("auth0|zelda", order.order_id)
    assert moved.status == "preparing" and moved.changes[-1].by == STAFF  # who did it: the staff member's sub


def test_a_lost_race_says_someone_else_moved_it_and_changes_nothing_twice(client, auth, store, order):
    auth.login(STAFF)
    token = csrf_token(client.get("/kitchen").get_data(as_text=True))
    assert move(client, order.order_id, "preparing", token=token).status_code == 303
    late = move(client, order.order_id, "preparing", token=token)  # a second screen still showed "confirmed"
    assert late.status_code == 303
    assert (f"Ticket {order.ticket}: someone else moved it: it is now preparing."
            in client.get("/kitchen").get_data(as_text=True))
    as_json = move(client, order.order_id, "preparing", token=token, Accept="application/json")
    assert as_json.status_code == 409 and "it is now preparing" in as_json.get_json()["message"]
    assert [change.status for change in store.get("auth0|zelda", order.order_id).changes] == ["preparing"]


def test_the_board_script_gets_json(client, auth, order):
    auth.login(STAFF)
    response = move(client, order.order_id, "preparing", Accept="application/json")
    assert response.status_code == 200
    assert response.get_json() == {"message": f"Ticket {order.ticket}: preparing.", "category": "success"}


def test_a_move_without_a_valid_csrf_token_is_refused(client, auth, store, order):
    auth.login(STAFF)
    for token in ("", "not-a-token"):
        response = move(client, order.order_id, "preparing", token=token)
        assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert store.get("auth0|zelda", order.order_id).status == lifecycle.CONFIRMED


@pytest.mark.parametrize("status, expected", [("baking", 400), ("", 400)])
def test_an_unknown_status_is_a_400_page(client, auth, order, status, expected):
    auth.login(STAFF)
    assert move(client, order.order_id, status).status_code == expected


def test_an_unknown_order_is_a_404_page_not_a_500(client, auth):
    auth.login(STAFF)
    for order_id in ("order_1796505019371_0000000000", "nonsense"):
        assert move(client, order_id, "preparing").status_code == 404
        assert client.get(f"/kitchen/orders/{order_id}/ticket").status_code == 404


def test_the_printable_ticket_has_the_big_number_what_to_make_and_for_whom(client, auth, order):
    auth.login(STAFF)
    page = client.get(f"/kitchen/orders/{order.order_id}/ticket").get_data(as_text=True)
    assert f'<span class="ticket-big">{order.ticket}</span>' in page
    assert "3 ×</span> Hawaiian" in page and "Large" in page and SECRET_NAME in page


def test_the_roles_come_from_the_id_tokens_claim_and_customers_store_none(app, client, auth):
    auth.login(STAFF)
    assert read_session(app, client)[0][SESSION_KEY]["roles"] == ("staff",)
    auth.login(VERIFIED)
    assert "roles" not in read_session(app, client)[0][SESSION_KEY]
