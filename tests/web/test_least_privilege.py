"""The instance's IAM policy (deploy/iam-policy.json) allows exactly the calls the app makes, no more, no less:
every page and API call a customer can make (cancelling too), the kitchen's and the manager's pages, logout,
"log out everywhere", and readiness. Serving never scans."""

from __future__ import annotations

import uuid

import pytest

from pizza42 import create_app
from pizza42.sandbox import login_for_token
from tests.dynamo_helpers import CountingClient
from tests.iam_policies import grants_needed, policy_grants
from tests.web.conftest import VERIFIED, AuthActions, form_fields, web_settings
from tests.web.staff_helpers import MANAGER, STAFF, csrf_token, register_staff


@pytest.fixture
def counted(dynamodb) -> CountingClient:
    return CountingClient(dynamodb)


def test_the_instance_policy_is_exactly_what_a_full_day_of_the_shop_uses(provider, counted):
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
        placed = api.post("/api/orders", json={"pizza": "Supreme", "size": "small"}, headers=bearer)
        assert placed.status_code in (200, 201)
    assert api.get("/api/orders", headers=bearer).status_code == 200
    assert api.get("/api/ready").status_code == 200

    # The customer takes back their web order; the kitchen moves the API's; the manager reads the figures.
    cancel_page = browser.get(f"/orders/order_{receipt}/cancel").get_data(as_text=True)
    assert browser.post(f"/orders/order_{receipt}/cancel",
                        data={"csrf_token": csrf_token(cancel_page)}).status_code == 303
    register_staff(provider)
    kitchen, manager = app.test_client(), app.test_client()
    AuthActions(kitchen).login(STAFF)
    board = kitchen.get("/kitchen").get_data(as_text=True)
    moved = kitchen.post(f"/kitchen/orders/{placed.get_json()['order']['id']}/status",
                         data={"csrf_token": csrf_token(board), "status": "preparing"})
    assert moved.status_code == 303
    assert kitchen.get("/kitchen/board").status_code == 200
    assert kitchen.get("/kitchen/day").status_code == 200
    AuthActions(manager).login(MANAGER)
    assert manager.get("/shop/analytics").status_code == 200

    AuthActions(other_browser).login(VERIFIED)
    token = form_fields(other_browser.get("/").get_data(as_text=True))["csrf_token"]
    assert other_browser.post("/logout", data={"csrf_token": token}).status_code == 303
    token = form_fields(browser.get("/account").get_data(as_text=True))["csrf_token"]
    assert browser.post("/logout/everywhere", data={"csrf_token": token}).status_code == 303

    used = grants_needed(counted.requests)
    assert used == policy_grants("iam-policy.json")
    assert not any(action == "dynamodb:Scan" for action, _ in used)
