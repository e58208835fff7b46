"""The chart geometry and the display filters, on their own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pizza42.web.charts import monthly_spend_chart, pizza_mix_chart
from pizza42.web.filters import day, frequency, money, when
from pizza42.web.session import user_from_claims


def test_monthly_chart_fills_missing_months_with_zero_bars():
    """A gap month is drawn as an empty bar, so the time axis stays honest; at least six months are shown."""
    chart = monthly_spend_chart({"2026-01": 40.0, "2026-03": 20.0})
    assert [bar.label for bar in chart.bars] == ["Oct 25", "Nov", "Dec", "Jan 26", "Feb", "Mar"]
    assert [bar.value_text for bar in chart.bars] == ["$0", "$0", "$0", "$40", "$0", "$20"]
    tallest, empty, half = chart.bars[3:]
    assert empty.height == 0 and half.height == tallest.height / 2
    assert tallest.y + tallest.height == half.y + half.height  # bars share a baseline
    assert chart.width == 6 * 56


def test_monthly_chart_shows_at_most_the_last_twelve_months_across_a_year_end():
    """Only the most recent months; a new year is labelled with its year."""
    chart = monthly_spend_chart({"2025-01": 10.0, "2026-02": 12.5})
    assert len(chart.bars) == 12
    assert chart.bars[0].label == "Mar 25" and chart.bars[10].label == "Jan 26"
    assert chart.bars[-1].value_text == "$12.50"


def test_charts_are_absent_without_data():
    """No orders, no pictures."""
    assert monthly_spend_chart({}) is None
    assert pizza_mix_chart({}) is None


def test_pizza_mix_lists_every_pizza_on_the_menu_scaled_to_the_favourite():
    """Bars for all menu pizzas (zero included), the longest for the favourite."""
    chart = pizza_mix_chart({"Pepperoni": 4, "Hawaiian": 1})
    widths = {bar.label: bar.width for bar in chart.bars}
    assert list(widths) == ["Margherita", "Pepperoni", "Supreme", "Hawaiian"]
    assert widths["Margherita"] == 0 and widths["Pepperoni"] == 4 * widths["Hawaiian"]
    assert "Pepperoni 4" in chart.summary


@pytest.mark.parametrize("value, text", [(Decimal("32"), "$32.00"), (1234.5, "$1,234.50"), (None, "—")])
def test_money(value, text):
    """Dollars with two decimals."""
    assert money(value) == text


def test_dates_are_shown_in_utc():
    """Order times and days, readable."""
    assert when("2026-03-04T05:06:07.890Z") == "4 Mar 2026, 05:06 UTC"
    assert day("2026-03-04T05:06:07Z") == "4 Mar 2026"
    assert when("not a date") == "not a date" and day(None) == "—"


def _profile(total_orders: int, first: str, last: str, per_day: float) -> dict:
    return {"total_orders": total_orders, "first_order": first, "last_order": last,
            "order_frequency_per_day": per_day}


@pytest.mark.parametrize("per_day, text", [(2.0, "2 per day"), (0.5, "3.5 per week"), (0.01, "0.3 per month"),
                                           (0.0001, "less than 0.1 per month")])
def test_frequency_in_the_unit_a_person_would_use(per_day, text):
    """Orders per day, per week or per month, once there is a habit to describe."""
    assert frequency(_profile(5, "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z", per_day)) == text


@pytest.mark.parametrize("profile", [
    _profile(1, "2026-03-01T10:00:00.000Z", "2026-03-01T10:00:00.000Z", 1.0),  # one order: "1 per day" is a count
    _profile(3, "2026-03-01T10:00:00.000Z", "2026-03-02T09:59:59.999Z", 3.0),  # a few, all within a day
    _profile(2, "2026-03-01T10:00:00.000Z", "not a date", 0.5),
    _profile(0, None, None, 0.0),
    None,
], ids=["one-order", "same-day", "bad-date", "no-orders", "no-profile"])
def test_no_frequency_until_two_orders_lie_a_day_apart(profile):
    """Nothing to show, rather than a frequency that is not one."""
    assert frequency(profile) is None


def test_frequency_from_two_orders_exactly_a_day_apart():
    assert frequency(_profile(2, "2026-03-01T10:00:00.000Z", "2026-03-02T10:00:00.000Z", 0.2)) == "1.4 per week"


def test_login_time_comes_from_login_time_or_from_the_old_name_time():
    """Tokens issued before the Action renamed `time` to `login_time` still show when the customer logged in."""
    base = {"sub": "auth0|x", "exp": 2_000_000_000}
    key = "https://pizza42.com/auth_metadata"
    new, old = "2026-12-01T09:00:00.000Z", "2026-11-30T08:00:00.000Z"
    assert user_from_claims({**base, key: {"login_time": new}}).login_time == new
    assert user_from_claims({**base, key: {"time": old}}).login_time == old
    assert user_from_claims({**base, key: {"login_time": new, "time": old}}).login_time == new
    assert user_from_claims({**base, key: {"login_time": 42}}).login_time is None
    assert user_from_claims({**base, key: "garbage"}).login_time is None
    assert user_from_claims(base).login_time is None


def test_session_user_keeps_only_https_pictures_and_bounded_text():
    """Nothing unsafe or large from the token reaches the cookie or the page."""
    claims = {"sub": "auth0|x", "exp": 2_000_000_000, "picture": "javascript:alert(1)", "name": "n" * 5000}
    user = user_from_claims(claims)
    assert user.picture is None and len(user.name) == 200
    assert user_from_claims({**claims, "picture": "https://cdn.example/p.png"}).picture == "https://cdn.example/p.png"


def test_can_place_orders_follows_the_action_claim_over_email_verified():
    """The Post-Login Action's verdict wins; without it, email_verified decides."""
    base = {"sub": "auth0|x", "exp": 2_000_000_000, "email_verified": True}
    assert user_from_claims(base).can_place_orders is True
    assert user_from_claims({**base, "https://pizza42.com/can_place_orders": False}).can_place_orders is False
