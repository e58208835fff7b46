"""The OpenAPI 3.1 document (pizza42/api/openapi.json) is valid, complete, and true to the app.

- the document validates against the OpenAPI 3.1 specification, and its examples against their schemas;
- every Flask route under /api is documented, and every documented operation is a route;
- the menu, limits and id formats it states are the code's;
- real responses, for every documented status of every operation, match the documented schema and headers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from pizza42 import claims, create_app, menu
from pizza42.api import body, openapi
from pizza42.config import load_settings
from pizza42.orders import ids, service
from pizza42.sandbox import DEMO_USERS
from pizza42.shop.access import READ_ANALYTICS, READ_SHOP_ORDERS, UPDATE_ORDER_STATUS
from tests.api.conftest import SPA_CLIENT, STAFF_PERMISSIONS, USER
from tests.dynamo_helpers import put_legacy_order

DOC = openapi.document()
DOC_URI = "https://pizza42.test/openapi.json"
REGISTRY = Registry().with_resource(DOC_URI, Resource.from_contents(DOC, default_specification=DRAFT202012))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ORDER = {"pizza": "Margherita", "size": "medium", "quantity": 2}
DEAD_ENDPOINT = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused at once


def escape(segment: str) -> str:
    """A JSON-pointer segment."""
    return segment.replace("~", "~0").replace("/", "~1")


def resolve(obj: dict) -> tuple[dict, str | None]:
    """Follow a local `$ref` (responses, headers, parameters); return the object and its pointer."""
    if "$ref" not in obj:
        return obj, None
    pointer = obj["$ref"].removeprefix("#")
    target: object = DOC
    for segment in pointer[1:].split("/"):
        target = target[segment.replace("~1", "/").replace("~0", "~")]  # type: ignore[index]
    return target, pointer  # type: ignore[return-value]


def validator_at(pointer: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for the schema at `pointer` in the document ($refs resolved)."""
    schema = {"$ref": f"{DOC_URI}#{quote(pointer, safe='/~')}"}
    return Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors_of(validator: Draft202012Validator, instance: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)]


def operations() -> Iterator[tuple[str, str, dict]]:
    for path, item in DOC["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


# -- the document itself -------------------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1():
    assert DOC["openapi"].startswith("3.1.")
    validate_openapi(DOC)  # raises OpenAPIValidationError with the offending location


def _examples() -> Iterator[tuple[str, str, object]]:
    """(label, schema pointer, example) for every example the document gives."""
    def walk(node: object, pointer: str) -> Iterator[tuple[str, str, object]]:
        if isinstance(node, dict):
            if "schema" in node and isinstance(node["schema"], dict):
                schema_pointer = pointer + "/schema"
                if "example" in node:
                    yield pointer + "/example", schema_pointer, node["example"]
                for name, example in (node.get("examples") or {}).items():
                    yield f"{pointer}/examples/{name}", schema_pointer, example["value"]
            if pointer.startswith("/components/schemas") or "/schema" in pointer:
                if isinstance(node.get("examples"), list):
                    for index, example in enumerate(node["examples"]):
                        yield f"{pointer}/examples/{index}", pointer, example
            for key, value in node.items():
                if key not in ("example", "examples"):
                    yield from walk(value, f"{pointer}/{escape(key)}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{pointer}/{index}")

    yield from walk(DOC, "")


EXAMPLES = list(_examples())


@pytest.mark.parametrize(("label", "schema_pointer", "example"), EXAMPLES, ids=[label for label, _, _ in EXAMPLES])
def test_every_example_matches_its_schema(label, schema_pointer, example):
    assert errors_of(validator_at(schema_pointer), example) == [], label


def test_the_menu_enums_and_limits_are_the_codes():
    schemas = DOC["components"]["schemas"]
    assert schemas["PizzaName"]["enum"] == list(menu.PIZZAS)
    assert schemas["Size"]["enum"] == list(menu.SIZES)
    assert schemas["OrderRequest"]["properties"]["quantity"]["maximum"] == menu.MAX_QUANTITY
    assert schemas["OrderRequest"]["properties"]["quantity"]["minimum"] == 1
    assert schemas["Menu"]["properties"]["currency"]["const"] == menu.CURRENCY
    assert schemas["Menu"]["properties"]["max_quantity"]["const"] == menu.MAX_QUANTITY
    parameters = DOC["components"]["parameters"]
    assert parameters["Limit"]["schema"]["maximum"] == service.MAX_PAGE_SIZE
    assert parameters["Limit"]["schema"]["default"] == service.DEFAULT_PAGE_SIZE
    assert parameters["IdempotencyKey"]["schema"]["maxLength"] == body._IDEMPOTENCY_KEY_MAX


def test_the_order_id_pattern_is_the_apps():
    pattern = re.compile(DOC["components"]["schemas"]["Order"]["properties"]["id"]["pattern"])
    path_parameter = DOC["paths"]["/api/orders/{order_id}"]["get"]["parameters"][0]
    assert path_parameter["schema"]["pattern"] == pattern.pattern
    for value in (ids.new_order_id(), ids.new_order_id(0), "order_1640995200000"):
        assert pattern.search(value) and ids.is_order_id(value)
    for value in ("~profile", "#idem#abc", "order_", "order_123", "order_1640995200000_UPPERCASE1"):
        assert not pattern.search(value) and not ids.is_order_id(value)


def test_cursors_the_app_hands_out_match_the_documented_pattern():
    cursor = DOC["components"]["parameters"]["Cursor"]
    pattern = re.compile(cursor["schema"]["pattern"])
    for order_id in (ids.new_order_id(), "order_1640995200000"):
        assert pattern.search(service.encode_cursor(order_id))
    example_order_id = DOC["paths"]["/api/orders/{order_id}"]["get"]["parameters"][0]["example"]
    assert service.decode_cursor(cursor["example"]) == example_order_id


def _flask_operations(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == "/api" or rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_route_is_documented_and_every_documented_operation_is_a_route(app):
    documented = {(path, method) for path, method, _ in operations()}
    assert _flask_operations(app) == documented


SHOP_PERMISSIONS = {("/api/shop/orders", "get"): READ_SHOP_ORDERS,
                    ("/api/shop/orders/{order_id}/status", "post"): UPDATE_ORDER_STATUS,
                    ("/api/shop/analytics", "get"): READ_ANALYTICS}


def test_operations_have_ids_and_the_right_security():
    public = {"/api/health", "/api/ready", "/api/menu", "/api/openapi.json"}
    operation_ids = [op["operationId"] for _, _, op in operations()]
    assert len(set(operation_ids)) == len(operation_ids)
    for path, method, op in operations():
        permission = SHOP_PERMISSIONS.get((path, method))
        expected = [] if path in public else [{"bearerAuth": [permission] if permission else []}]
        assert op["security"] == expected, path
        if path not in public:
            assert "401" in op["responses"], path
        if permission:  # the shop's refusals say nothing about the shop
            assert op["responses"]["403"] == {"$ref": "#/components/responses/InsufficientPermission"}, path
    assert {path for path, _ in SHOP_PERMISSIONS} == {path for path, _, _ in operations() if "/shop/" in path}
    scheme = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")


def test_a_shop_order_is_the_customers_order_plus_its_history_and_customer():
    schemas = DOC["components"]["schemas"]
    shop, order = schemas["ShopOrder"], schemas["Order"]
    assert shop["properties"] == {**order["properties"], "history": shop["properties"]["history"],
                                  "customer": shop["properties"]["customer"]}
    assert shop["required"] == [*order["required"], "history", "customer"]


def test_the_status_enum_is_the_lifecycles():
    from pizza42.orders import lifecycle

    assert DOC["components"]["schemas"]["OrderStatus"]["enum"] == list(lifecycle.STATUSES)


def test_every_error_response_uses_the_error_schema():
    for name, response in DOC["components"]["responses"].items():
        schema = response["content"]["application/json"]["schema"]
        assert {"$ref": "#/components/schemas/Error"} in schema["allOf"], name
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert "$ref" in response, f"{method} {path} {status}: use a components response"


def test_the_document_is_served_publicly_and_read_once(client, counted_dynamodb):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert openapi.document() is openapi.document()
    assert counted_dynamodb.total == 0


# -- real responses against the document ---------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """A real request that should get `status` from the documented operation `method path`."""

    name: str
    method: str
    path: str  # the documented path template
    status: int
    send: Callable[[pytest.FixtureRequest], object]
    component: str | None = None  # a components response, for answers no operation owns (405, unknown path)


def _client(request: pytest.FixtureRequest):
    return request.getfixturevalue("client")


def _auth(request: pytest.FixtureRequest, sub: str = USER, **overrides) -> dict:
    return request.getfixturevalue("auth")(sub, **overrides)


def _post(request, body=ORDER, headers=None, **kwargs):
    headers = _auth(request) if headers is None else headers
    return _client(request).post("/api/orders", json=body, headers=headers, **kwargs)


def _place(request, sub: str = USER) -> dict:
    response = _post(request, headers=_auth(request, sub))
    assert response.status_code == 201
    return response.get_json()["order"]


def _history_page_two(request):
    for _ in range(3):
        _place(request)
    first = _client(request).get("/api/orders?limit=1", headers=_auth(request)).get_json()
    assert first["next_cursor"]
    return _client(request).get(f"/api/orders?limit=1&cursor={first['next_cursor']}", headers=_auth(request))


def _legacy_history(request):
    put_legacy_order(request.getfixturevalue("dynamodb"), USER, 1640995200000, total="16.99", created_at=None)
    put_legacy_order(request.getfixturevalue("dynamodb"), USER, 1640995300000, pizza="Quattro", size="xl")
    return _client(request).get("/api/orders", headers=_auth(request))


def _replayed(request):
    headers = {**_auth(request), "Idempotency-Key": "openapi-replay"}
    _post(request, headers=headers)
    response = _post(request, headers=headers)
    assert response.headers["Idempotent-Replayed"] == "true"
    return response


def _reused_key(request):
    headers = {**_auth(request), "Idempotency-Key": "openapi-reuse"}
    _post(request, headers=headers)
    return _post(request, {**ORDER, "pizza": "Supreme"}, headers=headers)


def _action_claims(sub: str) -> dict:
    """The namespaced claims the Action writes, as the sandbox's demo customer carries them (checked equal)."""
    return {name: value for name, value in DEMO_USERS[sub].items() if name.startswith(claims.NAMESPACE)}


def _id_token_headers(request) -> dict:
    return _auth(request, aud=SPA_CLIENT, scope=None, email_verified=True)


@pytest.fixture
def storage_down(settings):
    """The app with DynamoDB unreachable (connection refused at once, no retries)."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=DEAD_ENDPOINT,
                            config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"max_attempts": 1}))
    return create_app(settings, dynamodb_client=dynamodb).test_client()


@pytest.fixture
def identity_provider_down(signing_key, dynamodb):
    """The app whose issuer cannot be reached (no keys cached), and a token naming that issuer."""
    settings = load_settings({"SECRET_KEY": "test-secret-key-0123456789", "AUTH0_ISSUER": DEAD_ENDPOINT,
                              "AUTH0_CLIENT_ID": "pizza42-web", "AUTH0_CLIENT_SECRET": "web-secret"})
    app = create_app(settings, dynamodb_client=dynamodb)
    now = int(time.time())
    token = signing_key.sign({"iss": DEAD_ENDPOINT, "sub": USER, "aud": settings.auth0_audience, "iat": now,
                              "exp": now + 600, "scope": "place:orders", claims.CAN_PLACE_ORDERS: True})
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def _storage_down(request, method: str, path: str):
    auth = _auth(request)
    return getattr(request.getfixturevalue("storage_down"), method)(path, json=ORDER, headers=auth)


def _idp_down(request, method: str, path: str):
    client, headers = request.getfixturevalue("identity_provider_down")
    return getattr(client, method)(path, json=ORDER, headers=headers)


def _protected(method: str, path: str, url: str) -> list[Scenario]:
    """The refusals every bearer-protected operation shares."""
    def call(request, headers):
        return getattr(_client(request), method)(url, json=ORDER, headers=headers)

    return [
        Scenario(f"{method} {url} without a token", method, path, 401, lambda r: call(r, {})),
        Scenario(f"{method} {url} with a forged token", method, path, 401,
                 lambda r: call(r, {"Authorization": "Bearer not.a-valid.jwt"})),
        Scenario(f"{method} {url} with an expired token", method, path, 401,
                 lambda r: call(r, _auth(r, exp=1_000_000))),
        Scenario(f"{method} {url} with the issuer down", method, path, 503, lambda r: _idp_down(r, method, url)),
    ]


ORDER_PATH = "/api/orders/{order_id}"
SCENARIOS = [
    Scenario("health", "get", "/api/health", 200, lambda r: _client(r).get("/api/health")),
    Scenario("ready", "get", "/api/ready", 200, lambda r: _client(r).get("/api/ready")),
    Scenario("ready, storage down", "get", "/api/ready", 503, lambda r: _storage_down(r, "get", "/api/ready")),
    Scenario("menu", "get", "/api/menu", 200, lambda r: _client(r).get("/api/menu")),
    Scenario("openapi", "get", "/api/openapi.json", 200, lambda r: _client(r).get("/api/openapi.json")),
    # placing orders
    Scenario("place", "post", "/api/orders", 201, lambda r: _post(r)),
    Scenario("place with total and date", "post", "/api/orders", 201,
             lambda r: _post(r, {**ORDER, "total": 32, "date": "1999-01-01", "userId": "auth0|other"})),
    Scenario("place, idempotent replay", "post", "/api/orders", 201, _replayed),
    Scenario("place with an id token", "post", "/api/orders", 201, lambda r: _post(r, headers=_id_token_headers(r))),
    Scenario("malformed json", "post", "/api/orders", 400,
             lambda r: _client(r).post("/api/orders", data=b"{", headers={**_auth(r), "Content-Type":
                                                                             "application/json"})),
    Scenario("bad idempotency key", "post", "/api/orders", 400,
             lambda r: _post(r, headers={**_auth(r), "Idempotency-Key": "has space"})),
    Scenario("unverified email", "post", "/api/orders", 403, lambda r: _post(r, headers=_auth(r, verified=False))),
    Scenario("missing scope", "post", "/api/orders", 403, lambda r: _post(r, headers=_auth(r, scope="openid"))),
    Scenario("too large", "post", "/api/orders", 413, lambda r: _post(r, {**ORDER, "note": "x" * 20_000})),
    Scenario("too large for flask", "post", "/api/orders", 413, lambda r: _post(r, {**ORDER, "note": "x" * 70_000})),
    Scenario("not json", "post", "/api/orders", 415,
             lambda r: _client(r).post("/api/orders", data="pizza=Supreme", headers={**_auth(r), "Content-Type":
                                                                                   "text/plain"})),
    Scenario("invalid order", "post", "/api/orders", 422, lambda r: _post(r, {**ORDER, "quantity": 21})),
    Scenario("wrong total", "post", "/api/orders", 422, lambda r: _post(r, {**ORDER, "total": 31.99})),
    Scenario("body not an object", "post", "/api/orders", 422, lambda r: _post(r, [ORDER])),
    Scenario("idempotency key reused", "post", "/api/orders", 422, _reused_key),
    Scenario("place, storage down", "post", "/api/orders", 503, lambda r: _storage_down(r, "post", "/api/orders")),
    *_protected("post", "/api/orders", "/api/orders"),
    # reading orders
    Scenario("empty history", "get", "/api/orders", 200, lambda r: _client(r).get("/api/orders", headers=_auth(r))),
    Scenario("history", "get", "/api/orders", 200,
             lambda r: [_place(r) for _ in range(2)] and _client(r).get("/api/orders", headers=_auth(r))),
    Scenario("history page two (profile null)", "get", "/api/orders", 200, _history_page_two),
    Scenario("legacy history", "get", "/api/orders", 200, _legacy_history),
    Scenario("bad limit", "get", "/api/orders", 400, lambda r: _client(r).get("/api/orders?limit=0", headers=_auth(r))),
    Scenario("bad cursor", "get", "/api/orders", 400,
             lambda r: _client(r).get("/api/orders?cursor=fn5wcm9maWxl", headers=_auth(r))),
    Scenario("history, unverified", "get", "/api/orders", 403,
             lambda r: _client(r).get("/api/orders", headers=_auth(r, verified=False))),
    Scenario("history, storage down", "get", "/api/orders", 503, lambda r: _storage_down(r, "get", "/api/orders")),
    *_protected("get", "/api/orders", "/api/orders"),
    Scenario("one order", "get", ORDER_PATH, 200,
             lambda r: _client(r).get(f"/api/orders/{_place(r)['id']}", headers=_auth(r))),
    Scenario("one order, unverified", "get", ORDER_PATH, 403,
             lambda r: _client(r).get("/api/orders/order_1640995200000", headers=_auth(r, verified=False))),
    Scenario("another's order", "get", ORDER_PATH, 404,
             lambda r: _client(r).get(f"/api/orders/{_place(r, 'auth0|bob')['id']}", headers=_auth(r))),
    Scenario("not an order id", "get", ORDER_PATH, 404,
             lambda r: _client(r).get("/api/orders/~profile", headers=_auth(r))),
    Scenario("one order, storage down", "get", ORDER_PATH, 503,
             lambda r: _storage_down(r, "get", "/api/orders/order_1640995200000")),
    *_protected("get", ORDER_PATH, "/api/orders/order_1640995200000"),
    # token introspection
    Scenario("verify an access token", "get", "/api/verify-token", 200,
             lambda r: _client(r).get("/api/verify-token", headers=_auth(r))),
    Scenario("verify an id token", "get", "/api/verify-token", 200,
             lambda r: _client(r).get("/api/verify-token", headers=_id_token_headers(r))),
    *[Scenario(f"verify a token with every Action claim ({sub})", "get", "/api/verify-token", 200,
               lambda r, sub=sub: _client(r).get("/api/verify-token", headers=_auth(r, **_action_claims(sub))))
      for sub in sorted(DEMO_USERS)],
    Scenario("verify a minimal token", "get", "/api/verify-token", 200,
             lambda r: _client(r).get("/api/verify-token", headers=_auth(r, scope=None, **{
                 claims.EMAIL: None, claims.CAN_PLACE_ORDERS: None, claims.EMAIL_VERIFIED: None}))),
    *_protected("get", "/api/verify-token", "/api/verify-token"),
    # answers no operation owns
    Scenario("wrong method", "delete", "/api/orders", 405, lambda r: _client(r).delete("/api/orders", headers=_auth(r)),
             component="MethodNotAllowed"),
    Scenario("put on an order", "put", ORDER_PATH, 405,
             lambda r: _client(r).put("/api/orders/order_1640995200000", json=ORDER, headers=_auth(r)),
             component="MethodNotAllowed"),
    Scenario("unknown path", "get", "/api/nope", 404, lambda r: _client(r).get("/api/nope"), component="NotFound"),
]


# -- the shop's side and the customer's cancellation ------------------------------------------------

CANCEL_PATH, MOVE_PATH = "/api/orders/{order_id}/cancel", "/api/shop/orders/{order_id}/status"
UNKNOWN_ORDER = "order_1640995200000"


def _staff(request, permissions=(*STAFF_PERMISSIONS, READ_ANALYTICS)) -> dict:
    return request.getfixturevalue("staff_auth")(permissions)


def _cancel(request, order_id: str, headers=None):
    headers = _auth(request) if headers is None else headers
    return _client(request).post(f"/api/orders/{order_id}/cancel", headers=headers)


def _move(request, order_id: str, status: object, headers=None):
    headers = _staff(request) if headers is None else headers
    return _client(request).post(f"/api/shop/orders/{order_id}/status", json={"status": status}, headers=headers)


def _cancel_once_the_kitchen_started(request):
    order = _place(request)
    assert _move(request, order["id"], "preparing").status_code == 200
    return _cancel(request, order["id"])


def _cancel_twice(request):
    order = _place(request)
    assert _cancel(request, order["id"]).status_code == 200
    return _cancel(request, order["id"])


def _shop(request, query: str, headers=None):
    return _client(request).get(f"/api/shop/{query}", headers=_staff(request) if headers is None else headers)


def _board_unchanged(request):
    _place(request)
    first = _shop(request, "orders?status=open")
    return _client(request).get("/api/shop/orders?status=open",
                                headers={**_staff(request), "If-None-Match": first.headers["ETag"]})


def _day_page_two(request):
    orders = [_place(request) for _ in range(3)]
    day = orders[0]["date"][:10]
    first = _shop(request, f"orders?day={day}&limit=2").get_json()
    assert first["next_cursor"]
    return _shop(request, f"orders?day={day}&limit=2&cursor={first['next_cursor']}")


def _analytics_of_today(request):
    today = _place(request)["date"][:10]
    return _shop(request, f"analytics?from={today}&to={today}")


def _storage_down_staff(request, method: str, path: str):
    client = request.getfixturevalue("storage_down")
    return getattr(client, method)(path, json={"status": "preparing"}, headers=_staff(request))


def _customers_token(request) -> dict:
    return _auth(request)


SHOP_SCENARIOS = [
    # the customer cancels
    Scenario("cancel within the window", "post", CANCEL_PATH, 200, lambda r: _cancel(r, _place(r)["id"])),
    Scenario("cancel, unverified", "post", CANCEL_PATH, 403,
             lambda r: _cancel(r, UNKNOWN_ORDER, _auth(r, verified=False))),
    Scenario("cancel another's order", "post", CANCEL_PATH, 404, lambda r: _cancel(r, _place(r, "auth0|bob")["id"])),
    Scenario("cancel what is not an order", "post", CANCEL_PATH, 404, lambda r: _cancel(r, "~profile")),
    Scenario("cancel once the kitchen started", "post", CANCEL_PATH, 409, _cancel_once_the_kitchen_started),
    Scenario("cancel twice", "post", CANCEL_PATH, 409, _cancel_twice),
    Scenario("cancel, storage down", "post", CANCEL_PATH, 503,
             lambda r: _storage_down(r, "post", f"/api/orders/{UNKNOWN_ORDER}/cancel")),
    *_protected("post", CANCEL_PATH, f"/api/orders/{UNKNOWN_ORDER}/cancel"),
    # the kitchen's queue and a day's orders
    Scenario("open orders", "get", "/api/shop/orders", 200,
             lambda r: [_place(r), _place(r, "auth0|bob")] and _shop(r, "orders?status=open")),
    Scenario("no open orders", "get", "/api/shop/orders", 200, lambda r: _shop(r, "orders?status=open")),
    Scenario("open orders unchanged", "get", "/api/shop/orders", 304, _board_unchanged),
    Scenario("a day's orders", "get", "/api/shop/orders", 200,
             lambda r: _shop(r, f"orders?day={_place(r)['date'][:10]}")),
    Scenario("a day's orders, page two", "get", "/api/shop/orders", 200, _day_page_two),
    Scenario("shop orders, no filter", "get", "/api/shop/orders", 400, lambda r: _shop(r, "orders")),
    Scenario("shop orders, both filters", "get", "/api/shop/orders", 400,
             lambda r: _shop(r, "orders?status=open&day=2025-01-01")),
    Scenario("shop orders, unknown status", "get", "/api/shop/orders", 400, lambda r: _shop(r, "orders?status=done")),
    Scenario("shop orders, bad day", "get", "/api/shop/orders", 400, lambda r: _shop(r, "orders?day=2025-02-30")),
    Scenario("shop orders, bad cursor", "get", "/api/shop/orders", 400,
             lambda r: _shop(r, "orders?day=2025-01-01&cursor=bm90LWEtY3Vyc29y")),
    Scenario("shop orders, customer", "get", "/api/shop/orders", 403,
             lambda r: _shop(r, "orders?status=open", _customers_token(r))),
    Scenario("shop orders, id token", "get", "/api/shop/orders", 403,
             lambda r: _shop(r, "orders?status=open", _id_token_headers(r))),
    Scenario("shop orders, storage down", "get", "/api/shop/orders", 503,
             lambda r: _storage_down_staff(r, "get", "/api/shop/orders?status=open")),
    *_protected("get", "/api/shop/orders", "/api/shop/orders?status=open"),
    # moving an order
    Scenario("move to preparing", "post", MOVE_PATH, 200, lambda r: _move(r, _place(r)["id"], "preparing")),
    Scenario("staff cancel", "post", MOVE_PATH, 200, lambda r: _move(r, _place(r)["id"], "cancelled")),
    Scenario("move, malformed json", "post", MOVE_PATH, 400,
             lambda r: _client(r).post(f"/api/shop/orders/{UNKNOWN_ORDER}/status", data=b"{",
                                       headers={**_staff(r), "Content-Type": "application/json"})),
    Scenario("move, customer", "post", MOVE_PATH, 403, lambda r: _move(r, _place(r)["id"], "ready", _auth(r))),
    Scenario("move, read-only staff", "post", MOVE_PATH, 403,
             lambda r: _move(r, _place(r)["id"], "preparing", _staff(r, (READ_SHOP_ORDERS,)))),
    Scenario("move an unknown order", "post", MOVE_PATH, 404, lambda r: _move(r, UNKNOWN_ORDER, "preparing")),
    Scenario("move what is not an order", "post", MOVE_PATH, 404, lambda r: _move(r, "~profile", "preparing")),
    Scenario("move, skipping a step", "post", MOVE_PATH, 409, lambda r: _move(r, _place(r)["id"], "ready")),
    Scenario("move, too large", "post", MOVE_PATH, 413,
             lambda r: _client(r).post(f"/api/shop/orders/{UNKNOWN_ORDER}/status",
                                       json={"status": "ready", "note": "x" * 20_000}, headers=_staff(r))),
    Scenario("move, not json", "post", MOVE_PATH, 415,
             lambda r: _client(r).post(f"/api/shop/orders/{UNKNOWN_ORDER}/status", data="status=ready",
                                       headers={**_staff(r), "Content-Type": "text/plain"})),
    Scenario("move to an unknown status", "post", MOVE_PATH, 422, lambda r: _move(r, _place(r)["id"], "baking")),
    Scenario("move without a status", "post", MOVE_PATH, 422,
             lambda r: _client(r).post(f"/api/shop/orders/{UNKNOWN_ORDER}/status", json={}, headers=_staff(r))),
    Scenario("move, storage down", "post", MOVE_PATH, 503,
             lambda r: _storage_down_staff(r, "post", f"/api/shop/orders/{UNKNOWN_ORDER}/status")),
    *_protected("post", MOVE_PATH, f"/api/shop/orders/{UNKNOWN_ORDER}/status"),
    # the figures
    Scenario("analytics", "get", "/api/shop/analytics", 200, _analytics_of_today),
    Scenario("analytics, no range", "get", "/api/shop/analytics", 400, lambda r: _shop(r, "analytics")),
    Scenario("analytics, 93 days", "get", "/api/shop/analytics", 400,
             lambda r: _shop(r, "analytics?from=2025-01-01&to=2025-04-03")),
    Scenario("analytics, backwards", "get", "/api/shop/analytics", 400,
             lambda r: _shop(r, "analytics?from=2025-01-02&to=2025-01-01")),
    Scenario("analytics, staff", "get", "/api/shop/analytics", 403,
             lambda r: _shop(r, "analytics?from=2025-01-01&to=2025-01-02", _staff(r, STAFF_PERMISSIONS))),
    Scenario("analytics, storage down", "get", "/api/shop/analytics", 503,
             lambda r: _storage_down_staff(r, "get", "/api/shop/analytics?from=2025-01-01&to=2025-01-02")),
    *_protected("get", "/api/shop/analytics", "/api/shop/analytics?from=2025-01-01&to=2025-01-02"),
]
SCENARIOS += SHOP_SCENARIOS


def _documented_response(scenario: Scenario) -> tuple[dict, str]:
    if scenario.component:
        pointer = f"/components/responses/{scenario.component}"
        return DOC["components"]["responses"][scenario.component], pointer
    operation = DOC["paths"][scenario.path][scenario.method]
    status = str(scenario.status)
    assert status in operation["responses"], f"{scenario.method} {scenario.path} does not document {status}"
    response, pointer = resolve(operation["responses"][status])
    return response, pointer or f"/paths/{escape(scenario.path)}/{scenario.method}/responses/{status}"


def assert_conforms(scenario: Scenario, response) -> None:
    """The real response has the documented status, media type, body schema and required headers."""
    assert response.status_code == scenario.status, response.get_data(as_text=True)
    documented, pointer = _documented_response(scenario)
    if "content" not in documented:  # e.g. 304 Not Modified: no body at all
        assert response.get_data() == b""
    else:
        assert response.mimetype in documented["content"], response.mimetype
        schema_pointer = f"{pointer}/content/{escape(response.mimetype)}/schema"
        payload = response.get_json()
        assert errors_of(validator_at(schema_pointer), payload) == [], json.dumps(payload)[:2000]
    for name, header in (documented.get("headers") or {}).items():
        header, _ = resolve(header)
        value = response.headers.get(name)
        if header.get("required"):
            assert value is not None, f"missing required header {name}"
        if value is not None:
            schema_validator = Draft202012Validator(header["schema"])
            assert errors_of(schema_validator, value) == [], f"{name}: {value}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"{s.status}-{s.name}")
def test_real_responses_match_the_document(request, scenario):
    assert_conforms(scenario, scenario.send(request))


def test_every_documented_status_is_driven_by_a_scenario():
    driven = {(s.method, s.path, str(s.status)) for s in SCENARIOS if not s.component}
    documented = {(method, path, status) for path, method, op in operations() for status in op["responses"]}
    assert documented - driven == set()
    assert driven - documented == set()
    statuses = {s.status for s in SCENARIOS}
    assert statuses >= {200, 201, 400, 401, 403, 404, 405, 413, 415, 422, 503}
