"""Validation and pricing of order requests: the server is the only authority on price."""

from decimal import Decimal

import pytest

from pizza42.orders.errors import InvalidOrder
from pizza42.orders.model import validate_order_request


def field_of(payload) -> str:
    with pytest.raises(InvalidOrder) as info:
        validate_order_request(payload)
    return info.value.field


def test_prices_a_medium_margherita_from_the_menu():
    request = validate_order_request({"pizza": "Margherita", "size": "medium"})
    assert (request.unit_price, request.quantity, request.total) == (Decimal("16.00"), 1, Decimal("16.00"))


def test_multiplies_the_unit_price_by_the_quantity():
    assert validate_order_request({"pizza": "Supreme", "size": "large", "quantity": 3}).total == Decimal("72.00")


def test_accepts_names_in_any_case_and_returns_the_menu_spelling():
    request = validate_order_request({"pizza": "  pepperoni", "size": "SMALL"})
    assert (request.pizza, request.size) == ("Pepperoni", "small")


def test_accepts_a_client_total_that_matches_the_server_price():
    assert validate_order_request({"pizza": "Hawaiian", "size": "small", "quantity": 2, "total": 26}).total == 26


def test_accepts_a_matching_total_written_with_decimals():
    assert validate_order_request({"pizza": "Hawaiian", "size": "small", "total": 13.0}).total == Decimal("13")


def test_rejects_a_client_total_that_disagrees_with_the_price():
    assert field_of({"pizza": "Margherita", "size": "medium", "total": 16.99}) == "total"


def test_rejects_a_total_sent_as_a_string():
    assert field_of({"pizza": "Margherita", "size": "medium", "total": "16.00"}) == "total"


@pytest.mark.parametrize("total", [float("nan"), float("inf"), True])
def test_rejects_non_finite_or_boolean_totals(total):
    assert field_of({"pizza": "Margherita", "size": "medium", "total": total}) == "total"


def test_ignores_the_client_date():
    request = validate_order_request({"pizza": "Margherita", "size": "small", "date": "1999-01-01"})
    assert request.total == Decimal("12.00")


@pytest.mark.parametrize("pizza", ["Calzone", "", "Margherita\u0000", "Marg\u0435rita", 42, None, ["Margherita"]])
def test_rejects_pizzas_not_on_the_menu(pizza):
    assert field_of({"pizza": pizza, "size": "small"}) == "pizza"


@pytest.mark.parametrize("size", ["huge", "", 12, None])
def test_rejects_unknown_sizes(size):
    assert field_of({"pizza": "Supreme", "size": size}) == "size"


@pytest.mark.parametrize("quantity", [0, -1, 21, 2.5, 2.0, "2", True, None])
def test_quantity_must_be_a_whole_number_from_1_to_20(quantity):
    assert field_of({"pizza": "Supreme", "size": "small", "quantity": quantity}) == "quantity"


@pytest.mark.parametrize("quantity", [1, 20])
def test_quantity_bounds_are_inclusive(quantity):
    assert validate_order_request({"pizza": "Supreme", "size": "small", "quantity": quantity}).quantity == quantity


@pytest.mark.parametrize("payload", [[], "Margherita", 3, None])
def test_the_body_must_be_an_object(payload):
    assert field_of(payload) == "body"


def test_same_request_has_the_same_fingerprint_whatever_the_date():
    a = validate_order_request({"pizza": "Supreme", "size": "small", "date": "x"})
    b = validate_order_request({"pizza": "supreme", "size": "small", "quantity": 1})
    assert a.fingerprint() == b.fingerprint()
