"""Helpers for store tests: count DynamoDB requests, serialise moto, write legacy items."""

from __future__ import annotations

import threading
from collections import Counter


class CountingClient:
    """Wraps a boto3 client: counts each DynamoDB operation called, optionally serialising them.

    moto is not thread-safe, so concurrency tests serialise the calls that reach it: the test then
    measures the store's own races (read-modify-write, lost updates), not moto's.
    """

    def __init__(self, client, *, serialise: bool = False) -> None:
        self._client = client
        self._lock = threading.Lock() if serialise else None
        self.calls: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_waiter") or name == "meta":
            return attribute

        def call(*args, **kwargs):
            self.calls[name] += 1
            if self._lock is None:
                return attribute(*args, **kwargs)
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def put_legacy_order(client, user_id: str, millis: int, *, pizza="Margherita", size="medium", total="16.99",
                     created_at: str | None = "2025-01-01T12:00:00Z", table="Pizza42-Orders") -> str:
    """An order as the original Express backend wrote it: no quantity, no unit price, total a number."""
    order_id = f"order_{millis}"
    item = {"user_id": {"S": user_id}, "order_id": {"S": order_id}, "pizza": {"S": pizza}, "size": {"S": size},
            "total": {"N": total}, "user_email": {"S": "legacy@example.com"}, "status": {"S": "confirmed"}}
    if created_at is not None:
        item["created_at"] = {"S": created_at}
    client.put_item(TableName=table, Item=item)
    return order_id
