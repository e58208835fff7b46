"""The customer profile: a running summary of a customer's orders, and the stats shown from it.

The summary is kept beside the orders and updated in the same transaction as every order write
(see store.py), so showing the profile never needs the whole history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pizza42 import menu
from pizza42.orders.lifecycle import CANCELLED
from pizza42.orders.model import CENT, Order, money, now_iso


def month_of(created_at: str) -> str:
    """The `YYYY-MM` month an ISO timestamp falls in."""
    return created_at[:7]


@dataclass
class Summary:
    """Counters over all of one customer's orders."""

    total_orders: int = 0
    total_spent: Decimal = Decimal("0")
    pizza_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(menu.PIZZAS, 0))
    size_counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(menu.SIZES, 0))
    monthly_spend: dict[str, Decimal] = field(default_factory=dict)
    first_order: str | None = None
    last_order: str | None = None
    changes: int = 0  # bumped by every write of the summary: the rebuild's optimistic lock

    def add(self, order: Order) -> None:
        """Count one more order (what the store's transactions do in DynamoDB).

        A cancelled order is not counted (spend, counts, favourites, charts) but still dates the customer:
        `first_order` and `last_order` are when they ordered, whatever became of the order.
        """
        if self.first_order is None or order.created_at < self.first_order:
            self.first_order = order.created_at
        if self.last_order is None or order.created_at > self.last_order:
            self.last_order = order.created_at
        if order.status == CANCELLED:
            return
        self.total_orders += 1
        self.total_spent += order.total
        self.pizza_counts[order.pizza] = self.pizza_counts.get(order.pizza, 0) + order.quantity
        self.size_counts[order.size] = self.size_counts.get(order.size, 0) + order.quantity
        month = month_of(order.created_at)
        self.monthly_spend[month] = self.monthly_spend.get(month, Decimal("0")) + order.total

    @classmethod
    def of(cls, orders: Iterable[Order]) -> Summary:
        """Build a summary from scratch (lazily for old customers, and by `rebuild-profiles`)."""
        summary = cls()
        for order in orders:
            summary.add(order)
        return summary


def _favourite(counts: dict[str, int]) -> str | None:
    # Ties go to the name first in the menu's order (dicts keep it), so the answer is stable.
    best = max(counts.items(), key=lambda item: item[1], default=(None, 0))
    return best[0] if best[1] > 0 else None


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def customer_profile(summary: Summary, now: datetime | None = None) -> dict:
    """The `customer_profile` of the API: every field of the original, plus per-pizza and monthly stats."""
    now = now or datetime.now(UTC)
    count = summary.total_orders
    average = (summary.total_spent / count).quantize(CENT) if count else Decimal("0")
    frequency = 0.0
    if summary.first_order:
        # Orders per day since the first one (at least one day, so a first-day customer reads 1/day).
        days = max((now - _parse(summary.first_order)).total_seconds() / 86400, 1.0)
        frequency = round(count / days, 4)
    return {
        "total_orders": count,
        "total_spent": money(summary.total_spent),
        "average_order_value": money(average),
        "favorite_pizza": _favourite(summary.pizza_counts),
        "favorite_size": _favourite(summary.size_counts),
        # When the customer first ordered: from the orders, never from a token's `iat`.
        "customer_since": summary.first_order,
        "first_order": summary.first_order,
        "last_order": summary.last_order,
        "order_frequency_per_day": frequency,
        "pizza_counts": {name: n for name, n in summary.pizza_counts.items() if n},
        "size_counts": {name: n for name, n in summary.size_counts.items() if n},
        "monthly_spend": {month: money(amount) for month, amount in sorted(summary.monthly_spend.items())},
        "profile_generated_at": now_iso(now),
        "data_source": "dynamodb",
    }
