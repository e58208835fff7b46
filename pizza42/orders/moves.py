"""Moving an order through its lifecycle (lifecycle.py's table), as OrderStore's methods: one conditional write
on the status the order has now, its history and audit line, and for a cancellation the customer's summary and
the shop's figures in the same transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from pizza42.orders import figures, lifecycle
from pizza42.orders import items as layout
from pizza42.orders.errors import OrderNotFound, StatusConflict, UnknownStatus
from pizza42.orders.ids import PREFIX, is_order_id, order_id_millis
from pizza42.orders.model import Order, now_iso
from pizza42.orders.profile import month_of

audit_log = logging.getLogger("pizza42.audit")


class StatusMoves:
    """The lifecycle half of OrderStore (which provides _call, _get_item, table_name, shop_time and _clock)."""

    table_name: str
    shop_time: figures.ShopTime
    _clock: Callable[[], float]
    _call: Callable[..., dict]
    _get_item: Callable[[str, str], dict | None]

    def locate(self, order_id: str) -> str:
        """The customer an order belongs to, by its id alone (staff address orders by id); OrderNotFound.

        The shop-local day is part of the id (its millisecond), so one Query of the day index finds it; the
        days either side are tried too, for orders filed before SHOP_TIMEZONE was changed.
        """
        millis = order_id_millis(order_id)
        if millis is None:
            raise OrderNotFound(order_id)
        day = self.shop_time.local(millis).date()
        for candidate in (day, day - timedelta(days=1), day + timedelta(days=1)):
            response = self._call("query", IndexName=layout.DAY_INDEX, ProjectionExpression="user_id",
                                  KeyConditionExpression="shop_day = :day AND order_id = :id",
                                  ExpressionAttributeValues={":day": {"S": candidate.isoformat()},
                                                             ":id": {"S": order_id}})
            if response["Items"]:
                return response["Items"][0]["user_id"]["S"]
        raise OrderNotFound(order_id)

    def change_status(self, user_id: str, order_id: str, target: str, *, actor: str, by: str,
                      cancel_window_seconds: int | None = None) -> Order:
        """Move one order to `target` as `actor` (lifecycle.STAFF or CUSTOMER); return the order as it is now.

        One conditional write on the status the order has now: of two people moving it at once, one wins
        and the other gets StatusConflict with the status it has since; nothing changes twice. A
        cancellation also takes the order out of its customer's summary and the shop's figures, in the
        same transaction. A customer may cancel only within `cancel_window_seconds` of placing it.
        """
        if target not in lifecycle.STATUSES:
            raise UnknownStatus(target)
        order, item = self._get_order_and_item(user_id, order_id)
        if not lifecycle.may_move(order.status, target, actor):
            raise StatusConflict(order.status, _refusal(order.status, target, actor))
        now = self._clock()
        change = lifecycle.StatusChange(target, now_iso(datetime.fromtimestamp(now, UTC)), by)
        condition, values = _on_status(order.status)
        if cancel_window_seconds is not None:
            # The window is part of the write's condition too: it cannot close between our check and the write.
            cutoff = f"{PREFIX}{int((now - cancel_window_seconds) * 1000):013d}"
            if order_id < cutoff:
                raise StatusConflict(order.status, "The time to cancel this order has passed.")
            condition += " AND order_id >= :cutoff"
            values[":cutoff"] = {"S": cutoff}
        update = {
            "TableName": self.table_name, "Key": layout.key(user_id, order_id),
            "UpdateExpression": "SET #status = :to, status_at = :at, "
                                "history = list_append(if_not_exists(history, :none), :change)"
                                + ("" if lifecycle.is_open(target) else " REMOVE queue"),  # off the board
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {**values, ":to": {"S": target}, ":at": {"S": change.at},
                                          ":none": {"L": []}, ":change": {"L": [layout.change_to_value(change)]}},
        }
        try:
            if target == lifecycle.CANCELLED:
                self._call("transact_write_items", TransactItems=[{"Update": update},
                                                                   *self._cancellation(order, item)])
            else:
                self._call("update_item", **{k: v for k, v in update.items() if k != "TableName"})
        except ClientError:
            # Someone else moved it first (or the window closed): report what it is now.
            now_status = self._get_order_and_item(user_id, order_id)[0].status
            raise StatusConflict(now_status, _refusal(now_status, target, actor)) from None
        audit_log.info("order status changed", extra={"fields": {
            "order_id": order_id, "from": order.status, "to": target, "by": by, "actor": actor}})
        return order._replace(status=target, status_at=change.at, changes=(*order.changes, change))

    def _get_order_and_item(self, user_id: str, order_id: str) -> tuple[Order, dict]:
        item = self._get_item(user_id, order_id) if is_order_id(order_id) else None
        if item is None:
            raise OrderNotFound(order_id)
        return layout.order_from_item(item), item

    def _cancellation(self, order: Order, item: dict) -> list[dict]:
        """Take a cancelled order out of its customer's summary and its day's figures."""
        refund = {"N": str(-order.total)}
        minus_qty = {"N": str(-order.quantity)}
        day, hour = self.shop_time.of_order(order.order_id)
        day = item.get("shop_day", {}).get("S", day)  # the day it was counted under
        return [
            {"Update": {
                "TableName": self.table_name, "Key": layout.key(order.user_id, layout.SUMMARY_KEY),
                "UpdateExpression": "ADD total_orders :minus, total_spent :refund, pizza_counts.#pizza :qty, "
                                    "size_counts.#size :qty, monthly_spend.#month :refund, changes :one",
                # Only a summary that counted the order can give it back (every order is counted in one).
                "ConditionExpression": "attribute_exists(total_orders)",
                "ExpressionAttributeNames": {"#pizza": order.pizza, "#size": order.size,
                                             "#month": month_of(order.created_at)},
                "ExpressionAttributeValues": {":minus": {"N": "-1"}, ":one": {"N": "1"}, ":refund": refund,
                                              ":qty": minus_qty},
            }},
            figures.cancelled_update(self.table_name, day, order.pizza, order.size, hour, order.total,
                                     first=layout.is_first_order(item)),
        ]


def _on_status(current: str) -> tuple[str, dict]:
    """The condition "the order's status is still `current`" (a legacy order without one reads as confirmed)."""
    values = {":from": {"S": current}}
    if current == lifecycle.CONFIRMED:
        return "(#status = :from OR attribute_not_exists(#status))", values
    return "#status = :from", values


def _refusal(current: str, target: str, actor: str) -> str:
    """Why a move is refused, in words for whoever asked."""
    if current in (lifecycle.COMPLETED, lifecycle.CANCELLED):
        return f"This order is already {current}."
    if target == lifecycle.CANCELLED and actor == lifecycle.CUSTOMER:
        return f"The kitchen has already started on this order (it is {current}); it can no longer be cancelled."
    return f"An order that is {current} cannot be moved to {target}."
