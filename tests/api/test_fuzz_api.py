"""Schemathesis against the app in-process: no 5xx and no answer outside the OpenAPI document.

Every operation of pizza42/api/openapi.json is fuzzed through the WSGI app on moto (in-process and single-
threaded: moto is not thread-safe) whose table holds a customer's orders, five times: with that customer's
token, with another verified customer's token, with a manager's access token (every shop permission), with no
token, and with whatever Authorization header Schemathesis makes up. Requests are generated from the document
in both modes, positive (valid per the schema) and negative (violating it), plus Schemathesis's coverage cases
(boundaries, missing parts, unsupported methods). Each answer must be no server error, have a documented
status and content type, a body matching the documented schema and the documented required headers; no answer
may show a customer an order of anyone but the caller, and nobody but the manager ever gets an answer from the
shop's calls.

Generation is deterministic (derandomized), so CI runs the same requests every time; the number of
examples per operation keeps the whole file well over 1,000 requests and under about a minute here.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pizza42.api import openapi
from pizza42.orders import ids
from pizza42.orders import items as layout
from pizza42.orders.model import Order
from pizza42.orders.service import MAX_PAGE_SIZE
from tests.api.conftest import MANAGER, USER
from tests.conftest import TABLE

OTHER = "auth0|mallory"
EXAMPLES_PER_OPERATION = 80
MIN_REQUESTS = 1_000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck), print_blob=True)

# The orders the documented example ids point at, so the examples phase reaches the 200 answers too.
DOCUMENTED_ORDER_ID = openapi.document()["paths"]["/api/orders/{order_id}"]["get"]["parameters"][0]["example"]
SEEDED = [DOCUMENTED_ORDER_ID, "order_1640995200000", "order_1735732900000_0f3kq8x2n0"]

SCHEMA = schemathesis.openapi.from_dict(
    json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8")),  # a private copy: never the served dict
    config=schemathesis.Config.from_dict({
        "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
        "phases": {"stateful": {"enabled": False}},
    }),
)

REQUESTS: Counter[str] = Counter()  # requests sent, by "<auth> <METHOD> <path>"
STATUSES: Counter[str] = Counter()  # answers, by "<auth> <METHOD> <path> <status>"


@pytest.fixture
def seeded_app(app, dynamodb):
    """The app on moto, with a few orders of the customer (incl. the documented example id) and a summary."""
    for number, order_id in enumerate(SEEDED):
        order = Order(user_id=USER, order_id=order_id, pizza="Supreme", size="large", quantity=number + 1,
                      unit_price=Decimal("24.00"), total=Decimal("24.00") * (number + 1),
                      created_at="2025-01-01T12:00:00.000Z", user_email="alice@example.com")
        # Filed under its day, as placing it does: the shop's calls find it (and may move it).
        day = datetime.fromtimestamp(ids.order_id_millis(order_id) / 1000, UTC).date().isoformat()
        dynamodb.put_item(TableName=TABLE, Item=layout.order_to_item(order, day))
    app.extensions["pizza42.store"].rebuild_summary(USER)
    return app


def _send(case, app, label: str, authorization: str | None = None, *, keep_generated: bool = False,
          subject: str | None = None) -> None:
    """Send one generated request with the mode's Authorization header; check the answer."""
    if not keep_generated:
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if authorization:
            case.headers["Authorization"] = authorization
    response = case.call(app=app)
    REQUESTS[f"{label} {case.method} {case.operation.path}"] += 1
    STATUSES[f"{label} {case.method} {case.operation.path} {response.status_code}"] += 1
    case.validate_response(response, checks=CHECKS)
    # The shop's calls answer only staff: everyone else is refused before anything is read (an OPTIONS
    # request, which the coverage phase sends, is answered by Flask with the allowed methods only).
    if (case.operation.path.startswith("/api/shop") and label != "manager"
            and case.method.lower() == case.operation.method.lower()):
        assert response.status_code >= 400, f"{case.as_curl_command()} answered {response.status_code} to {label}"
        assert not {"order", "orders", "days"} & set(response.json()), case.as_curl_command()
    # Orders are keyed by the token's subject: no request ever shows anyone else's order.
    if (response.status_code in (200, 201) and case.operation.path.startswith("/api/orders")
            and case.method.lower() == case.operation.method.lower()):
        payload = response.json()
        orders = payload["orders"] if "orders" in payload else [payload["order"]]
        owners = {order["userId"] for order in orders}
        assert owners <= {subject}, f"{case.as_curl_command()} answered orders of {owners}, not of {subject}"


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_the_customers_token(case, seeded_app, auth):
    _send(case, seeded_app, "token", auth()["Authorization"], subject=USER)


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_another_customers_token(case, seeded_app, auth):
    """Mallory fuzzes Alice's shop: she must never see one of Alice's orders (ids and cursors included)."""
    _send(case, seeded_app, "other", auth(OTHER)["Authorization"], subject=OTHER)


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_a_managers_token(case, seeded_app, staff_auth):
    """Every shop permission (and no order scope): the shop's calls answer; nothing is ever a 5xx."""
    _send(case, seeded_app, "manager", staff_auth()["Authorization"], subject=MANAGER)


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_without_a_token(case, seeded_app):
    _send(case, seeded_app, "anonymous")


@SCHEMA.parametrize()
@FUZZ_SETTINGS
def test_fuzz_with_generated_authorization_headers(case, seeded_app):
    """Whatever Schemathesis puts in Authorization (`Bearer <garbage>`, empty, none) is refused cleanly."""
    _send(case, seeded_app, "generated", keep_generated=True)


# -- what the document cannot say: any text in a parameter ------------------------------------------------
# Schemathesis draws parameter values from the document's schemas; these draw any Unicode text at all.

TEXT = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _error_field(response) -> str | None:
    assert response.status_code < 500, response.get_data(as_text=True)
    return response.get_json().get("field") if response.status_code >= 400 else None


@TEXT
@given(limit=st.text(max_size=4))
@example(limit="\u00b2")
def test_any_limit_is_a_page_or_a_400_naming_limit(client, auth, limit):
    response = client.get("/api/orders", query_string={"limit": limit}, headers=auth())
    valid = limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_PAGE_SIZE
    assert _error_field(response) == (None if valid else "limit")


@TEXT
@given(cursor=st.text(min_size=1, max_size=60))
@example(cursor="b3JkZXJfMTY0MDk5NTIwMDAwMAo")  # a cursor of "order_1640995200000\n"
def test_any_cursor_is_a_page_of_ones_own_orders_or_a_400_naming_cursor(client, auth, cursor):
    response = client.get("/api/orders", query_string={"cursor": cursor}, headers=auth())
    if _error_field(response) is None:
        assert response.status_code == 200 and response.get_json()["orders"] == []
    else:
        assert response.status_code == 400 and _error_field(response) == "cursor"


@TEXT
@given(order_id=st.text(min_size=1, max_size=40).filter(lambda text: "/" not in text and text not in (".", "..")))
def test_any_order_id_is_404_for_a_stranger(client, auth, order_id):
    # ("/" is left out: WSGI decodes %2F before routing, so it is another path, which Werkzeug redirects.)
    response = client.get("/api/orders/" + quote(order_id, safe=""), headers=auth())
    assert response.status_code == 404 and _error_field(response) is None


def test_fuzzing_sent_enough_requests_and_reached_the_happy_paths():
    """Runs after the fuzz tests above (file order); skipped when only some of them ran in this session."""
    operations = [f"{result.ok().method.upper()} {result.ok().path}" for result in SCHEMA.get_all_operations()]
    expected = {f"{mode} {operation}" for mode in ("token", "other", "manager", "anonymous", "generated")
                for operation in operations}
    if not expected <= set(REQUESTS):
        pytest.skip("not every fuzz test ran in this session")
    print(f"\nschemathesis sent {sum(REQUESTS.values())} requests (by auth, request, status):")
    for key, count in sorted(STATUSES.items()):
        print(f"  {count:5d}  {key}")
    assert sum(REQUESTS.values()) >= MIN_REQUESTS
    for answer in ("token POST /api/orders 201", "token GET /api/orders 200", "token GET /api/orders/{order_id} 200",
                   "other GET /api/orders/{order_id} 404", "anonymous POST /api/orders 401",
                   "token GET /api/shop/orders 403", "manager GET /api/shop/orders 200",
                   "manager POST /api/shop/orders/{order_id}/status 200", "manager GET /api/shop/analytics 200"):
        assert STATUSES[answer] > 0, answer
