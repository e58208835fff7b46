"""Receipts (/orders/<id>: the customer's own orders only, never cached) and "Order again" (a prefilled form)."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest

from pizza42.orders import service
from pizza42.orders.service import Customer
from tests.dynamo_helpers import CountingClient, put_legacy_order
from tests.web.conftest import TABLE, UNVERIFIED, VERIFIED, csp_violations, form_fields, table_items

OTHER = "auth0|someone-else"


def place(store, sub: str = VERIFIED, pizza: str = "Supreme", size: str = "large", quantity: int = 2):
    """An order placed through the domain, as the page or the API would."""
    return service.place_order(store, Customer(sub, f"{sub.split('|')[1]}@pizza42.test"),
                               {"pizza": pizza, "size": size, "quantity": quantity})[0]


@pytest.fixture
def app_dynamodb(dynamodb):
    """The app's DynamoDB client counts its calls, so a test can see that nothing was read or written."""
    return CountingClient(dynamodb)


def order_rows(dynamodb) -> list[dict]:
    return [item for item in table_items(dynamodb) if item["order_id"]["S"].startswith("order_")]


def test_each_history_row_links_to_its_receipt_and_to_order_again(client, auth, store):
    auth.login(VERIFIED)
    first, second = place(store, pizza="Hawaiian", size="small", quantity=1), place(store)
    page = client.get("/orders").get_data(as_text=True)
    receipts = re.findall(r'<a href="(/orders/order_[^"]+)">Receipt<', page)
    assert receipts == [f"/orders/{second.order_id}", f"/orders/{first.order_id}"]  # newest first
    again = [html.unescape(url) for url in re.findall(r'<a href="([^"]+)">Order again<', page)]
    assert again == ["/?pizza=Supreme&size=large&quantity=2#order-form",
                     "/?pizza=Hawaiian&size=small&quantity=1#order-form"]


def test_a_receipt_shows_what_was_ordered_and_is_never_cached(client, auth, store):
    auth.login(VERIFIED)
    order = place(store, pizza="Supreme", size="large", quantity=2)
    response = client.get(f"/orders/{order.order_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    details = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", page))
    assert order.order_id in details["Order number"]
    assert f'<time datetime="{order.created_at}">' in details["Placed"] and "UTC" in details["Placed"]
    assert "Confirmed" in details["Status"] and details["Customer"] == "demo-verified@pizza42.test"
    line = re.findall(r'<td(?: class="num")?>([^<]+)</td>', page.split("<tbody>")[1].split("</tbody>")[0])
    assert line == ["Supreme, large", "$24.00", "2", "$48.00"]  # pizza and size, unit price, quantity, amount
    assert '<td class="num receipt-total">$48.00</td>' in page
    assert html.unescape(re.search(r'<a class="button" href="([^"]+)">Order again</a>', page).group(1)) == \
        "/?pizza=Supreme&size=large&quantity=2#order-form"
    assert csp_violations(page) == []
    assert re.search(r'<script src="/static/print\.js\?v=[0-9a-f]{12}" defer></script>', page)  # versioned URL


def test_a_legacy_order_has_a_receipt_too(client, auth, dynamodb):
    """Orders written by the original backend (no quantity or unit price) read back as one pizza."""
    order_id = put_legacy_order(dynamodb, VERIFIED, 1_735_732_800_000, pizza="Pepperoni", size="small",
                                total="14", created_at="2025-01-01T12:00:00Z")
    auth.login(VERIFIED)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    line = re.findall(r'<td(?: class="num")?>([^<]+)</td>', page.split("<tbody>")[1].split("</tbody>")[0])
    assert line == ["Pepperoni, small", "$14.00", "1", "$14.00"]
    assert "1 Jan 2025, 12:00 UTC" in page


def test_another_customers_order_is_not_found(client, auth, store):
    """The id is looked up in the caller's own orders only: someone else's is a 404 that reveals nothing."""
    theirs = place(store, sub=OTHER, pizza="Hawaiian")
    place(store)
    auth.login(VERIFIED)
    response = client.get(f"/orders/{theirs.order_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Page not found" in page
    assert "Hawaiian" not in page and "someone-else" not in page
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("order_id", [
    "order_1", "order_17961584482040", "~profile", "%23idem%23abc", "order_1796158448204_!!!!!!!!!!",
    "order_1796158448204_2HBY0YHEYJ", "order_%EF%BC%91796158448204", "x" * 2000, "..%2F..%2Fetc", "%00",
])
def test_a_malformed_order_id_is_not_found_without_asking_dynamodb(client, auth, app_dynamodb, order_id):
    auth.login(VERIFIED)
    before = app_dynamodb.tables[TABLE]
    response = client.get(f"/orders/{order_id}")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    assert app_dynamodb.tables[TABLE] == before  # only the session was read


def test_an_unknown_order_of_the_right_shape_is_not_found(client, auth, store):
    place(store)
    auth.login(VERIFIED)
    assert client.get("/orders/order_1640995200000_0000000000").status_code == 404


def test_a_visitor_is_asked_to_log_in_and_brought_back_to_the_receipt(client, store):
    order = place(store)
    response = client.get(f"/orders/{order.order_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=/orders/{order.order_id}"


def test_an_unverified_customer_is_told_to_verify_first(client, auth, store):
    order = place(store, sub=UNVERIFIED)
    auth.login(UNVERIFIED)
    response = client.get(f"/orders/{order.order_id}")
    assert response.status_code == 403 and "verified" in response.get_data(as_text=True)


# --- "Order again": the ordering page prefilled from the query string --------------------------------


def chosen(page: str) -> tuple[str | None, str | None, str | None, str]:
    """The form's selected pizza, checked size, quantity and shown total."""
    pizza = re.search(r'<option selected value="([^"]+)">', page)
    size = re.search(r'<input checked id="size-\d" name="size" type="radio" value="([^"]+)">', page)
    quantity = re.search(r'<input[^>]*name="quantity"[^>]*value="([^"]*)"', page)
    total = re.search(r'<output id="order-total"[^>]*>([^<]*)</output>', page).group(1)
    return pizza and pizza.group(1), size and size.group(1), quantity and quantity.group(1), total


def test_order_again_opens_the_form_prefilled_at_todays_price_and_places_nothing(client, auth, dynamodb):
    auth.login(VERIFIED)
    response = client.get("/?pizza=pepperoni&size=LARGE&quantity=3")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert chosen(page) == ("Pepperoni", "large", "3", "$66.00")  # 3 × $22, today's menu price
    assert 'id="repeat-note"' in page and "nothing is ordered before you do" in page
    assert order_rows(dynamodb) == []


def test_pressing_place_order_on_the_prefilled_form_places_it(client, auth, dynamodb):
    auth.login(VERIFIED)
    page = client.get("/?pizza=Hawaiian&size=small&quantity=4").get_data(as_text=True)
    pizza, size, quantity, _ = chosen(page)
    response = client.post("/", data={**form_fields(page), "pizza": pizza, "size": size, "quantity": quantity})
    assert response.status_code == 303
    [order] = order_rows(dynamodb)
    assert (order["pizza"]["S"], order["size"]["S"], int(order["quantity"]["N"]), Decimal(order["total"]["N"])) == \
        ("Hawaiian", "small", 4, Decimal("52"))


@pytest.mark.parametrize("query", [
    "pizza=Calzone&size=huge&quantity=0", "quantity=21", "quantity=-1", "quantity=abc", "quantity=1e3",
    "quantity=" + "9" * 5000, "quantity=%D9%A3", "pizza=&size=", "pizza=%00&size=%FF", "size=medium&size=large&x=1",
])
def test_bad_prefill_parameters_fall_back_to_the_defaults(client, auth, dynamodb, query):
    auth.login(VERIFIED)
    response = client.get("/?" + query)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    pizza, size, quantity, total = chosen(page)
    assert (pizza or "Margherita", size, quantity) == ("Margherita", "medium", "1") and total == "$16.00"
    assert order_rows(dynamodb) == []


def test_each_good_prefill_parameter_is_kept_when_another_is_bad(client, auth):
    auth.login(VERIFIED)
    page = client.get("/?pizza=Supreme&size=enormous&quantity=2").get_data(as_text=True)
    assert chosen(page) == ("Supreme", "medium", "2", "$40.00")


@pytest.mark.parametrize("sub", [None, UNVERIFIED], ids=["visitor", "unverified"])
def test_prefill_parameters_show_no_form_to_someone_who_cannot_order(client, auth, sub):
    if sub:
        auth.login(sub)
    response = client.get("/?pizza=Supreme&size=large&quantity=2")
    assert response.status_code == 200 and 'id="order-form"' not in response.get_data(as_text=True)
