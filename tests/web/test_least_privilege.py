"""The instance's IAM policy (deploy/iam-policy.json) allows exactly the calls the app makes, no more, no less:
every page and API call a customer can make, logout, "log out everywhere", and readiness."""

from __future__ import annotations

import uuid

import pytest

from pizza42 import create_app
from pizza42.sandbox import login_for_token
from tests.dynamo_helpers import CountingClient
from tests.iam_policies import ARN, policy_grants
from tests.web.conftest import VERIFIED, AuthActions, form_fields, web_settings

# TransactWriteItems is authorised entry by entry, as the action of each entry.
_ACTIONS = {"get_item": "GetItem", "query": "Query", "put_item": "PutItem", "update_item": "UpdateItem",
            "delete_item": "DeleteItem", "describe_table": "DescribeTable", "Put": "PutItem", "Update": "UpdateItem",
            "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


def grants_needed(operation: str, params: dict) -> set[tuple[str, str]]:
    """The IAM (action, resource) pairs one DynamoDB call needs."""
    if operation == "transact_write_items":
        return {(f"dynamodb:{_ACTIONS[kind]}", ARN + entry["TableName"])
                for item in params["TransactItems"] for kind, entry in item.items()}
    resource = ARN + params["TableName"] + (f"/index/{params['IndexName']}" if "IndexName" in params else "")
    return {(f"dynamodb:{_ACTIONS[operation]}", resource)}


@pytest.fixture
def counted(dynamodb) -> CountingClient:
    return CountingClient(dynamodb)


def test_the_instance_policy_is_exactly_what_a_full_day_of_customers_uses(provider, counted):
    app = create_app(web_settings(provider, AUTH0_SPA_CLIENT_IDS="pizza42-spa"), dynamodb_client=counted)
    app.config["TESTING"] = True
    browser, other_browser = app.test_client(), app.test_client()
    auth = AuthActions(browser)
    auth.login(VERIFIED)
    assert auth.place_order().status_code == 303
    receipt = browser.get("/orders").get_data(as_text=True).split('href="/orders/order_', 1)[1].split('"', 1)[0]
    assert browser.get("/orders/order_" + receipt).status_code == 200

    bearer = {"Authorization": "Bearer " + login_for_token(provider, VERIFIED)["id_token"],
              "Idempotency-Key": str(uuid.uuid4())}
    api = app.test_client()
    for _ in range(2):  # the second is a replay: the idempotency record is read back
        assert api.post("/api/orders", json={"pizza": "Supreme", "size": "small"}, headers=bearer).status_code in (
            200, 201)
    assert api.get("/api/orders", headers=bearer).status_code == 200
    assert api.get("/api/ready").status_code == 200

    AuthActions(other_browser).login(VERIFIED)
    token = form_fields(other_browser.get("/").get_data(as_text=True))["csrf_token"]
    assert other_browser.post("/logout", data={"csrf_token": token}).status_code == 303
    token = form_fields(browser.get("/account").get_data(as_text=True))["csrf_token"]
    assert browser.post("/logout/everywhere", data={"csrf_token": token}).status_code == 303

    used = set().union(*(grants_needed(operation, params) for operation, params in counted.requests))
    assert used == policy_grants("iam-policy.json")
