"""The direct DynamoDB path under faults: it retries, waits and fails exactly as the stock client does.

A scripted endpoint (tests/scripted_dynamodb.py) answers each request from a script; where the stock
client can meet the same fault, both clients meet it and must make the same attempts with the same
outcome. Backoff sleeps are recorded instead of slept. "Both" is both DynamoDB paths as the app builds them:
make_dynamodb_client with DYNAMODB_DIRECT_PATH on (the direct path) and off (the stock boto3 client).
"""

from __future__ import annotations

import binascii
import datetime

import botocore.endpoint
import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

import pizza42.dynamodb.wire
from pizza42.aws import make_boto3_client, make_dynamodb_client
from pizza42.config import load_settings
from pizza42.dynamodb.direct import DirectDynamoDBClient
from pizza42.orders.errors import StorageUnavailable
from pizza42.orders.store import OrderStore
from tests.certs import write_self_signed_cert
from tests.integration.harness import free_port
from tests.scripted_dynamodb import Answer, Drop, ScriptedDynamoDB, Silence, error_body

QUERY = {"TableName": "Pizza42-Orders", "KeyConditionExpression": "user_id = :u",
         "ExpressionAttributeValues": {":u": {"S": "auth0|f"}}}
ITEMS = b'{"Count":1,"Items":[{"user_id":{"S":"auth0|f"},"order_id":{"S":"order_1"}}],"ScannedCount":1}'


def _settings(url: str, read_timeout: float = 2.0, direct_path: str = "on"):
    return load_settings({"SECRET_KEY": "x" * 32, "AUTH0_ISSUER": "https://tenant.test/", "AUTH0_CLIENT_ID": "a",
                          "AUTH0_CLIENT_SECRET": "b", "DYNAMODB_ENDPOINT_URL": url,
                          "DYNAMODB_READ_TIMEOUT": str(read_timeout), "DYNAMODB_DIRECT_PATH": direct_path})


def _path_client(url: str, direct_path: str, read_timeout: float = 2.0):
    """The app's client on one DynamoDB path, checked to be that path's."""
    client = make_dynamodb_client(_settings(url, read_timeout, direct_path))
    assert isinstance(client, DirectDynamoDBClient) is (direct_path == "on")
    return client


BOTH_PATHS = pytest.mark.parametrize("direct_path", ["on", "off"], ids=["direct-path", "stock-client"])


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every backoff either client would sleep, recorded instead (botocore's endpoint sleeps via time.sleep)."""
    recorded: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def endpoint():
    servers: list[ScriptedDynamoDB] = []

    def start(script=(), **kwargs) -> ScriptedDynamoDB:
        server = ScriptedDynamoDB(list(script), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _both(endpoint, script, read_timeout=2.0):
    """(stock client, direct client), each with its own endpoint running a copy of `script`."""
    stock_end, direct_end = endpoint(script), endpoint(script)
    stock = _path_client(stock_end.url, "off", read_timeout)
    direct = _path_client(direct_end.url, "on", read_timeout)
    return (stock, stock_end), (direct, direct_end)


def _outcome(call):
    try:
        answer = call()
    except Exception as exc:  # the exception is the outcome compared
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return type(exc).__name__, code
    return "ok", answer["ResponseMetadata"]["RetryAttempts"]


@pytest.mark.parametrize("script,outcome", [
    ([Answer(500, error_body("InternalServerError")), Answer(503, b""), Answer(body=ITEMS)], ("ok", 2)),
    ([Answer(500, error_body("InternalServerError"))] * 4, ("InternalServerError", "InternalServerError")),
    ([Answer(400, error_body("ThrottlingException")), Answer(body=ITEMS)], ("ok", 1)),
    ([Answer(400, error_body("ProvisionedThroughputExceededException"))] * 2 + [Answer(body=ITEMS)], ("ok", 2)),
    ([Answer(400, error_body("ValidationException"))], ("ClientError", "ValidationException")),
    ([Answer(body=ITEMS, headers={"x-amz-crc32": "1"}), Answer(body=ITEMS)], ("ok", 1)),
    ([Drop(), Answer(body=ITEMS)], ("ok", 1)),
], ids=["5xx then ok", "5xx past the attempts", "throttled once", "throughput exceeded twice",
        "client error: no retry", "crc32 mismatch", "dropped connection"])
def test_answers_are_retried_exactly_as_the_stock_client_retries_them(endpoint, sleeps, script, outcome):
    (stock, stock_end), (direct, direct_end) = _both(endpoint, script)
    assert _outcome(lambda: stock.query(**QUERY)) == outcome
    stock_sleeps = list(sleeps)
    sleeps.clear()
    assert _outcome(lambda: direct.query(**QUERY)) == outcome
    assert len(direct_end.seen) == len(stock_end.seen) <= 3  # DYNAMODB_MAX_ATTEMPTS: 3 tries in all
    assert len(sleeps) == len(stock_sleeps) == len(direct_end.seen) - 1
    throttled = any(b"Throttl" in s.body or b"Throughput" in s.body for s in script if isinstance(s, Answer))
    for attempt, delay in enumerate(sleeps):  # botocore's backoff: rand * base * 2**i, base 1 s or 25 ms
        assert 0 <= delay <= (1.0 if throttled else 0.025) * 2**attempt


@BOTH_PATHS
def test_a_refused_connection_is_retried_then_becomes_storage_unavailable(sleeps, direct_path):
    client = _path_client(f"http://127.0.0.1:{free_port()}", direct_path)
    with pytest.raises(EndpointConnectionError):
        client.query(**QUERY)
    assert len(sleeps) == 2  # three attempts
    with pytest.raises(StorageUnavailable):
        OrderStore(client, "Pizza42-Orders").page("auth0|f", 10)


def test_a_connect_timeout_is_botocores_connect_timeout(sleeps, monkeypatch, endpoint):
    def never_connects(*args, **kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(pizza42.dynamodb.wire.socket, "create_connection", never_connects)
    with pytest.raises(ConnectTimeoutError):
        make_dynamodb_client(_settings(endpoint().url)).query(**QUERY)
    assert len(sleeps) == 2


@BOTH_PATHS
def test_an_endpoint_that_never_answers_times_out_after_the_read_timeout(endpoint, sleeps, direct_path):
    server = endpoint([Silence()] * 3)
    client = _path_client(server.url, direct_path, read_timeout=0.2)
    started = datetime.datetime.now()
    with pytest.raises(ReadTimeoutError):
        client.query(**QUERY)
    assert len(server.seen) == 3
    assert 0.6 <= (datetime.datetime.now() - started).total_seconds() < 3


def test_a_keep_alive_connection_the_server_closed_is_replaced_without_a_retry(endpoint, sleeps):
    server = endpoint([Answer(body=ITEMS, then_close=True)], default=lambda seen: Answer(body=ITEMS))
    direct = make_dynamodb_client(_settings(server.url))
    assert direct.query(**QUERY)["Count"] == 1
    assert server.closed.wait(5)  # the server has closed the connection the client keeps for its next call
    assert direct.query(**QUERY)["ResponseMetadata"]["RetryAttempts"] == 0
    assert direct.query(**QUERY)["ResponseMetadata"]["RetryAttempts"] == 0
    assert (len(server.seen), server.connections, sleeps) == (3, 2, [])  # the third call reused the second one


@pytest.mark.parametrize("answer,reused", [
    (Answer(body=ITEMS, chunked=True), True),
    (Answer(body=ITEMS, headers={"Connection": "close"}), False),
    (Answer(body=ITEMS, version="HTTP/1.0"), False),
], ids=["chunked body", "connection: close", "HTTP/1.0"])
def test_answers_in_any_framing_are_read_and_the_connection_kept_only_when_offered(endpoint, sleeps, answer,
                                                                                  reused):
    server = endpoint(default=lambda seen: answer)
    direct = make_dynamodb_client(_settings(server.url))
    answers = [direct.query(**QUERY) for _ in range(3)]
    assert all(a["Items"] == [{"user_id": {"S": "auth0|f"}, "order_id": {"S": "order_1"}}] for a in answers)
    assert (server.connections, sleeps) == (1 if reused else 3, [])


def test_an_answer_cut_short_is_retried_where_botocore_would_return_an_empty_success(endpoint, sleeps):
    (stock, _), (direct, direct_end) = _both(endpoint, [Answer(body=ITEMS, truncated=True), Answer(body=ITEMS)])
    assert "Items" not in stock.query(**QUERY)  # half a body parses as {}: a store would fail on it
    answer = direct.query(**QUERY)
    assert (answer["Count"], answer["ResponseMetadata"]["RetryAttempts"], len(direct_end.seen)) == (1, 1, 2)


def test_a_connection_cut_mid_answer_is_a_closed_connection_and_retried(endpoint, sleeps):
    server = endpoint([Drop(), Drop(), Drop()])
    with pytest.raises(ConnectionClosedError):
        make_dynamodb_client(_settings(server.url)).query(**QUERY)
    assert len(server.seen) == 3


def test_a_2xx_that_is_not_json_is_a_transport_fault_not_a_crash(endpoint, sleeps):
    server = endpoint([Answer(body=b"<html>proxy error</html>")] * 3)
    direct = make_dynamodb_client(_settings(server.url))
    with pytest.raises(HTTPClientError):
        direct.query(**QUERY)
    assert len(server.seen) == 3
    server.script = [Answer(body=b"[]")] * 3
    with pytest.raises(StorageUnavailable):
        OrderStore(direct, "Pizza42-Orders").page("auth0|f", 10)


def test_expiring_credentials_are_refreshed_before_signing(endpoint):
    server = endpoint(default=lambda seen: Answer(body=ITEMS))
    issued = iter(["ASIAFIRST", "ASIASECOND"])

    def refresh():
        soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)  # inside botocore's window
        return {"access_key": next(issued), "secret_key": "s", "token": "t", "expiry_time": soon.isoformat()}

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "assume-role")
    stock = make_boto3_client(_settings(server.url))
    direct = DirectDynamoDBClient(stock, credentials, connect_timeout=1, read_timeout=2, max_attempts=3)
    direct.query(**QUERY)
    authorization = server.seen[-1].headers["authorization"]
    assert "Credential=ASIASECOND/" in authorization and server.seen[-1].headers["x-amz-security-token"] == "t"


def test_tls_is_verified_against_the_ca_bundle(endpoint, tmp_path, sleeps):
    cert, key = write_self_signed_cert(tmp_path)
    server = endpoint(default=lambda seen: Answer(body=ITEMS), tls_files=(cert, key))
    stock = make_boto3_client(_settings(server.url))
    untrusting = DirectDynamoDBClient(stock, stock._request_signer._credentials, connect_timeout=1,
                                      read_timeout=2, max_attempts=3)
    with pytest.raises(SSLError):
        untrusting.query(**QUERY)
    trusting = DirectDynamoDBClient(stock, stock._request_signer._credentials, connect_timeout=1, read_timeout=2,
                                    max_attempts=3, ca_bundle=str(cert))
    assert trusting.query(**QUERY)["Count"] == 1


def test_the_crc32_that_matches_is_accepted(endpoint):
    checksum = str(binascii.crc32(ITEMS) & 0xFFFFFFFF)
    server = endpoint([Answer(body=ITEMS, headers={"x-amz-crc32": checksum})])
    assert make_dynamodb_client(_settings(server.url)).query(**QUERY)["ResponseMetadata"]["RetryAttempts"] == 0
