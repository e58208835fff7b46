"""How orders and summaries are laid out as DynamoDB items (low-level, typed attribute values).

One partition per customer (`user_id`). Its sort keys, in text order:
  `#idem#<sha256>`  idempotency records        ('#' sorts before 'o')
  `order_…`         orders, oldest to newest    (new and legacy ids alike)
  `~profile`        the customer's summary      ('~' sorts after every order id)
so one descending Query over `order_` … `~profile` returns the summary first, then the newest orders.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from pizza42.orders.ids import PREFIX, order_id_millis
from pizza42.orders.lifecycle import StatusChange, is_open
from pizza42.orders.model import STATUS_CONFIRMED, Order, now_iso
from pizza42.orders.profile import Summary

# The shop's two views across customers (never a Scan): the kitchen's queue of open orders (sparse: only
# open orders carry `queue`), and every order by the shop-local day it was placed on (`shop_day`).
OPEN_INDEX = "open-orders"
DAY_INDEX = "by-day"
SUMMARY_KEY = "~profile"
OPEN_QUEUE = "open"  # the one value of `queue`, the open-orders index's key, while an order is open
IDEMPOTENCY_PREFIX = "#idem#"
ORDERS_FROM = PREFIX  # lowest possible order sort key
_ABSENT: dict = {}  # stands for a missing attribute (never written to)
_ZERO = Decimal("0")
_ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")  # exactly what now_iso() writes


def key(user_id: str, sort_key: str) -> dict:
    """The primary key of any item in a customer's partition."""
    return {"user_id": {"S": user_id}, "order_id": {"S": sort_key}}


def order_to_item(order: Order, shop_day: str | None = None, *, first: bool = False) -> dict:
    """An order as a DynamoDB item (money as exact N strings), with its keys in the shop's indexes.

    `queue` puts an open order in the kitchen's index (removed when it completes or is cancelled);
    `shop_day` files it under the shop-local day it was placed; `first` marks a customer's first order.
    """
    item = {
        **key(order.user_id, order.order_id),
        "pizza": {"S": order.pizza},
        "size": {"S": order.size},
        "quantity": {"N": str(order.quantity)},
        "unit_price": {"N": str(order.unit_price)},
        "total": {"N": str(order.total)},
        "created_at": {"S": order.created_at},
        "status": {"S": order.status},
    }
    if order.user_email:
        item["user_email"] = {"S": order.user_email}
    if order.customer_name:
        item["customer_name"] = {"S": order.customer_name}
    if shop_day:
        item["shop_day"] = {"S": shop_day}
    if is_open(order.status):
        item["queue"] = {"S": OPEN_QUEUE}
    if first:
        item["first"] = {"BOOL": True}
    return item


def change_to_value(change: StatusChange) -> dict:
    """One history entry as a DynamoDB map."""
    return {"M": {"status": {"S": change.status}, "at": {"S": change.at}, "by": {"S": change.by}}}


def _changes(attribute: dict | None) -> tuple[StatusChange, ...]:
    if not attribute:
        return ()
    return tuple(StatusChange(entry["M"]["status"]["S"], entry["M"]["at"]["S"], entry["M"]["by"]["S"])
                 for entry in attribute.get("L", ()))


def is_first_order(item: dict) -> bool:
    """Whether the order item was its customer's first order (counted as a new customer)."""
    return item.get("first", _ABSENT).get("BOOL") is True


def _decimal(attribute: dict | None) -> Decimal | None:
    if not attribute:
        return None
    try:
        return Decimal(attribute.get("N") or attribute.get("S") or "")
    except InvalidOperation:
        return None


def _created_at(raw: str | None, order_id: str) -> str:
    """Server-stamped timestamps pass straight through; legacy ones are normalised or derived."""
    if raw and _ISO_Z.match(raw):
        return raw
    if raw:
        try:
            return now_iso(datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC))
        except ValueError:
            pass
    millis = order_id_millis(order_id)
    return now_iso(datetime.fromtimestamp(millis / 1000, UTC)) if millis is not None else "1970-01-01T00:00:00.000Z"


def order_from_item(item: dict) -> Order:
    """Read an order item back, new or written by the original Express backend.

    Legacy items have no `quantity`/`unit_price`, may carry a client-supplied `created_at`,
    and store `total` as a number: they read as one pizza at that total.
    """
    order_id = item["order_id"]["S"]
    quantity_attr = item.get("quantity")
    quantity = int(quantity_attr["N"]) if quantity_attr and "N" in quantity_attr else 1
    total = _decimal(item.get("total")) or _ZERO
    unit_price = _decimal(item.get("unit_price")) or total / quantity
    return Order(
        user_id=item["user_id"]["S"],
        order_id=order_id,
        pizza=item.get("pizza", _ABSENT).get("S", "Unknown"),
        size=item.get("size", _ABSENT).get("S", "unknown"),
        quantity=quantity,
        unit_price=unit_price,
        total=total,
        created_at=_created_at(item.get("created_at", _ABSENT).get("S"), order_id),
        user_email=item.get("user_email", _ABSENT).get("S"),
        status=item.get("status", _ABSENT).get("S", STATUS_CONFIRMED),
        status_at=item.get("status_at", _ABSENT).get("S"),
        changes=_changes(item.get("history")),
        customer_name=item.get("customer_name", _ABSENT).get("S"),
    )


def _counts(attribute: dict | None) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in (attribute or {}).get("M", {}).items()}


def summary_from_item(item: dict) -> Summary:
    """Read a customer's summary item."""
    summary = Summary()
    summary.total_orders = int(item["total_orders"]["N"])
    summary.total_spent = Decimal(item["total_spent"]["N"])
    summary.pizza_counts.update(_counts(item.get("pizza_counts")))
    summary.size_counts.update(_counts(item.get("size_counts")))
    summary.monthly_spend = {
        month: Decimal(value["N"]) for month, value in item.get("monthly_spend", {}).get("M", {}).items()
    }
    summary.changes = int(item.get("changes", {"N": "0"})["N"])
    summary.first_order = item.get("first_order", {}).get("S")
    summary.last_order = item.get("last_order", {}).get("S")
    return summary


def summary_to_item(user_id: str, summary: Summary) -> dict:
    """A summary as a DynamoDB item; every map exists, so order writes can ADD into it."""
    item = {
        **key(user_id, SUMMARY_KEY),
        "total_orders": {"N": str(summary.total_orders)},
        "total_spent": {"N": str(summary.total_spent)},
        "pizza_counts": {"M": {k: {"N": str(v)} for k, v in summary.pizza_counts.items()}},
        "size_counts": {"M": {k: {"N": str(v)} for k, v in summary.size_counts.items()}},
        "monthly_spend": {"M": {k: {"N": str(v)} for k, v in summary.monthly_spend.items()}},
        "changes": {"N": str(summary.changes)},
        "updated_at": {"S": now_iso()},
    }
    for name in ("first_order", "last_order"):
        if getattr(summary, name):
            item[name] = {"S": getattr(summary, name)}
    return item
