"""The JSON API contract of spec §4: status codes, bodies, and what gets written."""

import json

import boto3
import pytest
from botocore.config import Config

from pizza42 import create_app
from tests.api.conftest import SPA_CLIENT, USER
from tests.conftest import TABLE
from tests.dynamo_helpers import put_legacy_order

ORDER = {"pizza": "Margherita", "size": "medium", "quantity": 2}


def post_order(client, headers, body=ORDER, **kwargs):
    return client.post("/api/orders", json=body, headers=headers, **kwargs)


def stored_orders(dynamodb, user_id=USER):
    items = dynamodb.query(TableName=TABLE, KeyConditionExpression="user_id = :u",
                           ExpressionAttributeValues={":u": {"S": user_id}})["Items"]
    return [i for i in items if i["order_id"]["S"].startswith("order_")]


# -- public endpoints ---------------------------------------------------------------------------

def test_health_answers_without_touching_dynamodb_or_auth0(client, counted_dynamodb, issuer):
    fetches = issuer.jwks_fetches + issuer.discovery_fetches
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert counted_dynamodb.total == 0
    assert issuer.jwks_fetches + issuer.discovery_fetches == fetches


def test_ready_checks_both_tables(client, counted_dynamodb):
    response = client.get("/api/ready")
    assert response.status_code == 200
    assert counted_dynamodb.calls == {"describe_table": 2}
    assert set(counted_dynamodb.tables) == {"Pizza42-Orders", "Pizza42-Sessions"}


def test_menu_lists_the_four_pizzas_with_prices(client):
    menu = client.get("/api/menu").json
    assert [p["name"] for p in menu["pizzas"]] == ["Margherita", "Pepperoni", "Supreme", "Hawaiian"]
    assert menu["pizzas"][2]["prices"] == {"small": 16, "medium": 20, "large": 24}


# -- placing orders -----------------------------------------------------------------------------

def test_placing_an_order_answers_201_with_the_original_shape(client, auth):
    response = post_order(client, auth())
    assert response.status_code == 201
    body = response.json
    assert body["success"] is True and body["storage"] == "dynamodb" and body["message"]
    order = body["order"]
    assert {k: order[k] for k in ("pizza", "size", "quantity", "total", "status", "userId")} == {
        "pizza": "Margherita", "size": "medium", "quantity": 2, "total": 32, "status": "confirmed", "userId": USER}
    assert response.headers["Location"] == f"/api/orders/{order['id']}"


def test_the_server_stamps_the_date_and_ignores_the_clients(client, auth):
    order = post_order(client, auth(), {**ORDER, "date": "1999-12-31T00:00:00Z"}).json["order"]
    assert not order["date"].startswith("1999")
    assert order["date"].endswith("Z")


def test_orders_are_keyed_by_the_tokens_subject_not_the_body(client, auth, dynamodb):
    post_order(client, auth(), {**ORDER, "userId": "auth0|victim", "user_id": "auth0|victim"})
    assert stored_orders(dynamodb, "auth0|victim") == []
    assert len(stored_orders(dynamodb)) == 1


def test_a_matching_client_total_is_accepted(client, auth):
    assert post_order(client, auth(), {**ORDER, "total": 32.0}).status_code == 201


def test_placing_an_order_costs_one_dynamodb_request(client, auth, counted_dynamodb):
    post_order(client, auth())  # the first order also builds the new customer's summary
    counted_dynamodb.calls.clear()
    post_order(client, auth())
    assert dict(counted_dynamodb.calls) == {"transact_write_items": 1}


@pytest.mark.parametrize(("body", "field"), [
    ({**ORDER, "total": 16.99}, "total"),
    ({**ORDER, "total": "32.00"}, "total"),
    ({**ORDER, "pizza": "Calzone"}, "pizza"),
    ({**ORDER, "pizza": "Marg\u200berita"}, "pizza"),
    ({**ORDER, "pizza": "\ud83c\udf55"}, "pizza"),
    ({**ORDER, "size": "family"}, "size"),
    ({**ORDER, "quantity": -1}, "quantity"),
    ({**ORDER, "quantity": 0}, "quantity"),
    ({**ORDER, "quantity": 21}, "quantity"),
    ({**ORDER, "quantity": "2"}, "quantity"),
    ({"size": "medium"}, "pizza"),
    ([ORDER], "body"),
])
def test_invalid_orders_are_422_naming_the_field_and_write_nothing(client, auth, dynamodb, body, field):
    response = post_order(client, auth(), body)
    assert response.status_code == 422
    assert response.json["error"] == "invalid_order"
    assert response.json["field"] == field
    assert stored_orders(dynamodb) == []


@pytest.mark.parametrize("raw", [b"{", b'{"pizza": "Margherita", "size": "medium", "total": NaN}',
                                 b'{"pizza": "Margherita", "size": "medium", "total": Infinity}',
                                 b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000, b""])
def test_malformed_json_is_400_and_writes_nothing(client, auth, dynamodb, raw):
    response = client.post("/api/orders", data=raw, headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"] == "malformed_json"
    assert stored_orders(dynamodb) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(client, auth, content_type, dynamodb):
    headers = {**auth(), **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/orders", data=json.dumps(ORDER), headers=headers)
    assert response.status_code == 415
    assert stored_orders(dynamodb) == []


def test_an_oversized_body_is_413(client, auth, dynamodb):
    response = post_order(client, auth(), {**ORDER, "note": "x" * 100_000})
    assert response.status_code == 413
    assert response.json["error"] == "request_entity_too_large"
    assert stored_orders(dynamodb) == []


# -- idempotency --------------------------------------------------------------------------------

def test_a_retry_with_the_same_idempotency_key_returns_the_same_order(client, auth, dynamodb):
    headers = {**auth(), "Idempotency-Key": "7b4c1c2e-retry"}
    first = post_order(client, headers)
    again = post_order(client, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json["order"] == first.json["order"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(stored_orders(dynamodb)) == 1


def test_the_same_idempotency_key_with_another_body_is_refused(client, auth, dynamodb):
    headers = {**auth(), "Idempotency-Key": "k-1"}
    post_order(client, headers)
    response = post_order(client, headers, {**ORDER, "pizza": "Supreme"})
    assert response.status_code == 422
    assert response.json["error"] == "idempotency_key_reused"
    assert len(stored_orders(dynamodb)) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
def test_a_malformed_idempotency_key_is_400(client, auth, key, dynamodb):
    response = post_order(client, {**auth(), "Idempotency-Key": key})
    assert response.status_code == 400
    assert stored_orders(dynamodb) == []


# -- who may order ------------------------------------------------------------------------------

def test_no_token_is_401_with_a_bearer_challenge(client, dynamodb):
    response = post_order(client, {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored_orders(dynamodb) == []


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Token abc.def.ghi"])
def test_wrong_scheme_or_opaque_tokens_are_401(client, header, dynamodb):
    response = post_order(client, {"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert stored_orders(dynamodb) == []


def test_an_expired_token_is_401(client, auth):
    assert post_order(client, auth(exp=1_000_000)).status_code == 401


def test_an_unverified_email_is_403_with_the_action_to_take(client, auth, dynamodb):
    response = post_order(client, auth(verified=False))
    assert response.status_code == 403
    assert response.json["action"] == "verify_email"
    assert stored_orders(dynamodb) == []


def test_an_access_token_without_the_order_scope_cannot_order(client, auth, dynamodb):
    response = post_order(client, auth(scope="openid profile"))
    assert response.status_code == 403
    assert response.json["error"] == "insufficient_scope"
    assert stored_orders(dynamodb) == []


def test_an_rbac_permission_grants_the_order_scope(client, auth):
    assert post_order(client, auth(scope="openid", permissions=["place:orders"])).status_code == 201


def test_the_legacy_spa_id_token_is_accepted(client, auth):
    headers = auth(aud=SPA_CLIENT, scope=None, email_verified=True)
    assert post_order(client, headers).status_code == 201


def test_an_id_token_from_another_client_is_401(client, auth, dynamodb):
    assert post_order(client, auth(aud="some-other-app", scope=None)).status_code == 401
    assert stored_orders(dynamodb) == []


# -- reading orders -----------------------------------------------------------------------------

def test_history_is_newest_first_with_the_profile(client, auth):
    ids = [post_order(client, auth(), {**ORDER, "pizza": p}).json["order"]["id"] for p in ("Supreme", "Hawaiian")]
    body = client.get("/api/orders", headers=auth()).json
    assert [o["id"] for o in body["orders"]] == list(reversed(ids))
    assert body["storage"] == "dynamodb" and body["next_cursor"] is None
    profile = body["customer_profile"]
    assert profile["total_orders"] == 2 and profile["total_spent"] == 74
    assert profile["data_source"] == "dynamodb"


def test_a_page_of_history_with_profile_costs_one_request(client, auth, counted_dynamodb):
    post_order(client, auth())
    counted_dynamodb.calls.clear()
    client.get("/api/orders", headers=auth())
    assert dict(counted_dynamodb.calls) == {"query": 1}


def test_cursors_walk_the_history_page_by_page(client, auth):
    ids = [post_order(client, auth()).json["order"]["id"] for _ in range(5)]
    first = client.get("/api/orders?limit=2", headers=auth()).json
    second = client.get(f"/api/orders?limit=2&cursor={first['next_cursor']}", headers=auth()).json
    third = client.get(f"/api/orders?limit=2&cursor={second['next_cursor']}", headers=auth()).json
    walked = [o["id"] for page in (first, second, third) for o in page["orders"]]
    assert walked == list(reversed(ids))
    assert third["next_cursor"] is None


def test_another_customers_cursor_only_reads_your_own_orders(client, auth):
    for _ in range(3):
        post_order(client, auth("auth0|victim"))
    cursor = client.get("/api/orders?limit=1", headers=auth("auth0|victim")).json["next_cursor"]
    body = client.get(f"/api/orders?cursor={cursor}", headers=auth("auth0|mallory")).json
    assert body["orders"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "limit=-1", "cursor=%25%25",
                                   "cursor=fn5wcm9maWxl"])
def test_bad_limits_and_cursors_are_400(client, auth, query):
    response = client.get(f"/api/orders?{query}", headers=auth())
    assert response.status_code == 400
    assert response.json["field"] in ("limit", "cursor")


def test_an_unverified_customer_cannot_read_orders(client, auth):
    assert client.get("/api/orders", headers=auth(verified=False)).status_code == 403


def test_legacy_orders_read_back_through_the_api(client, auth, dynamodb):
    put_legacy_order(dynamodb, USER, 1640995200000, total="16.99")
    body = client.get("/api/orders", headers=auth()).json
    assert body["orders"][0] == {"id": "order_1640995200000", "pizza": "Margherita", "size": "medium",
                                 "quantity": 1, "total": 16.99, "date": "2025-01-01T12:00:00.000Z",
                                 "status": "confirmed", "status_updated_at": "2025-01-01T12:00:00.000Z",
                                 "ticket": "0000", "userId": USER}
    assert body["customer_profile"]["total_spent"] == 16.99


def test_one_order_can_be_read_by_its_owner(client, auth):
    order = post_order(client, auth()).json["order"]
    assert client.get(f"/api/orders/{order['id']}", headers=auth()).json["order"] == order


def test_another_customers_order_is_404(client, auth):
    order = post_order(client, auth("auth0|bob")).json["order"]
    response = client.get(f"/api/orders/{order['id']}", headers=auth())
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize("order_id", ["order_1", "~profile", "%23idem%23x", "x" * 500])
def test_unknown_order_ids_are_404(client, auth, order_id):
    assert client.get(f"/api/orders/{order_id}", headers=auth()).status_code == 404


def test_verify_token_shows_the_verified_claims(client, auth):
    body = client.get("/api/verify-token", headers=auth()).json
    assert body["token_type"] == "access" and body["subject"] == USER
    assert body["can_place_orders"] is True
    assert body["custom_claims"]["can_place_orders"] is True


# -- errors are JSON, never internals -----------------------------------------------------------

def test_unknown_api_paths_are_json_404(client):
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_a_wrong_method_is_json_405_with_allow(client, auth):
    response = client.delete("/api/orders", headers=auth())
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert response.json["error"] == "method_not_allowed"


@pytest.fixture
def app_without_dynamodb(settings):
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"max_attempts": 1}))
    return create_app(settings, dynamodb_client=client).test_client()


@pytest.mark.parametrize(("method", "path"), [("post", "/api/orders"), ("get", "/api/orders"), ("get", "/api/ready")])
def test_dynamodb_unreachable_is_503_with_retry_after(app_without_dynamodb, auth, method, path):
    response = getattr(app_without_dynamodb, method)(path, json=ORDER, headers=auth())
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "Traceback" not in text and "botocore" not in text
