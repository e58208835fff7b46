"""Placing an order from the page: the domain prices and validates it; CSRF and verification are enforced."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from pizza42 import create_app
from pizza42.orders import service
from tests.dynamo_helpers import FaultyClient
from tests.web.conftest import (
    UNVERIFIED,
    VERIFIED,
    AuthActions,
    form_fields,
    table_items,
    web_settings,
)


def _orders(store, sub=VERIFIED):
    return service.list_orders(store, sub).orders


def test_placing_an_order_stores_it_at_the_server_price_and_shows_the_history(client, auth, store):
    """POST / → 303 to /orders with a confirmation; the order is keyed by the session's subject."""
    auth.login(VERIFIED)
    response = auth.place_order("Pepperoni", "large", "3")
    assert response.status_code == 303 and response.headers["Location"] == "/orders"
    [order] = _orders(store)
    assert (order.pizza, order.size, order.quantity, order.total) == ("Pepperoni", "large", 3, Decimal("66.00"))
    assert order.user_id == VERIFIED and order.user_email == "verified@pizza42.test"
    page = client.get("/orders").get_data(as_text=True)
    assert "Order placed: 3 × Pepperoni (large), $66.00." in page


def test_a_client_total_or_user_id_in_the_form_is_ignored(client, auth, store):
    """Only pizza, size and quantity are read from the form: price and owner come from the server."""
    auth.login(VERIFIED)
    fields = form_fields(client.get("/").get_data(as_text=True))
    client.post("/", data={**fields, "pizza": "Supreme", "size": "small", "quantity": "1", "total": "0.01",
                           "user_id": "auth0|someone-else"})
    [order] = _orders(store)
    assert order.total == Decimal("16.00") and order.user_id == VERIFIED
    assert _orders(store, "auth0|someone-else") == []


def test_the_order_form_shows_the_server_computed_total(client, auth):
    """Without JavaScript the page still shows a total, priced by the domain."""
    auth.login(VERIFIED)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<output id="order-total"[^>]*>\$16\.00</output>', page)  # 1 × Margherita (medium)
    assert '"Margherita": {"small": "12.00"' in page.replace("&#34;", '"')


@pytest.mark.parametrize("fields", [{}, {"csrf_token": "not-a-token"}])
def test_missing_or_invalid_csrf_token_is_a_400_page_and_nothing_is_written(client, auth, dynamodb, fields):
    """A cross-site (or stale) POST cannot order for the customer."""
    auth.login(VERIFIED)
    client.get("/")
    response = client.post("/", data={**fields, "pizza": "Margherita", "size": "medium", "quantity": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This form has expired" in page and "style.css" in page
    assert table_items(dynamodb) == []


def test_csrf_token_of_another_session_is_refused(app, client, auth, dynamodb):
    """A token is bound to the session it was issued to."""
    other = AuthActions(app.test_client())
    other.login(UNVERIFIED)
    token = form_fields(other._client.get("/").get_data(as_text=True))["csrf_token"]
    auth.login(VERIFIED)
    response = client.post("/", data={"csrf_token": token, "pizza": "Margherita", "size": "medium", "quantity": "1"})
    assert response.status_code == 400
    assert table_items(dynamodb) == []


def test_unverified_customer_cannot_order_even_with_a_forged_post(client, auth, dynamodb):
    """No form is offered, and a POST with a valid CSRF token is refused with 403."""
    auth.login(UNVERIFIED)
    page = client.get("/").get_data(as_text=True)
    assert 'id="order-form"' not in page
    token = form_fields(page)["csrf_token"]  # from the logout form: a real token of this session
    response = client.post("/", data={"csrf_token": token, "pizza": "Margherita", "size": "medium", "quantity": "1"})
    assert response.status_code == 403
    assert "not verified" in response.get_data(as_text=True)
    assert table_items(dynamodb) == []


def test_visitor_cannot_post_an_order(client, dynamodb):
    """No session: sent to log in (before any CSRF check), nothing written."""
    response = client.post("/", data={"pizza": "Margherita", "size": "medium", "quantity": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/"
    assert table_items(dynamodb) == []


@pytest.mark.parametrize("pizza, size, quantity, field, message", [
    ("Calzone", "medium", "1", "pizza", "&#39;pizza&#39; must be one of"),
    ("Margherita", "huge", "1", "size", "&#39;size&#39; must be one of"),
    ("Margherita", "medium", "0", "quantity", "must be from 1 to 20"),
    ("Margherita", "medium", "21", "quantity", "must be from 1 to 20"),
    ("Margherita", "medium", "two", "quantity", "Not a valid integer value"),
])
def test_an_invalid_order_re_renders_the_form_with_the_field_error(client, auth, dynamodb, pizza, size, quantity,
                                                                   field, message):
    """The domain's InvalidOrder becomes a 422 with the message beside its field; nothing is written."""
    auth.login(VERIFIED)
    response = auth.place_order(pizza, size, quantity)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert re.search(rf'<div class="field has-error">\s*<label for="{field}"', page) or field == "size"
    assert 'id="order-form"' in page
    assert table_items(dynamodb) == []


def test_submitting_the_same_form_twice_places_one_order(client, auth, store):
    """A double click (same form, same order key) does not order twice."""
    auth.login(VERIFIED)
    fields = {**form_fields(client.get("/").get_data(as_text=True)),
              "pizza": "Hawaiian", "size": "medium", "quantity": "1"}
    assert client.post("/", data=fields).status_code == 303
    assert client.post("/", data=fields).status_code == 303
    assert len(_orders(store)) == 1
    assert "That order was already placed" in client.get("/orders").get_data(as_text=True)


def test_storage_down_while_ordering_is_a_503_page(provider, dynamodb):
    """DynamoDB unreachable → a friendly 503 with Retry-After, never a 500 (the session's own failure modes:
    test_session_cost.py)."""
    faulty = FaultyClient(dynamodb)
    app = create_app(web_settings(provider), dynamodb_client=faulty)
    app.config["TESTING"] = True
    client = app.test_client()
    auth = AuthActions(client)
    auth.login(VERIFIED)
    fields = form_fields(client.get("/").get_data(as_text=True))
    faulty.down = True
    response = client.post("/", data={**fields, "pizza": "Margherita", "size": "medium", "quantity": "2"})
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "try again" in response.get_data(as_text=True)
    assert client.get("/orders").status_code == 503


def _audit_lines(capsys) -> list[dict]:
    import json

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line["logger"] == "pizza42.audit"]


def test_an_order_placed_from_the_page_writes_one_audit_line(client, auth, store, capsys):
    auth.login(VERIFIED)
    capsys.readouterr()
    auth.place_order("Supreme", "small", "1")
    [audit] = _audit_lines(capsys)
    [order] = _orders(store)
    assert (audit["channel"], audit["outcome"], audit["order_id"]) == ("web", "placed", order.order_id)
    assert audit["user_id"] == VERIFIED and audit["email"] == "v***@pizza42.test"


def test_a_forged_post_from_an_unverified_customer_is_audited_as_refused(client, auth, capsys):
    auth.login(UNVERIFIED)
    token = form_fields(client.get("/").get_data(as_text=True))["csrf_token"]
    capsys.readouterr()
    client.post("/", data={"csrf_token": token, "pizza": "Margherita", "size": "medium", "quantity": "1"})
    [audit] = _audit_lines(capsys)
    assert (audit["outcome"], audit["reason"], audit["user_id"]) == ("refused", "Forbidden", UNVERIFIED)
