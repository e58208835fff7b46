"""The admin policy (deploy/iam-policy-admin.json) against the DynamoDB calls the operator's commands really
make, recorded at the client (tests/web/test_least_privilege.py does the same for the instance policy and
the app's pages and API)."""

from __future__ import annotations

import pytest

from pizza42 import create_app
from pizza42.config import load_settings
from pizza42.orders import service
from pizza42.orders.lifecycle import PREPARING
from pizza42.orders.store import OrderStore
from tests.conftest import TABLE
from tests.dynamo_helpers import CountingClient
from tests.iam_policies import grants_needed, policy_grants


def a_shop_day(client) -> None:
    """Orders to work on: placed, cancelled, moved."""
    store = OrderStore(client, TABLE)
    customer = service.Customer("auth0|alice", "alice@example.com", "Alice")
    first, _ = service.place_order(store, customer, {"pizza": "Supreme", "size": "large"}, "key-1")
    second, _ = service.place_order(store, customer, {"pizza": "Hawaiian", "size": "small"})
    service.cancel_order(store, customer.user_id, second.order_id, 300)
    service.move_order(store, first.order_id, PREPARING, "auth0|cook")


@pytest.mark.parametrize("command", ["create-table", "rebuild-profiles", "backfill-shop", "rebuild-figures"])
def test_the_admin_policy_allows_the_operators_commands(dynamodb, command):
    recorded = CountingClient(dynamodb)
    a_shop_day(dynamodb)
    settings = load_settings({"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": "https://issuer.test/",
                              "AUTH0_CLIENT_ID": "web", "AUTH0_CLIENT_SECRET": "web-secret"})
    app = create_app(settings, dynamodb_client=recorded)
    with app.app_context():  # as `flask --app pizza42 <command>` runs it
        result = app.test_cli_runner().invoke(args=[command])
    assert result.exit_code == 0, result.output
    needed = grants_needed(recorded.requests)
    assert needed and needed <= policy_grants("iam-policy-admin.json")
