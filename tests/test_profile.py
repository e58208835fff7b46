"""The customer profile computed from a summary: every field of the original, from orders only."""

from datetime import UTC, datetime
from decimal import Decimal

from pizza42.orders.model import Order
from pizza42.orders.profile import Summary, customer_profile

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def order(pizza="Margherita", size="medium", quantity=1, total="16.00", at="2026-11-01T10:00:00.000Z") -> Order:
    return Order(user_id="auth0|u", order_id="order_1", pizza=pizza, size=size, quantity=quantity,
                 unit_price=Decimal(total) / quantity, total=Decimal(total), created_at=at)


def test_an_empty_summary_gives_a_zero_profile():
    profile = customer_profile(Summary(), NOW)
    assert profile["total_orders"] == 0
    assert profile["total_spent"] == 0
    assert profile["favorite_pizza"] is None
    assert profile["customer_since"] is None
    assert profile["data_source"] == "dynamodb"


def test_profile_keeps_every_field_of_the_original():
    profile = customer_profile(Summary.of([order()]), NOW)
    assert {"total_orders", "total_spent", "average_order_value", "favorite_pizza", "favorite_size",
            "customer_since", "first_order", "last_order", "order_frequency_per_day",
            "profile_generated_at", "data_source"} <= set(profile)


def test_totals_and_average_are_exact_to_the_cent():
    summary = Summary.of([order(total="16.99"), order(total="0.02"), order(total="10.00")])
    profile = customer_profile(summary, NOW)
    assert profile["total_spent"] == 27.01
    assert profile["average_order_value"] == 9.0


def test_favourites_count_pizzas_not_orders():
    summary = Summary.of([order("Supreme", "large", quantity=3, total="72.00"), order("Margherita"),
                          order("Margherita")])
    profile = customer_profile(summary, NOW)
    assert profile["favorite_pizza"] == "Supreme"
    assert profile["favorite_size"] == "large"
    assert profile["pizza_counts"] == {"Supreme": 3, "Margherita": 2}


def test_customer_since_is_the_first_order_not_a_token_date():
    summary = Summary.of([order(at="2026-03-05T08:00:00.000Z"), order(at="2026-01-02T09:30:00.000Z")])
    profile = customer_profile(summary, NOW)
    assert profile["customer_since"] == "2026-01-02T09:30:00.000Z"
    assert profile["last_order"] == "2026-03-05T08:00:00.000Z"


def test_frequency_is_orders_per_day_since_the_first_order():
    summary = Summary.of([order(at="2026-11-15T12:00:00.000Z")] * 5)
    assert customer_profile(summary, NOW)["order_frequency_per_day"] == 0.5


def test_frequency_counts_at_least_one_day():
    summary = Summary.of([order(at="2026-11-25T11:00:00.000Z")] * 3)
    assert customer_profile(summary, NOW)["order_frequency_per_day"] == 3.0


def test_monthly_spend_is_grouped_by_month_in_order():
    summary = Summary.of([order(at="2026-10-31T23:59:00.000Z"), order(total="20.00", at="2026-11-01T00:00:00.000Z"),
                          order(at="2026-10-01T00:00:00.000Z")])
    assert customer_profile(summary, NOW)["monthly_spend"] == {"2026-10": 32.0, "2026-11": 20.0}
