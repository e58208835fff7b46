"""The app's CloudWatch metrics: every access line is an EMF document, and each counter moves with its event.

The contract the CloudFormation alarms read: namespace Pizza42, dimension Service=pizza42 on every metric
(Requests also by Outcome), Latency in Milliseconds, counters in Count; no customer data in any metric line.
"""

from __future__ import annotations

import time
import uuid

import pytest

from pizza42 import create_app
from tests.dynamo_helpers import FaultyClient
from tests.emf import json_lines, metric_documents, metric_values

ORDER = {"pizza": "Margherita", "size": "medium", "quantity": 2}
COUNTERS = {"OrdersPlaced", "OrdersRefused", "LoginsSucceeded", "LoginsFailed", "DynamoDBRetries",
            "DynamoDBUnavailable", "JwksRefetches"}


@pytest.fixture
def documents(capsys):
    """The metric documents the app wrote to stdout since the last call, each checked against the EMF spec."""
    return lambda: metric_documents(json_lines(capsys.readouterr().out))


def _post_order(client, auth, body=None, key=None, **claims):
    headers = {**auth(**claims), "Idempotency-Key": key or str(uuid.uuid4())}
    return client.post("/api/orders", json=body or ORDER, headers=headers)


def test_each_request_is_one_emf_document_with_the_contracted_metrics(client, auth, documents):
    answers = [client.get("/api/health"), client.get("/api/nowhere"), client.get("/api/orders"),
               client.get("/api/orders", headers=auth()), client.get("/"), client.delete("/api/orders")]
    lines = documents()
    assert [line["status"] for line in lines] == [a.status_code for a in answers] == [200, 404, 401, 200, 200, 405]
    for line in lines:
        assert line["logger"] == "pizza42.access"
        assert (line["Service"], line["Requests"], line["Latency"]) == ("pizza42", 1, line["duration_ms"])
        assert line["Outcome"] == f"{line['status'] // 100}xx"
        directives = line["_aws"]["CloudWatchMetrics"]
        assert {d["Namespace"] for d in directives} == {"Pizza42"}
        for directive in directives:
            assert ["Service"] in directive["Dimensions"]  # every metric has [Service] alone
            for names in directive["Dimensions"]:
                assert names in (["Service"], ["Service", "Outcome"])
            for metric in directive["Metrics"]:
                assert metric["Unit"] == ("Milliseconds" if metric["Name"] == "Latency" else "Count")
                if ["Service", "Outcome"] in directive["Dimensions"]:
                    assert metric["Name"] == "Requests"  # only request counts are split by outcome
        assert abs(line["_aws"]["Timestamp"] / 1000 - time.time()) < 60
        assert set(metric_values(line)) == {"Requests", "Latency"}  # nothing else happened


def test_an_order_placed_moves_orders_placed_and_a_replay_moves_nothing(client, auth, documents):
    key = str(uuid.uuid4())
    assert _post_order(client, auth, key=key).status_code == 201
    assert _post_order(client, auth, key=key).status_code == 201  # the client's retry: the same order
    placed, replayed = documents()
    assert metric_values(placed)["OrdersPlaced"] == 1 and "OrdersRefused" not in placed
    assert set(metric_values(replayed)) & COUNTERS == set()


@pytest.mark.parametrize(("body", "claims", "status"), [
    ({"pizza": "Hawaiian Supreme Deluxe", "size": "medium"}, {}, 422),  # not on the menu
    (ORDER, {"verified": False}, 403),  # email not verified
])
def test_a_refused_order_moves_orders_refused(client, auth, documents, body, claims, status):
    assert _post_order(client, auth, body, **claims).status_code == status
    [line] = documents()
    assert metric_values(line)["OrdersRefused"] == 1 and "OrdersPlaced" not in line


def test_an_order_without_a_token_is_refused_as_its_audit_line_says(client, capsys):
    assert client.post("/api/orders", json=ORDER).status_code == 401
    lines = json_lines(capsys.readouterr().out)
    [audit] = [line for line in lines if line["logger"] == "pizza42.audit"]
    [access] = metric_documents(lines)
    assert audit["outcome"] == "refused" and metric_values(access)["OrdersRefused"] == 1
    assert "_aws" not in audit  # the audit line names the customer: it is never a metrics document


def test_a_dynamodb_outage_moves_dynamodb_unavailable_on_the_503s_line(settings, dynamodb, auth, documents):
    faulty = FaultyClient(dynamodb)
    client = create_app(settings, dynamodb_client=faulty).test_client()
    assert client.get("/api/orders", headers=auth()).status_code == 200
    faulty.down = True
    assert client.get("/api/orders", headers=auth()).status_code == 503
    assert client.get("/api/ready").status_code == 503
    healthy, listed, ready = documents()
    assert "DynamoDBUnavailable" not in healthy
    assert metric_values(listed)["DynamoDBUnavailable"] == 1 and listed["Outcome"] == "5xx"
    assert metric_values(ready)["DynamoDBUnavailable"] == 1


def test_an_unknown_key_id_moves_jwks_refetches_but_the_first_fetch_does_not(client, auth, signing_key, issuer,
                                                                              documents):
    assert client.get("/api/orders", headers=auth()).status_code == 200  # the worker's first fetch
    stranger = {"Authorization": "Bearer " + signing_key.sign(
        {"iss": issuer.issuer, "sub": "auth0|x", "aud": "https://pizza42-api", "exp": 4102444800},
        headers={"kid": "a-key-nobody-published"})}
    assert client.get("/api/orders", headers=stranger).status_code == 401
    first, refetched = documents()
    assert "JwksRefetches" not in first
    assert metric_values(refetched)["JwksRefetches"] == 1


def test_no_metric_line_names_a_customer(client, auth, make_token, documents):
    token = make_token("auth0|carol")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
    placed = client.post("/api/orders", json=ORDER, headers=headers)
    order_id = placed.get_json()["order"]["id"]
    client.get(f"/api/orders/{order_id}", headers=headers)
    client.post("/api/orders", json={"pizza": "Nope", "size": "small"}, headers={**headers, "Idempotency-Key": "k2"})
    lines = documents()
    assert len(lines) == 3
    assert lines[1]["path"] == "/api/orders/{order_id}"  # masked: the line is a metrics document
    for line in lines:
        text = str(line)
        for secret in ("carol", "example.com", token[:40], token.split(".")[2][:20], order_id,
                       order_id.split("_", 1)[1]):
            assert secret not in text, (secret, line)


def test_outside_a_request_a_counter_gets_an_emf_line_of_its_own(capsys):
    from pizza42.observability import configure_logging, metrics

    configure_logging()
    metrics.count("DynamoDBRetries", 2)
    [line] = metric_documents(json_lines(capsys.readouterr().out))
    assert line["logger"] == "pizza42.metrics" and line["Service"] == "pizza42"
    assert metric_values(line) == {"DynamoDBRetries": 2}
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.count("OrdersPlacedd")
