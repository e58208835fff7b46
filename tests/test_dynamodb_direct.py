"""The direct DynamoDB path equals the stock boto3 client: the same items, errors and condition outcomes.

Both clients talk to one moto server over real HTTP (the direct path never goes through botocore's
HTTP layer, so moto's in-process mock cannot see it). Faults are in test_dynamodb_direct_faults.py.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pizza42.aws import make_boto3_client, make_dynamodb_client
from pizza42.config import load_settings
from pizza42.dynamodb.direct import DirectDynamoDBClient
from pizza42.dynamodb.wire import SigV4Signer
from pizza42.orders.errors import IdempotencyKeyReused
from pizza42.orders.model import validate_order_request
from pizza42.orders.store import OrderStore
from tests.dynamo_helpers import moto_http_server, put_legacy_order

USER = "auth0|direct"


@pytest.fixture(scope="module")
def moto_url():
    with moto_http_server() as url:
        yield url


@pytest.fixture
def settings(moto_url):
    return load_settings({"SECRET_KEY": "x" * 32, "AUTH0_ISSUER": "https://tenant.test/", "AUTH0_CLIENT_ID": "a",
                          "AUTH0_CLIENT_SECRET": "b", "DYNAMODB_ENDPOINT_URL": moto_url})


@pytest.fixture
def clients(settings):
    """(stock boto3 client, the app's client) on a fresh table of the moto server."""
    stock, direct = make_boto3_client(settings), make_dynamodb_client(settings)
    assert isinstance(direct, DirectDynamoDBClient)
    table = f"Orders-{uuid.uuid4().hex[:8]}"
    OrderStore(stock, table).create_table()
    return stock, direct, table


def _place(store: OrderStore, pizza: str, key: str | None = None, user: str = USER):
    return store.place(user, "d@example.com", validate_order_request({"pizza": pizza, "size": "large"}), key)


def _without_metadata(answer: dict) -> dict:
    return {name: value for name, value in answer.items() if name != "ResponseMetadata"}


def test_everything_but_the_hot_calls_goes_through_the_stock_client(clients):
    _, direct, table = clients
    assert direct.describe_table(TableName=table)["Table"]["TableName"] == table
    assert direct.meta.service_model.service_name == "dynamodb"


def test_behind_an_http_proxy_the_app_keeps_the_stock_client(settings, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert not isinstance(make_dynamodb_client(settings), DirectDynamoDBClient)


def test_queries_answer_exactly_what_the_stock_client_answers(clients):
    stock, direct, table = clients
    store = OrderStore(stock, table)
    for pizza in ("Supreme", "Hawaiian", "Pepperoni"):
        _place(store, pizza)
    put_legacy_order(stock, USER, 1640995200000, table=table)
    base = {"TableName": table, "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": USER}}}
    first = stock.query(**base, Limit=2)
    for extra in ({}, {"ScanIndexForward": False}, {"Limit": 2, "ConsistentRead": True},
                  {"ExclusiveStartKey": first["LastEvaluatedKey"]}, {"ProjectionExpression": "order_id, pizza"}):
        assert _without_metadata(direct.query(**base, **extra)) == _without_metadata(stock.query(**base, **extra))
    assert len(direct.query(**base)["Items"]) == 5  # three orders, the legacy one and the summary


def test_get_item_answers_exactly_what_the_stock_client_answers(clients):
    stock, direct, table = clients
    order, _ = _place(OrderStore(stock, table), "Supreme")
    for sort_key in (order.order_id, "~profile", "order_0000000000000"):
        key = {"user_id": {"S": USER}, "order_id": {"S": sort_key}}
        assert (_without_metadata(direct.get_item(TableName=table, Key=key, ConsistentRead=True))
                == _without_metadata(stock.get_item(TableName=table, Key=key, ConsistentRead=True)))


def test_orders_written_directly_are_the_items_the_stock_client_writes(clients):
    stock, direct, table = clients
    _place(OrderStore(direct, table), "Supreme", "same-key", user="auth0|a")
    _place(OrderStore(stock, table), "Supreme", "same-key", user="auth0|b")
    items = {user: stock.query(TableName=table, KeyConditionExpression="user_id = :u",
                               ExpressionAttributeValues={":u": {"S": user}})["Items"]
             for user in ("auth0|a", "auth0|b")}
    varying = {"user_id", "order_id", "created_at", "ref", "expires_at", "first_order", "last_order", "updated_at",
               "monthly_spend"}
    assert ([{k: v for k, v in item.items() if k not in varying} for item in items["auth0|a"]]
            == [{k: v for k, v in item.items() if k not in varying} for item in items["auth0|b"]])
    assert [item["order_id"]["S"][:6] for item in items["auth0|a"]] == ["#idem#", "order_", "~profi"]


def test_a_failed_condition_is_the_same_exception_with_the_same_reasons(clients):
    stock, direct, table = clients
    order, _ = _place(OrderStore(stock, table), "Supreme")
    clash = {"TransactItems": [
        {"Put": {"TableName": table, "Item": {"user_id": {"S": USER}, "order_id": {"S": order.order_id}},
                 "ConditionExpression": "attribute_not_exists(order_id)"}},
        {"Update": {"TableName": table, "Key": {"user_id": {"S": USER}, "order_id": {"S": "~profile"}},
                    "UpdateExpression": "ADD total_orders :one",
                    "ConditionExpression": "attribute_exists(total_orders)",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}}]}
    raised = []
    for client in (stock, direct):
        with pytest.raises(client.exceptions.TransactionCanceledException) as caught:
            client.transact_write_items(**clash)
        raised.append(caught.value)
    assert type(raised[0]).__name__ == type(raised[1]).__name__ == "TransactionCanceledException"
    assert raised[0].response["Error"]["Code"] == raised[1].response["Error"]["Code"] == "TransactionCanceledException"
    assert raised[0].response["CancellationReasons"] == raised[1].response["CancellationReasons"]
    assert [r["Code"] for r in raised[1].response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]


@pytest.mark.parametrize("call", [
    lambda c, t: c.query(TableName="no-such-table", KeyConditionExpression="user_id = :u",
                         ExpressionAttributeValues={":u": {"S": USER}}),
    lambda c, t: c.query(TableName=t, KeyConditionExpression="user_id = :nowhere",
                         ExpressionAttributeValues={":u": {"S": USER}}),
    lambda c, t: c.get_item(TableName=t, Key={"user_id": {"S": USER}}),
], ids=["missing table", "undefined expression value", "incomplete key"])
def test_errors_are_the_same_client_errors(clients, call):
    stock, direct, table = clients
    raised = []
    for client in (stock, direct):
        with pytest.raises(client.exceptions.ClientError) as caught:
            call(client, table)
        raised.append(caught.value)
    assert type(raised[0]).__name__ == type(raised[1]).__name__  # each client makes its own classes
    assert raised[0].response["Error"]["Code"] == raised[1].response["Error"]["Code"]
    assert raised[1].response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_store_keeps_its_promises_on_the_direct_client(clients):
    stock, direct, table = clients
    put_legacy_order(stock, USER, 1640995200000, total="16.99", table=table)  # predates summaries
    store = OrderStore(direct, table)
    first, created = _place(store, "Supreme", "k-1")  # builds the summary from the history, then orders
    again, created_again = _place(store, "Supreme", "k-1")
    assert (created, created_again, again) == (True, False, first)
    with pytest.raises(IdempotencyKeyReused):
        _place(store, "Hawaiian", "k-1")
    page = store.page(USER, 10)
    assert page.summary.total_orders == 2 and page.summary.total_spent == Decimal("40.99")
    assert [order.order_id for order in page.orders] == [first.order_id, "order_1640995200000"]


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE  session  token"])
@pytest.mark.parametrize("url,host", [
    ("http://127.0.0.1:8042/", "127.0.0.1:8042"),
    ("https://dynamodb.eu-west-1.amazonaws.com/", "dynamodb.eu-west-1.amazonaws.com"),
])
def test_the_signature_is_the_one_botocore_computes(token, url, host):
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token).get_frozen_credentials()
    body = b'{"TableName":"Pizza42-Orders","Limit":22}'
    now = datetime.datetime(2026, 12, 1, 23, 59, 59, tzinfo=datetime.UTC)
    request = AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.Query"})
    with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
        SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
    signer = SigV4Signer("eu-west-1")
    for moment in (now, now):  # the second time from the cached signing key
        ours = dict(signer.headers(credentials, host, "DynamoDB_20120810.Query", "application/x-amz-json-1.0",
                                   body, moment))
        assert ours["Authorization"] == request.headers["Authorization"]
        assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]
        assert ours.get("X-Amz-Security-Token") == request.headers.get("X-Amz-Security-Token")
    tomorrow = dict(signer.headers(credentials, host, "DynamoDB_20120810.Query", "application/x-amz-json-1.0", body,
                                   now + datetime.timedelta(seconds=1)))
    assert "/20261202/eu-west-1/dynamodb/aws4_request" in tomorrow["Authorization"]  # a new day, a new key
