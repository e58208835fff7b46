"""OrderStore: every DynamoDB call the app makes, with its conditions and its failure modes."""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from pizza42 import dynamodb
from pizza42.orders import figures
from pizza42.orders import items as layout
from pizza42.orders.errors import (
    IdempotencyKeyReused,
    OrderNotFound,
    StorageUnavailable,
)
from pizza42.orders.ids import is_order_id, new_order_id, order_id_millis
from pizza42.orders.model import Order, OrderRequest, now_iso
from pizza42.orders.moves import StatusMoves
from pizza42.orders.profile import Summary, month_of

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL_SECONDS = 24 * 3600
TTL_ATTRIBUTE = "expires_at"
OPEN_INDEX, DAY_INDEX = layout.OPEN_INDEX, layout.DAY_INDEX  # the shop's two indexes (items.py)


def orders_table_definition(table_name: str) -> dict:
    """Keys and indexes of the orders table (billing and TTL are added by create_table_once)."""
    return {
        "TableName": table_name,
        "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"},
                      {"AttributeName": "order_id", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"}
                                 for name in ("user_id", "order_id", "queue", "shop_day")],
        "GlobalSecondaryIndexes": [
            {"IndexName": OPEN_INDEX,
             "KeySchema": [{"AttributeName": "queue", "KeyType": "HASH"},
                           {"AttributeName": "order_id", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},  # the board shows whole orders from one Query
            {"IndexName": DAY_INDEX,
             "KeySchema": [{"AttributeName": "shop_day", "KeyType": "HASH"},
                           {"AttributeName": "order_id", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},  # the day view and its CSV, one Query a page
        ],
    }
# Conditions the store itself inspects (a replay, a missing summary, a contended transaction).
_CONDITION_FAILURES = frozenset({dynamodb.CONDITION_FAILED, dynamodb.TRANSACTION_CANCELLED})
_MAX_WRITE_ATTEMPTS = 8


@dataclass(frozen=True)
class OrderPage:
    """One page of a customer's orders, newest first; `summary` only on the first page."""

    orders: list[Order]
    next_order_id: str | None
    summary: Summary | None


def _orders_and_summary(user_id: str) -> dict:
    """The key condition for one customer's orders and summary (never their idempotency records)."""
    return {"KeyConditionExpression": "user_id = :u AND order_id BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":u": {"S": user_id}, ":lo": {"S": layout.ORDERS_FROM},
                                          ":hi": {"S": layout.SUMMARY_KEY}}}


class OrderStore(StatusMoves):
    """Orders and customer summaries in one DynamoDB table (layout in items.py); status moves in moves.py."""

    def __init__(self, client: object, table_name: str, *, clock: Callable[[], float] = time.time,
                 shop_time: figures.ShopTime | None = None) -> None:
        self._client = client
        self.table_name = table_name
        self._clock = clock
        self.shop_time = shop_time or figures.ShopTime()

    def _call(self, operation: str, **params: object) -> dict:
        """Call DynamoDB; anything but a condition failure (or our own bug) becomes StorageUnavailable."""
        return dynamodb.call(self._client, self.table_name, operation, params, unavailable=StorageUnavailable,
                             expected=_CONDITION_FAILURES)

    # -- administration ---------------------------------------------------------------------

    def table_definition(self) -> dict:
        """The orders table as create-table makes it (the CloudFormation template is tested against this)."""
        return orders_table_definition(self.table_name)

    def create_table(self) -> bool:
        """Create the table (on-demand, TTL on idempotency records, the shop's indexes); False if it exists.

        On an existing table, add any of the shop's indexes it lacks (a table made before the kitchen existed).
        """
        definition = self.table_definition()
        created = dynamodb.create_table_once(self._client, definition, ttl_attribute=TTL_ATTRIBUTE)
        if not created:
            dynamodb.add_missing_indexes(self._client, definition)
        return created

    def ping(self) -> None:
        """Readiness: the table is reachable (raises StorageUnavailable if not)."""
        self._call("describe_table")

    # -- writes ----------------------------------------------------------------------------

    def place(self, user_id: str, email: str | None, request: OrderRequest,
              idempotency_key: str | None = None, name: str | None = None) -> tuple[Order, bool]:
        """Store a new order and count it in the summary and the shop's figures, atomically; (order, created).

        With an idempotency key, a retry of the same request returns the first order
        (created=False) and a different request under the same key raises IdempotencyKeyReused.
        """
        idem_key = (layout.IDEMPOTENCY_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()
                    if idempotency_key else None)
        first = False  # whether this is the customer's first order ever (known once the summary says so)
        for attempt in range(_MAX_WRITE_ATTEMPTS):
            order_id = new_order_id()
            # One instant for the id, the timestamp and the shop's day: they can never disagree.
            millis = order_id_millis(order_id) or 0
            order = Order(user_id=user_id, order_id=order_id, pizza=request.pizza, size=request.size,
                          quantity=request.quantity, unit_price=request.unit_price, total=request.total,
                          created_at=now_iso(datetime.fromtimestamp(millis / 1000, UTC)), user_email=email,
                          customer_name=name)
            try:
                self._call("transact_write_items", **self._order_transaction(order, millis, idem_key, request, first))
                return order, True
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                # This attempt's order id exists: only this very transaction can have written it (ids are
                # unique), so an SDK retry was refused after the first send had in fact succeeded. It is the
                # order this request created, whatever the idempotency record now says (it is this one's too).
                mine = self._get_order(user_id, order.order_id)
                if mine is not None and mine.created_at == order.created_at and mine.pizza == order.pizza:
                    return mine, True
                continue  # an id taken by someone else (never seen): a new attempt makes a new id
            if idem_key and len(reasons) > 3 and reasons[3] == "ConditionalCheckFailed":
                return self._replay(user_id, idem_key, request), False
            if reasons[1:2] == ["ConditionalCheckFailed"]:
                # No summary yet, or its "first order" state is not what we assumed: build or read it, retry.
                first = self.ensure_summary(user_id).first_order is None
            elif any(r in ("TransactionConflict", "ThrottlingError") for r in reasons):
                # Concurrent orders contend for a summary or a shard of the figures; back off and retry.
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 (jitter, not crypto)
            else:
                log.warning("order transaction cancelled: %s", reasons)
                raise StorageUnavailable("transact_write_items")
        raise StorageUnavailable("transact_write_items: too much contention")

    def _order_transaction(self, order: Order, millis: int, idem_key: str | None, request: OrderRequest,
                           first: bool) -> dict:
        day, hour = self.shop_time.day_and_hour(millis)
        transaction = [
            # Never overwrite an order: ids are unique, and this makes sure of it.
            {"Put": {"TableName": self.table_name, "Item": layout.order_to_item(order, day, first=first),
                     "ConditionExpression": "attribute_not_exists(order_id)"}},
            # Count the order in the summary in the same transaction, so the profile never drifts.
            # The summary must exist (it is built from the history first), else an old customer's
            # summary would start counting from zero; and it must agree on whether the customer has
            # ordered before (first_order), so that exactly one order of theirs counts as their first.
            {"Update": {
                "TableName": self.table_name, "Key": layout.key(order.user_id, layout.SUMMARY_KEY),
                "UpdateExpression": "ADD total_orders :one, total_spent :total, pizza_counts.#pizza :qty, "
                                    "size_counts.#size :qty, monthly_spend.#month :total, changes :one "
                                    "SET last_order = :at, first_order = if_not_exists(first_order, :at)",
                "ConditionExpression": ("attribute_exists(total_orders) AND attribute_not_exists(first_order)"
                                        if first else "attribute_exists(first_order)"),
                "ExpressionAttributeNames": {"#pizza": order.pizza, "#size": order.size,
                                             "#month": month_of(order.created_at)},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":total": {"N": str(order.total)},
                                              ":qty": {"N": str(order.quantity)}, ":at": {"S": order.created_at}},
            }},
            # The shop's figures for the day, in the same transaction: exact, never recounted.
            figures.placed_update(self.table_name, day, order.pizza, order.size, hour, order.total, first=first),
        ]
        if idem_key:
            now = int(self._clock())
            transaction.append({"Put": {
                "TableName": self.table_name,
                "Item": {**layout.key(order.user_id, idem_key), "request": {"S": request.fingerprint()},
                         "ref": {"S": order.order_id}, "expires_at": {"N": str(now + IDEMPOTENCY_TTL_SECONDS)}},
                # A key is used once per day; an expired record (TTL deletes lazily) may be reused.
                "ConditionExpression": "attribute_not_exists(order_id) OR expires_at < :now",
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }})
        # The same token on the client's own retries makes DynamoDB run the transaction once. The order id
        # is that token: unique to this transaction (a new attempt of place() makes a new id), and at 30
        # characters within the token's 36.
        return {"TransactItems": transaction, "ClientRequestToken": order.order_id}

    def _replay(self, user_id: str, idem_key: str, request: OrderRequest) -> Order:
        record = self._call("get_item", Key=layout.key(user_id, idem_key), ConsistentRead=True).get("Item")
        if record is None or record["request"]["S"] != request.fingerprint():
            raise IdempotencyKeyReused()
        order = self._get_order(user_id, record["ref"]["S"])
        if order is None:  # cannot happen: both were written in one transaction
            raise StorageUnavailable("idempotency record without its order")
        return order

    # -- reads -----------------------------------------------------------------------------

    def _get_item(self, user_id: str, order_id: str) -> dict | None:
        """An order's item, read consistently (the status it has now)."""
        return self._call("get_item", Key=layout.key(user_id, order_id), ConsistentRead=True).get("Item")

    def _get_order(self, user_id: str, order_id: str) -> Order | None:
        item = self._get_item(user_id, order_id)
        return layout.order_from_item(item) if item else None

    def get(self, user_id: str, order_id: str) -> Order:
        """One of the customer's orders; OrderNotFound if there is none with that id."""
        order = self._get_order(user_id, order_id) if is_order_id(order_id) else None
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def page(self, user_id: str, limit: int, after: str | None = None) -> OrderPage:
        """Newest-first orders after the order id `after`; the first page also carries the summary.

        One Query: the summary item sorts above every order, so it arrives first on page one.
        """
        params: dict = {
            **_orders_and_summary(user_id),
            "ScanIndexForward": False,
            "ConsistentRead": True,  # a customer sees the order they just placed
            "Limit": limit + (1 if after else 2),  # +1 to know whether there is more, +1 for the summary
        }
        if after:
            # The partition key is always the caller's: a cursor can only move within it.
            params["ExclusiveStartKey"] = layout.key(user_id, after)
        response = self._call("query", **params)
        raw = response["Items"]
        summary = None
        if not after and raw and raw[0]["order_id"]["S"] == layout.SUMMARY_KEY:
            summary = layout.summary_from_item(raw[0])
            raw = raw[1:]
        orders = [layout.order_from_item(item) for item in raw[:limit]]
        more = len(raw) > limit or "LastEvaluatedKey" in response
        if not after and summary is None:
            summary = self.ensure_summary(user_id) if orders else Summary()
        return OrderPage(orders, orders[-1].order_id if more and orders else None, summary)

    def all_orders(self, user_id: str) -> Iterator[Order]:
        """Every order of one customer, oldest first, across DynamoDB's 1 MB pages."""
        params: dict = {**_orders_and_summary(user_id), "ConsistentRead": True}
        while True:
            response = self._call("query", **params)
            for item in response["Items"]:
                if item["order_id"]["S"] != layout.SUMMARY_KEY:
                    yield layout.order_from_item(item)
            if "LastEvaluatedKey" not in response:
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -- summaries -------------------------------------------------------------------------

    def ensure_summary(self, user_id: str) -> Summary:
        """Build a missing summary from the customer's orders (customers who predate summaries)."""
        summary = Summary.of(self.all_orders(user_id))
        try:
            # Only if still missing: orders can't be written without a summary, so none were missed.
            self._call("put_item", Item=layout.summary_to_item(user_id, summary),
                       ConditionExpression="attribute_not_exists(order_id)")
        except ClientError:
            pass  # built concurrently by another request: same orders, same summary
        return summary

    def rebuild_summary(self, user_id: str) -> Summary:
        """Recompute a customer's summary from their orders, safely against concurrent orders."""
        for _ in range(_MAX_WRITE_ATTEMPTS):
            current = self._call("get_item", Key=layout.key(user_id, layout.SUMMARY_KEY),
                                 ConsistentRead=True).get("Item")
            summary = Summary.of(self.all_orders(user_id))
            # Optimistic lock on the summary's change counter (every order and cancellation bumps it): one
            # written while we read makes us start over. Summaries from before the counter lock on the count.
            if current is None:
                condition: dict = {"ConditionExpression": "attribute_not_exists(order_id)"}
            elif "changes" in current:
                condition = {"ConditionExpression": "changes = :seen",
                             "ExpressionAttributeValues": {":seen": current["changes"]}}
                summary.changes = int(current["changes"]["N"]) + 1
            else:
                condition = {"ConditionExpression": "attribute_not_exists(changes) AND total_orders = :seen",
                             "ExpressionAttributeValues": {":seen": current["total_orders"]}}
            try:
                self._call("put_item", Item=layout.summary_to_item(user_id, summary), **condition)
                return summary
            except ClientError:
                continue
        raise StorageUnavailable("rebuild_summary: too much contention")

    def scan(self, **params: object) -> Iterator[dict]:
        """Every item of the table, page by page (a Scan: for the operator's commands only, never serving)."""
        while True:
            response = self._call("scan", **params)
            yield from response["Items"]
            if "LastEvaluatedKey" not in response:
                return
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def write(self, operation: str, **params: object) -> dict:
        """One write of the operator's commands (`put_item`, `update_item`), with the store's error mapping."""
        return self._call(operation, **params)

    def customer_ids(self) -> Iterator[str]:
        """Every customer with anything stored (a Scan: for the admin command only)."""
        seen: set[str] = set()
        for item in self.scan(ProjectionExpression="user_id"):
            user_id = item["user_id"]["S"]
            if user_id not in seen and not figures.is_shop_partition(user_id):
                seen.add(user_id)
                yield user_id
