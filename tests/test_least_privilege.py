"""The IAM policies in deploy/ against the DynamoDB calls the app really makes: everything it calls while
serving is allowed by the instance policy (and nothing more is granted), and the operator's commands by the
admin policy. Each call is recorded at the client and turned into the IAM action and resource it needs."""

from __future__ import annotations

from datetime import date

import pytest

from pizza42 import create_app
from pizza42.config import load_settings
from pizza42.orders import service
from pizza42.orders.lifecycle import PREPARING
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore
from pizza42.shop import analytics
from pizza42.shop.store import ShopStore
from tests.conftest import SESSIONS_TABLE, TABLE
from tests.dynamo_helpers import CountingClient
from tests.iam_policies import ARN, policy_grants

ACTIONS = {"get_item": "GetItem", "query": "Query", "put_item": "PutItem", "update_item": "UpdateItem",
           "delete_item": "DeleteItem", "describe_table": "DescribeTable", "scan": "Scan",
           "create_table": "CreateTable", "update_table": "UpdateTable", "update_time_to_live": "UpdateTimeToLive",
           "describe_time_to_live": "DescribeTimeToLive"}
IN_TRANSACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem"}


def needed_grants(requests: list[tuple[str, dict]]) -> set[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs a list of recorded DynamoDB calls needs."""
    grants = set()
    for operation, params in requests:
        if operation == "transact_write_items":
            for entry in params["TransactItems"]:
                (kind, action), = entry.items()
                grants.add((f"dynamodb:{IN_TRANSACTION[kind]}", ARN + action["TableName"]))
            continue
        resource = ARN + params["TableName"] + (f"/index/{params['IndexName']}" if "IndexName" in params else "")
        grants.add((f"dynamodb:{ACTIONS[operation]}", resource))
    return grants


def serve_a_shop_day(client) -> None:
    """Everything the app does while serving: customers, sessions, the kitchen and the manager."""
    store, shop = OrderStore(client, TABLE), ShopStore(client, TABLE)
    sessions = SessionStore(client, SESSIONS_TABLE, idle_seconds=1800, lifetime_seconds=8 * 3600)
    customer = service.Customer("auth0|alice", "alice@example.com", "Alice")
    first, _ = service.place_order(store, customer, {"pizza": "Supreme", "size": "large"}, "key-1")
    service.place_order(store, customer, {"pizza": "Supreme", "size": "large"}, "key-1")  # replayed
    second, _ = service.place_order(store, customer, {"pizza": "Hawaiian", "size": "small"})
    service.list_orders(store, customer.user_id)
    service.get_order(store, customer.user_id, first.order_id)
    service.cancel_order(store, customer.user_id, second.order_id, 300)
    service.move_order(store, first.order_id, PREPARING, "auth0|cook")
    shop.board()
    shop.day(date.today(), 10)
    analytics.report(shop, date(2026, 1, 1), date(2026, 3, 31))
    store.ping()
    sessions.ping()
    sessions.create("s1", "{}", "auth0|alice")
    record = sessions.get("s1")
    sessions.update("s1", record, "{}")
    sessions.touch("s1", record)
    sessions.create("s2", "{}", "auth0|alice", replacing="s1")
    sessions.delete_all("auth0|alice")
    sessions.create("s3", "{}")
    sessions.delete("s3")


def test_the_instance_policy_allows_every_call_the_app_makes_and_nothing_more(dynamodb):
    recorded = CountingClient(dynamodb)
    serve_a_shop_day(recorded)
    needed = needed_grants(recorded.requests)
    assert needed <= policy_grants("iam-policy.json")
    assert policy_grants("iam-policy.json") == needed  # least privilege: nothing granted that is never used
    assert not any(action == "dynamodb:Scan" for action, _ in needed)  # serving never scans


@pytest.mark.parametrize("command", ["create-table", "rebuild-profiles", "backfill-shop", "rebuild-figures"])
def test_the_admin_policy_allows_the_operators_commands(dynamodb, command):
    recorded = CountingClient(dynamodb)
    serve_a_shop_day(dynamodb)
    settings = load_settings({"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": "https://issuer.test/",
                              "AUTH0_CLIENT_ID": "web", "AUTH0_CLIENT_SECRET": "web-secret"})
    app = create_app(settings, dynamodb_client=recorded)
    with app.app_context():  # as `flask --app pizza42 <command>` runs it
        result = app.test_cli_runner().invoke(args=[command])
    assert result.exit_code == 0, result.output
    assert needed_grants(recorded.requests) <= policy_grants("iam-policy-admin.json")
