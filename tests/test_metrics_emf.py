"""The EMF schema the metric tests use rejects what the specification rejects; DynamoDB retries are counted on
both DynamoDB paths (the direct one and the stock boto3 client that DYNAMODB_DIRECT_PATH=off selects)."""

from __future__ import annotations

import copy

import botocore.endpoint
import pytest

from pizza42.aws import make_dynamodb_client
from pizza42.config import load_settings
from pizza42.dynamodb.direct import DirectDynamoDBClient
from pizza42.observability import configure_logging
from pizza42.observability.metrics import counters_document, request_members
from tests.emf import emf_errors, json_lines, metric_documents, metric_values
from tests.scripted_dynamodb import Answer, ScriptedDynamoDB, error_body

QUERY = {"TableName": "Pizza42-Orders", "KeyConditionExpression": "user_id = :u",
         "ExpressionAttributeValues": {":u": {"S": "auth0|m"}}}
ITEMS = b'{"Count":0,"Items":[],"ScannedCount":0}'


def _valid() -> dict:
    # A deep copy: the app shares its directive lists between lines, and these tests break documents.
    return copy.deepcopy(request_members(201, 12.5, {"OrdersPlaced": 1}))


def test_the_apps_documents_are_valid_emf():
    assert emf_errors(_valid()) == []
    assert emf_errors(counters_document({"DynamoDBRetries": 2, "JwksRefetches": 1})) == []
    assert emf_errors(request_members(0, 0.0, {})) == []  # no status at all still makes a valid line


@pytest.mark.parametrize("break_it", [
    lambda d: d.pop("_aws"),
    lambda d: d["_aws"].pop("Timestamp"),
    lambda d: d["_aws"].update(Timestamp=1.5),  # milliseconds as an integer
    lambda d: d["_aws"].update(Timestamp="2026-12-05T21:00:00Z"),
    lambda d: d["_aws"].update(CloudWatchMetrics=[]),
    lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Namespace"),
    lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[[f"D{i}" for i in range(31)]]),
    lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Metrics=[{"Name": f"M{i}"} for i in range(101)]),
    lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Millis"),
    lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Extra=1),
    lambda d: d.pop("Outcome"),  # a dimension named but not a top-level member
    lambda d: d.update(Service=42),  # a dimension that is not a string
    lambda d: d.pop("Latency"),  # a metric named but absent
    lambda d: d.update(Requests="1"),  # a metric that is not a number
    lambda d: d.update(Latency=[1.0] * 101),  # more values than a metric may carry
], ids=["no _aws", "no Timestamp", "float Timestamp", "text Timestamp", "no directive", "no Namespace",
        "31 dimensions", "101 metrics", "unknown unit", "extra directive member", "missing dimension",
        "dimension not a string", "missing metric", "metric not a number", "101 values"])
def test_the_schema_rejects_what_the_specification_rejects(break_it):
    document = _valid()
    break_it(document)
    assert emf_errors(document)
    assert emf_errors(request_members(201, 12.5, {"OrdersPlaced": 1})) == []  # the app's own are untouched


@pytest.fixture
def scripted():
    servers: list[ScriptedDynamoDB] = []

    def start(script) -> str:
        servers.append(ScriptedDynamoDB(list(script)))
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize(("direct_path", "kind"), [("on", DirectDynamoDBClient), ("off", None)])
def test_each_dynamodb_retry_moves_dynamodb_retries_on_either_path(scripted, monkeypatch, capsys, direct_path,
                                                                  kind):
    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda seconds: None)  # the backoff, not slept
    url = scripted([Answer(500, error_body("InternalServerError")),
                    Answer(400, error_body("ThrottlingException")), Answer(body=ITEMS)])
    client = make_dynamodb_client(load_settings({
        "SECRET_KEY": "x" * 32, "AUTH0_ISSUER": "https://tenant.test/", "AUTH0_CLIENT_ID": "a",
        "AUTH0_CLIENT_SECRET": "b", "DYNAMODB_ENDPOINT_URL": url, "DYNAMODB_DIRECT_PATH": direct_path}))
    assert isinstance(client, DirectDynamoDBClient) if kind else not isinstance(client, DirectDynamoDBClient)
    configure_logging()
    capsys.readouterr()
    assert client.query(**QUERY)["ResponseMetadata"]["RetryAttempts"] == 2
    lines = metric_documents(json_lines(capsys.readouterr().out))  # outside a request: a line per retry
    assert [metric_values(line) for line in lines] == [{"DynamoDBRetries": 1}] * 2
    client.query(**QUERY)  # the script is done: answered at once, no retry
    assert metric_documents(json_lines(capsys.readouterr().out)) == []


@pytest.mark.parametrize("direct_path", ["on", "off"])
def test_only_the_escape_hatch_announces_itself_when_the_client_is_built(capsys, direct_path):
    make_dynamodb_client(load_settings({
        "SECRET_KEY": "x" * 32, "AUTH0_ISSUER": "https://tenant.test/", "AUTH0_CLIENT_ID": "a",
        "AUTH0_CLIENT_SECRET": "b", "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9",
        "DYNAMODB_DIRECT_PATH": direct_path}))
    announced = [line for line in json_lines(capsys.readouterr().out) if line["logger"] == "pizza42.aws"]
    if direct_path == "on":
        assert announced == []  # the normal case says nothing (CLI commands print only their own output)
    else:
        [line] = announced
        assert line["level"] == "warning" and "DYNAMODB_DIRECT_PATH=off" in line["message"]
