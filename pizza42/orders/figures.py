"""The shop's kept figures: per shop-local day, what the order transactions add up (their item layout).

Every order write adds to one of SHARDS items of its day, chosen at random, in the same transaction as the
order; a cancellation takes the order out again (from any shard of that day: only the sum counts). Sharding
keeps 200 customers ordering at once from contending for one hot item. Items live in the orders table,
in partitions no customer can have (an Auth0 `sub` is `connection|id`, never `#…`):

  user_id `#shop#07`   order_id `day#2026-12-05`
  orders, revenue, cancelled, new_customers, and one counter per pizza (`pizza:Margherita`),
  size (`size:large`) and shop-local hour (`hour:19`): orders placed, cancellations taken out.

Reading a range of days costs SHARDS Queries, whatever the number of orders (pizza42/shop reads them).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

from pizza42.orders.ids import order_id_millis

SHARDS = 16
SHARD_PREFIX = "#shop#"
DAY_PREFIX = "day#"
_ONE = {"N": "1"}


def shard_key(shard: int) -> str:
    """The partition of one shard of the shop's figures."""
    return f"{SHARD_PREFIX}{shard:02d}"


def is_shop_partition(user_id: str) -> bool:
    """Whether a partition holds the shop's figures rather than a customer's orders."""
    return user_id.startswith(SHARD_PREFIX)


def day_key(day: str) -> str:
    """The sort key of a day's figures."""
    return DAY_PREFIX + day


class ShopTime:
    """Where the shop's day starts: shop-local day and hour of an instant (SHOP_TIMEZONE)."""

    def __init__(self, zone: tzinfo = UTC) -> None:
        self.zone = zone

    def local(self, millis: int) -> datetime:
        """The shop-local time of an epoch millisecond."""
        return datetime.fromtimestamp(millis / 1000, self.zone)

    def day_and_hour(self, millis: int) -> tuple[str, int]:
        """The shop-local `YYYY-MM-DD` and hour (0-23) of an epoch millisecond."""
        moment = self.local(millis)
        return moment.date().isoformat(), moment.hour

    def of_order(self, order_id: str) -> tuple[str, int]:
        """The shop-local day and hour an order was placed in: its id's millisecond (the epoch's for a bad id)."""
        return self.day_and_hour(order_id_millis(order_id) or 0)

    def today(self, now: float) -> date:
        """The shop-local date at epoch seconds `now`."""
        return datetime.fromtimestamp(now, self.zone).date()


def _day_update(table: str, day: str, pizza: str, size: str, hour: int, total: Decimal, *, sign: int,
                first: bool) -> dict:
    """One transaction entry adding an order to (sign 1) or taking it out of (sign -1) a random shard of its day."""
    adds = ["orders :n", "revenue :amount", "#p :n", "#s :n", "#h :n"]
    values = {":n": {"N": str(sign)}, ":amount": {"N": str(sign * total)}}
    if first:
        adds.append("new_customers :n")
    if sign < 0:
        adds.append("cancelled :one")
        values[":one"] = _ONE
    return {"Update": {
        "TableName": table,
        "Key": {"user_id": {"S": shard_key(random.randrange(SHARDS))}, "order_id": {"S": day_key(day)}},  # noqa: S311
        # ADD creates the item and each counter at zero first: no day needs setting up.
        "UpdateExpression": "ADD " + ", ".join(adds),
        "ExpressionAttributeNames": {"#p": f"pizza:{pizza}", "#s": f"size:{size}", "#h": f"hour:{hour:02d}"},
        "ExpressionAttributeValues": values,
    }}


def placed_update(table: str, day: str, pizza: str, size: str, hour: int, total: Decimal, *,
                  first: bool) -> dict:
    """The transaction entry that counts a new order in its day's figures."""
    return _day_update(table, day, pizza, size, hour, total, sign=1, first=first)


def cancelled_update(table: str, day: str, pizza: str, size: str, hour: int, total: Decimal, *,
                     first: bool) -> dict:
    """The transaction entry that takes a cancelled order out of its day's figures and counts the cancellation."""
    return _day_update(table, day, pizza, size, hour, total, sign=-1, first=first)


@dataclass
class DayFigures:
    """One shop-local day's figures (the sum of its shards)."""

    day: str
    orders: int = 0
    revenue: Decimal = Decimal("0")
    cancelled: int = 0
    new_customers: int = 0
    pizzas: Counter = field(default_factory=Counter)
    sizes: Counter = field(default_factory=Counter)
    hours: Counter = field(default_factory=Counter)

    def add_item(self, item: dict) -> None:
        """Add one shard's item to this day."""
        for name, value in item.items():
            if "N" not in value:
                continue
            number = Decimal(value["N"])
            if name == "revenue":
                self.revenue += number
            elif name in ("orders", "cancelled", "new_customers"):
                setattr(self, name, getattr(self, name) + int(number))
            else:
                kind, _, key = name.partition(":")
                counter = {"pizza": self.pizzas, "size": self.sizes, "hour": self.hours}.get(kind)
                if counter is not None:
                    counter[key] += int(number)

    def to_items(self, table_shard: int = 0) -> dict:
        """This day's figures as one shard's item (what a rebuild writes)."""
        item = {"user_id": {"S": shard_key(table_shard)}, "order_id": {"S": day_key(self.day)},
                "orders": {"N": str(self.orders)}, "revenue": {"N": str(self.revenue)},
                "cancelled": {"N": str(self.cancelled)}, "new_customers": {"N": str(self.new_customers)}}
        for prefix, counter in (("pizza", self.pizzas), ("size", self.sizes), ("hour", self.hours)):
            for key, count in counter.items():
                item[f"{prefix}:{key}"] = {"N": str(count)}
        return item

    def count(self, total: Decimal, pizza: str, size: str, hour: int, *, cancelled: bool, first: bool) -> None:
        """Count one order the way the transactions do (placed, then maybe taken out again)."""
        if cancelled:
            self.cancelled += 1
            return
        self.orders += 1
        self.revenue += total
        self.pizzas[pizza] += 1
        self.sizes[size] += 1
        self.hours[f"{hour:02d}"] += 1
        self.new_customers += 1 if first else 0
