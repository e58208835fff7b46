"""ShopStore: the shop's reads across customers, from the orders table's indexes and kept figures (never a Scan)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta

from pizza42 import dynamodb
from pizza42.orders import figures
from pizza42.orders import items as layout
from pizza42.orders.errors import InvalidCursor, StorageUnavailable
from pizza42.orders.figures import DayFigures, ShopTime
from pizza42.orders.ids import is_order_id
from pizza42.orders.model import Order
from pizza42.orders.store import DAY_INDEX, OPEN_INDEX


@dataclass(frozen=True)
class Board:
    """The kitchen's open orders, oldest first, and a tag that changes whenever any of them changes."""

    orders: list[Order]
    etag: str


@dataclass(frozen=True)
class DayPage:
    """One page of a shop-local day's orders (every status), oldest first."""

    day: str
    orders: list[Order]
    next_cursor: str | None


def _board_etag(orders: list[Order]) -> str:
    """Changes when an order joins or leaves the board or moves on; the same board gives the same tag."""
    digest = hashlib.sha256()
    for order in orders:
        digest.update(f"{order.order_id}:{order.status}:{order.status_at or ''};".encode())
    return digest.hexdigest()[:32]


def encode_day_cursor(user_id: str, order_id: str) -> str:
    """An opaque cursor for "the day's orders after this one" (the index needs the whole key)."""
    return base64.urlsafe_b64encode(json.dumps([user_id, order_id]).encode()).decode().rstrip("=")


def decode_day_cursor(cursor: str) -> tuple[str, str]:
    """The (user_id, order_id) inside a day cursor; InvalidCursor for anything this app did not hand out."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidCursor(cursor) from None
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value)
            or not is_order_id(value[1]) or encode_day_cursor(*value) != cursor):
        raise InvalidCursor(cursor)
    return value[0], value[1]


class ShopStore:
    """Reads the kitchen's queue (open-orders index), a day's orders (by-day index) and the kept figures."""

    def __init__(self, client: object, table_name: str, *, shop_time: ShopTime | None = None) -> None:
        self._client = client
        self.table_name = table_name
        self.shop_time = shop_time or ShopTime()

    def _query(self, **params: object) -> dict:
        return dynamodb.call(self._client, self.table_name, "query", params, unavailable=StorageUnavailable)

    def board(self) -> Board:
        """Every open order, oldest first: one Query (more only past DynamoDB's 1 MB page)."""
        params: dict = {"IndexName": OPEN_INDEX, "KeyConditionExpression": "queue = :open",
                        "ExpressionAttributeValues": {":open": {"S": layout.OPEN_QUEUE}}}
        orders: list[Order] = []
        while True:
            response = self._query(**params)
            orders.extend(layout.order_from_item(item) for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                return Board(orders, _board_etag(orders))
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def day(self, day: date, limit: int, cursor: str | None = None) -> DayPage:
        """One page of the orders placed on a shop-local day, in every status, oldest first."""
        shop_day = day.isoformat()
        params: dict = {"IndexName": DAY_INDEX, "KeyConditionExpression": "shop_day = :day",
                        "ExpressionAttributeValues": {":day": {"S": shop_day}}, "Limit": limit}
        if cursor:
            user_id, order_id = decode_day_cursor(cursor)
            # The day is always the one asked for: a cursor can only move within it.
            params["ExclusiveStartKey"] = {"shop_day": {"S": shop_day}, **layout.key(user_id, order_id)}
        response = self._query(**params)
        orders = [layout.order_from_item(item) for item in response["Items"]]
        last = response.get("LastEvaluatedKey")
        next_cursor = encode_day_cursor(last["user_id"]["S"], last["order_id"]["S"]) if last and orders else None
        return DayPage(shop_day, orders, next_cursor)

    def day_figures(self, first: date, last: date) -> list[DayFigures]:
        """The kept figures of every day from `first` to `last` (inclusive): one Query per shard."""
        days = {(first + timedelta(days=n)).isoformat(): None for n in range((last - first).days + 1)}
        result = {day: DayFigures(day) for day in days}
        for shard in range(figures.SHARDS):
            params: dict = {
                "KeyConditionExpression": "user_id = :shard AND order_id BETWEEN :first AND :last",
                "ExpressionAttributeValues": {":shard": {"S": figures.shard_key(shard)},
                                              ":first": {"S": figures.day_key(first.isoformat())},
                                              ":last": {"S": figures.day_key(last.isoformat())}},
            }
            while True:
                response = self._query(**params)
                for item in response["Items"]:
                    day = item["order_id"]["S"].removeprefix(figures.DAY_PREFIX)
                    if day in result:
                        result[day].add_item(item)
                if "LastEvaluatedKey" not in response:
                    break
                params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return list(result.values())
