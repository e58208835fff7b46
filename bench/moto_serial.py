"""moto's DynamoDB server for the POST benchmark: `python -m bench.moto_serial PORT`.

Two changes to how moto runs, neither to what it answers:
- Requests are serialised. moto is not thread-safe: under concurrent TransactWriteItems its threaded
  server answers 500 ("dictionary changed size during iteration"), the SDK retries, and the DynamoDB
  request count per call rises for reasons that are moto's. moto uses one core anyway (the GIL).
- A transaction's rollback snapshot holds the items it touches, not a deep copy of every table it
  names (moto makes one per transaction item): that copy makes each order cost O(table size), so
  throughput would fall as the benchmark's own orders pile up. A cancelled transaction still
  leaves every item as it was (checked by `python -m bench.moto_serial --self-test`).
"""

from __future__ import annotations

import copy
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class _CopyExceptTables:
    """The `copy` module as moto's DynamoDB backend sees it: tables are snapshotted by the wrapper below."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        """Deep-copy anything but a whole table."""
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_original_transact = DynamoDBBackend.transact_write_items


def _transact_with_item_snapshot(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems, rolled back item by item from a snapshot of the touched items."""
    before = []
    for entry in transact_items:
        op = next(iter(entry.values()))
        try:
            table = self.get_table(op["TableName"])
            names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
            key = op.get("Key") or {name: op["Item"][name] for name in names}
            current = self.get_item(op["TableName"], key)
        except Exception:  # noqa: S112 (an invalid request: moto reports it itself, below)
            continue
        before.append((op["TableName"], key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
    try:
        _original_transact(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(before):
            if attributes is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise


def install() -> None:
    """Apply the rollback change to moto's DynamoDB backend (this process only)."""
    dynamodb_models.copy = _CopyExceptTables
    DynamoDBBackend.transact_write_items = _transact_with_item_snapshot


_lock = threading.Lock()


def serialised(app: Callable) -> Callable:
    """A WSGI app running `app` for one request at a time (keep-alive connections still work)."""

    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        with _lock:
            return list(app(environ, start_response))

    return wsgi


def _self_test() -> None:
    """A cancelled transaction leaves the items it touched as they were, nested maps included."""
    import boto3
    from moto import mock_aws

    from bench import seed

    with mock_aws():
        install()
        db = boto3.client("dynamodb", region_name="us-east-1")
        seed.create_table(db)
        summary = {"user_id": {"S": "u"}, "order_id": {"S": "~profile"}, "total_orders": {"N": "1"},
                   "pizza_counts": {"M": {"Margherita": {"N": "2"}}}}
        existing = {"user_id": {"S": "u"}, "order_id": {"S": "order_0"}}
        db.put_item(TableName=seed.TABLE, Item=summary)
        db.put_item(TableName=seed.TABLE, Item=existing)
        try:
            db.transact_write_items(TransactItems=[
                {"Update": {"TableName": seed.TABLE, "Key": {"user_id": {"S": "u"}, "order_id": {"S": "~profile"}},
                            "UpdateExpression": "ADD total_orders :one, pizza_counts.Margherita :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                {"Put": {"TableName": seed.TABLE, "Item": {"user_id": {"S": "u"}, "order_id": {"S": "order_1"}}}},
                {"Put": {"TableName": seed.TABLE, "Item": existing,
                         "ConditionExpression": "attribute_not_exists(order_id)"}}])
            raise AssertionError("the transaction should have been cancelled")
        except db.exceptions.TransactionCanceledException:
            pass
        items = sorted(db.scan(TableName=seed.TABLE)["Items"], key=lambda item: item["order_id"]["S"])
        assert items == [existing, summary], items
    print("moto rollback self-test passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        _self_test()
        sys.exit(0)
    install()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: emulator CPU, not ours
    run_simple("127.0.0.1", int(sys.argv[1]), serialised(DomainDispatcherApplication(create_backend_app)),
               threaded=True)
