"""Who may call the shop's API: access tokens carrying the call's Auth0 RBAC permission, nobody else.

Everyone else gets 403 `insufficient_permission` with an RFC 6750 insufficient_scope challenge, a body that
says nothing about the shop, and no DynamoDB request at all: the refusal comes before anything is read.
"""

from __future__ import annotations

import re

import pytest

from pizza42.shop.access import READ_ANALYTICS, READ_SHOP_ORDERS, ROLES_CLAIM, UPDATE_ORDER_STATUS
from tests.api.conftest import MANAGER_PERMISSIONS, SPA_CLIENT, STAFF, USER
from tests.api.shop_helpers import customers_view, place

# (permission it needs, method, URL template): every staff call.
CALLS = [
    (READ_SHOP_ORDERS, "get", "/api/shop/orders?status=open"),
    (READ_SHOP_ORDERS, "get", "/api/shop/orders?day={day}"),
    (UPDATE_ORDER_STATUS, "post", "/api/shop/orders/{id}/status"),
    (READ_ANALYTICS, "get", "/api/shop/analytics?from={day}&to={day}"),
]
CALL_IDS = ["open orders", "a day's orders", "move an order", "analytics"]

REFUSED_TOKENS = {
    "a verified customer": lambda auth: auth(USER),
    "an unverified user": lambda auth: auth("auth0|umberto", verified=False),
    # The legacy SPA's ID token is accepted for ordering; it never opens the shop, whatever it claims.
    "an ID token naming every permission and role": lambda auth: auth(
        STAFF, aud=SPA_CLIENT, scope=None, permissions=list(MANAGER_PERMISSIONS),
        **{ROLES_CLAIM: ["staff", "manager"]}),
    # Without RBAC enforced, Auth0 grants any scope a client asks for: a scope is never a permission.
    "permissions asked for as scopes": lambda auth: auth(STAFF, scope="openid " + " ".join(MANAGER_PERMISSIONS)),
    "permissions as a string": lambda auth: auth(STAFF, permissions=" ".join(MANAGER_PERMISSIONS)),
    "the roles claim in an access token": lambda auth: auth(STAFF, **{ROLES_CLAIM: ["staff", "manager"]}),
}


@pytest.fixture
def placed(client, auth) -> dict:
    """One order of a named customer: the shop data a refusal must not show."""
    return place(client, auth, USER, name="Alice Liddell")


def call(client, method: str, template: str, order: dict, headers: dict):
    url = template.format(day=order["date"][:10], id=order["id"])
    return getattr(client, method)(url, json={"status": "preparing"}, headers=headers)


def assert_refused_without_shop_data(response, permission: str, order: dict) -> None:
    assert response.status_code == 403
    body = response.get_json()
    assert set(body) == {"error", "message"} and body["error"] == "insufficient_permission"
    assert permission in body["message"] or "access token" in body["message"]
    text = response.get_data(as_text=True)
    for secret in (order["id"], order["ticket"], "alice@example.com", "Alice", "Margherita"):
        assert secret not in text
    challenge = response.headers["WWW-Authenticate"]
    assert re.fullmatch(rf'Bearer realm="pizza42", error="insufficient_scope", scope="{permission}"', challenge)


@pytest.mark.parametrize("who", sorted(REFUSED_TOKENS))
@pytest.mark.parametrize(("permission", "method", "template"), CALLS, ids=CALL_IDS)
def test_every_staff_call_refuses_anyone_without_the_permission(client, auth, counted_dynamodb, placed, who,
                                                                permission, method, template):
    before = counted_dynamodb.total
    response = call(client, method, template, placed, REFUSED_TOKENS[who](auth))
    assert_refused_without_shop_data(response, permission, placed)
    assert counted_dynamodb.total == before  # refused before anything was read
    assert customers_view(client, auth, placed["id"])["status"] == "confirmed"


@pytest.mark.parametrize(("permission", "method", "template"), CALLS, ids=CALL_IDS)
def test_every_staff_call_refuses_staff_lacking_that_one_permission(client, staff_auth, placed, permission,
                                                                    method, template):
    others = tuple(p for p in MANAGER_PERMISSIONS if p != permission)
    response = call(client, method, template, placed, staff_auth(others))
    assert_refused_without_shop_data(response, permission, placed)


@pytest.mark.parametrize(("permission", "method", "template"), CALLS, ids=CALL_IDS)
def test_every_staff_call_answers_a_token_with_exactly_its_permission(client, staff_auth, placed, permission,
                                                                      method, template):
    response = call(client, method, template, placed, staff_auth((permission,)))
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(("permission", "method", "template"), CALLS, ids=CALL_IDS)
def test_every_staff_call_without_a_token_is_401(client, placed, permission, method, template):
    response = call(client, method, template, placed, {})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert placed["id"] not in response.get_data(as_text=True)


def test_staff_need_the_permission_not_a_verified_email(client, staff_auth, placed):
    """Who is staff is the roles an administrator gives in Auth0; the email claim does not decide it."""
    response = client.get("/api/shop/orders?status=open", headers=staff_auth(verified=False))
    assert response.status_code == 200
    assert [order["id"] for order in response.get_json()["orders"]] == [placed["id"]]


def test_a_customer_refused_by_the_shop_still_orders_and_reads_their_own(client, auth, placed):
    assert client.get("/api/shop/orders?status=open", headers=auth()).status_code == 403
    assert [o["id"] for o in client.get("/api/orders", headers=auth()).get_json()["orders"]] == [placed["id"]]
