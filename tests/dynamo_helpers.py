"""Helpers for store tests: count DynamoDB requests, serialise moto, fail on demand, write legacy items."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import EndpointConnectionError


class CountingClient:
    """Wraps a boto3 client: counts each DynamoDB operation called, optionally serialising them.

    moto is not thread-safe, so concurrency tests serialise the calls that reach it: the test then
    measures the store's own races (read-modify-write, lost updates), not moto's.
    """

    def __init__(self, client, *, serialise: bool = False) -> None:
        self._client = client
        self._lock = threading.Lock() if serialise else None
        self.calls: Counter[str] = Counter()
        self.tables: Counter[str] = Counter()  # calls per table (a transaction counts for each table it names)
        self.requests: list[tuple[str, dict]] = []  # each call's operation and parameters, in order

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_waiter") or name == "meta":
            return attribute

        def call(*args, **kwargs):
            self.calls[name] += 1
            self.requests.append((name, kwargs))
            for table in _tables_named(kwargs):
                self.tables[table] += 1
            if self._lock is None:
                return attribute(*args, **kwargs)
            with self._lock:
                return attribute(*args, **kwargs)

        return call


def _tables_named(params: dict) -> set[str]:
    if "TableName" in params:
        return {params["TableName"]}
    return {action["TableName"] for item in params.get("TransactItems", []) for action in item.values()}


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


class FaultyClient:
    """Wraps a boto3 client: while `down`, every call fails as an unreachable endpoint does; while
    `writes_down`, only writes do (reads still answer: an outage that starts mid-request)."""

    WRITES = frozenset({"put_item", "update_item", "delete_item", "transact_write_items"})

    def __init__(self, client) -> None:
        self._client = client
        self.down = False
        self.writes_down = False

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_waiter") or name == "meta":
            return attribute

        def call(*args, **kwargs):
            if self.down or (self.writes_down and name in self.WRITES):
                raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
            return attribute(*args, **kwargs)

        return call


@contextmanager
def moto_http_server() -> Iterator[str]:
    """moto's DynamoDB over real HTTP on a free loopback port (its URL), serving the in-process mock's tables."""
    from moto.server import ThreadedMotoServer

    from tests.integration.harness import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
