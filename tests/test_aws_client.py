"""The app's boto3 client (its lean parser) reads exactly what a stock boto3 client reads, only cheaper.

The direct path for the hot calls is compared with a stock client in test_direct.py.
"""

import boto3
import pytest
from moto import mock_aws

from pizza42.aws import make_boto3_client
from pizza42.config import load_settings
from pizza42.orders.model import validate_order_request
from pizza42.orders.store import OrderStore
from tests.conftest import TABLE
from tests.dynamo_helpers import put_legacy_order

USER = "auth0|alice"


@pytest.fixture
def clients():
    with mock_aws():
        stock = boto3.client("dynamodb", region_name="us-east-1")
        OrderStore(stock, TABLE).create_table()
        settings = load_settings({"SECRET_KEY": "x" * 20, "AUTH0_ISSUER": "https://tenant.test/",
                                  "AUTH0_CLIENT_ID": "a", "AUTH0_CLIENT_SECRET": "b"})
        yield stock, make_boto3_client(settings)


def _query(client, **extra):
    return client.query(TableName=TABLE, KeyConditionExpression="user_id = :u",
                        ExpressionAttributeValues={":u": {"S": USER}}, ScanIndexForward=False, **extra)


def test_query_results_equal_a_stock_clients(clients):
    stock, lean = clients
    store = OrderStore(stock, TABLE)
    for pizza in ("Supreme", "Hawaiian"):
        store.place(USER, "a@example.com", validate_order_request({"pizza": pizza, "size": "large"}), pizza)
    put_legacy_order(stock, USER, 1640995200000)
    expected, got = _query(stock, Limit=2), _query(lean, Limit=2)
    assert got["Items"] == expected["Items"]
    assert got["LastEvaluatedKey"] == expected["LastEvaluatedKey"]
    assert got["Count"] == expected["Count"] == 2


def test_the_store_on_the_lean_client_reads_the_summary_and_orders(clients):
    stock, lean = clients
    OrderStore(stock, TABLE).place(USER, None, validate_order_request({"pizza": "Supreme", "size": "small"}))
    page = OrderStore(lean, TABLE).page(USER, 10)
    assert page.summary.total_orders == 1 and page.orders[0].pizza == "Supreme"


def test_errors_still_parse_into_client_errors(clients):
    _, lean = clients
    with pytest.raises(lean.exceptions.ResourceNotFoundException):
        lean.describe_table(TableName="nope")


def test_transaction_cancellations_are_understood_on_the_lean_client(clients):
    _, lean = clients
    store = OrderStore(lean, TABLE)
    first, _ = store.place(USER, None, validate_order_request({"pizza": "Supreme", "size": "small"}), "k")
    again, created = store.place(USER, None, validate_order_request({"pizza": "Supreme", "size": "small"}), "k")
    assert (again, created) == (first, False)
