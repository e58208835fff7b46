"""The operator's commands on the orders table: backfill the shop's index keys, rebuild the shop's figures.

Both read the whole table (a Scan): they run from the admin's shell, never while serving a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from pizza42.orders import figures, lifecycle
from pizza42.orders import items as layout
from pizza42.orders.figures import DayFigures
from pizza42.orders.ids import PREFIX
from pizza42.orders.model import Order, now_iso
from pizza42.orders.store import OrderStore

BACKFILL_BY = "backfill"  # who a history entry written by the backfill names


def order_items(store: OrderStore) -> Iterator[dict]:
    """Every order item in the table (not summaries, idempotency records or the shop's figures)."""
    for item in store.scan():
        if item["order_id"]["S"].startswith(PREFIX) and not figures.is_shop_partition(item["user_id"]["S"]):
            yield item


@dataclass
class BackfillResult:
    """What the backfill did."""

    filed: int = 0  # orders given their shop-local day
    queued: int = 0  # of which still open: on the kitchen's board
    completed: int = 0  # of which older than the cut-off: marked completed (served before the board existed)
    refiled: int = 0  # orders filed under another day than SHOP_TIMEZONE gives them now (the zone was changed)


def backfill_shop_keys(store: OrderStore, now: float, keep_open_seconds: int) -> BackfillResult:
    """Give orders placed before the kitchen existed their index keys (`shop_day`, and `queue` if still open).

    An order without a status, or `confirmed`, placed within `keep_open_seconds` joins the kitchen's queue;
    an older one was served long ago, so it is marked completed (with a history entry by "backfill")
    rather than flooding the board. An order filed under another day than the shop's time zone gives it now
    (SHOP_TIMEZONE was changed) is moved to its day, nothing else; the rest is left alone: safe to run twice.
    """
    result = BackfillResult()
    cutoff = f"{PREFIX}{int((now - keep_open_seconds) * 1000):013d}"
    stamp = now_iso(datetime.fromtimestamp(now, UTC))
    for item in order_items(store):
        day, _ = store.shop_time.of_order(item["order_id"]["S"])
        if "shop_day" in item:
            result.refiled += _refile(store, item, day)
            continue
        order = layout.order_from_item(item)
        still_open = lifecycle.is_open(order.status) and order.order_id >= cutoff
        update = "SET shop_day = :day, #status = :status"
        values = {":day": {"S": day}, ":status": {"S": order.status}}
        if still_open:
            update += ", queue = :open"
            values[":open"] = {"S": layout.OPEN_QUEUE}
        elif lifecycle.is_open(order.status):
            change = lifecycle.StatusChange(lifecycle.COMPLETED, stamp, BACKFILL_BY)
            update += ", status_at = :at, history = list_append(if_not_exists(history, :none), :change)"
            values.update({":status": {"S": lifecycle.COMPLETED}, ":at": {"S": stamp}, ":none": {"L": []},
                           ":change": {"L": [layout.change_to_value(change)]}})
        # Only if nobody has filed it meanwhile (an order placed now carries its day from the start).
        try:
            store.write("update_item", Key=layout.key(order.user_id, order.order_id), UpdateExpression=update,
                        ConditionExpression="attribute_exists(order_id) AND attribute_not_exists(shop_day)",
                        ExpressionAttributeNames={"#status": "status"}, ExpressionAttributeValues=values)
        except ClientError:
            continue  # filed meanwhile (or deleted): nothing to do
        result.filed += 1
        result.queued += still_open
        result.completed += values[":status"]["S"] != order.status
    return result


def _refile(store: OrderStore, item: dict, day: str) -> bool:
    """Move a filed order to `day` if it is filed under another; whether it moved."""
    if item["shop_day"]["S"] == day:
        return False
    try:
        store.write("update_item", Key={"user_id": item["user_id"], "order_id": item["order_id"]},
                    UpdateExpression="SET shop_day = :day", ConditionExpression="shop_day = :was",
                    ExpressionAttributeValues={":day": {"S": day}, ":was": item["shop_day"]})
    except ClientError:
        return False  # changed (or deleted) meanwhile
    return True


@dataclass
class _Customer:
    first_flagged: str | None = None
    earliest: str | None = None
    orders: list[tuple[Order, str, int]] = field(default_factory=list)  # (order, its day, its hour)


def figures_from_orders(store: OrderStore) -> dict[str, DayFigures]:
    """The shop's figures per shop-local day, counted from the orders themselves (what the kept ones must equal).

    A customer's first order is the one their transaction marked first or, for customers who ordered only
    before the marks existed, their earliest order.
    """
    customers: dict[str, _Customer] = {}
    for item in order_items(store):
        order = layout.order_from_item(item)
        customer = customers.setdefault(order.user_id, _Customer())
        day, hour = store.shop_time.of_order(order.order_id)
        customer.orders.append((order, item.get("shop_day", {}).get("S") or day, hour))  # the day it is filed under
        if layout.is_first_order(item):
            customer.first_flagged = order.order_id
        if customer.earliest is None or order.order_id < customer.earliest:
            customer.earliest = order.order_id
    days: dict[str, DayFigures] = {}
    for customer in customers.values():
        first = customer.first_flagged or customer.earliest
        for order, day, hour in customer.orders:
            days.setdefault(day, DayFigures(day)).count(
                order.total, order.pizza, order.size, hour,
                cancelled=order.status == lifecycle.CANCELLED, first=order.order_id == first)
    return days


def rebuild_figures(store: OrderStore) -> int:
    """Replace the kept figures of every day by the count from the orders; how many days were written.

    Each day's count goes into shard 0 and its other shards are zeroed. Orders placed or cancelled while
    it runs may be missed or counted twice: run it at a quiet moment (the figures are otherwise exact).
    """
    counted = figures_from_orders(store)
    kept = {(int(item["user_id"]["S"].removeprefix(figures.SHARD_PREFIX)),
             item["order_id"]["S"].removeprefix(figures.DAY_PREFIX))
            for item in store.scan() if figures.is_shop_partition(item["user_id"]["S"])}
    for shard, day in sorted(kept):
        if shard != 0 or day not in counted:
            store.write("put_item", Item=DayFigures(day).to_items(shard))
    for day_figures in counted.values():
        store.write("put_item", Item=day_figures.to_items(0))
    return len(counted)
