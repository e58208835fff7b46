"""The manager's figures: a range of shop-local days from the kept figures, and what they add up to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pizza42 import menu
from pizza42.orders.figures import DayFigures
from pizza42.orders.model import CENT, money
from pizza42.shop.store import ShopStore

MAX_DAYS = 92


class InvalidRange(ValueError):
    """A `from`/`to` range that is not two ISO dates at most MAX_DAYS apart, in order (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_day(value: object, field: str) -> date:
    """A `YYYY-MM-DD` query value as a date; InvalidRange naming the field otherwise."""
    if not isinstance(value, str) or len(value) != 10:
        raise InvalidRange(field, f"'{field}' must be a date like 2026-12-05")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRange(field, f"'{field}' must be a date like 2026-12-05") from None


def parse_range(first: object, last: object) -> tuple[date, date]:
    """The inclusive range of days asked for, at most MAX_DAYS long."""
    start, end = parse_day(first, "from"), parse_day(last, "to")
    if end < start:
        raise InvalidRange("to", "'to' must not be before 'from'")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidRange("to", f"at most {MAX_DAYS} days at a time")
    return start, end


@dataclass(frozen=True)
class Report:
    """The figures of a range of days, and their totals."""

    first: date
    last: date
    days: list[DayFigures]

    @property
    def totals(self) -> DayFigures:
        """Every day added up."""
        total = DayFigures(f"{self.first.isoformat()}/{self.last.isoformat()}")
        for day in self.days:
            total.orders += day.orders
            total.revenue += day.revenue
            total.cancelled += day.cancelled
            total.new_customers += day.new_customers
            total.pizzas.update(day.pizzas)
            total.sizes.update(day.sizes)
            total.hours.update(day.hours)
        return total

    def to_json(self) -> dict:
        """The body of GET /api/shop/analytics."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "days": [day_json(day) for day in self.days], "totals": day_json(self.totals)}


def _ordered(counter: Counter, names: tuple[str, ...]) -> dict[str, int]:
    """Every known name (zeros included, in menu order), then anything else that was counted (legacy items)."""
    return {**{name: counter.get(name, 0) for name in names},
            **{name: n for name, n in sorted(counter.items()) if name not in names and n}}


HOURS = tuple(f"{hour:02d}" for hour in range(24))


def day_json(day: DayFigures) -> dict:
    """One day's (or the totals') figures as the API shows them."""
    placed = day.orders + day.cancelled
    average = (day.revenue / day.orders).quantize(CENT) if day.orders else Decimal("0")
    return {
        "day": day.day,
        "orders": day.orders,
        "revenue": money(day.revenue),
        "cancelled": day.cancelled,
        "new_customers": day.new_customers,
        "returning_orders": day.orders - day.new_customers,  # orders from customers who had ordered before
        "average_order_value": money(average),
        "cancellation_rate": round(day.cancelled / placed, 4) if placed else 0.0,
        "pizzas": _ordered(day.pizzas, menu.PIZZAS),
        "sizes": _ordered(day.sizes, menu.SIZES),
        "hours": _ordered(day.hours, HOURS),
    }


def report(shop: ShopStore, first: date, last: date) -> Report:
    """The kept figures of every day from `first` to `last` (a bounded number of DynamoDB requests)."""
    return Report(first, last, shop.day_figures(first, last))


def last_days(today: date, count: int) -> tuple[date, date]:
    """The `count` days ending today."""
    return today - timedelta(days=count - 1), today
