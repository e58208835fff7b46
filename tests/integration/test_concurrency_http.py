"""Concurrent customers over HTTP: gunicorn's 2 processes x 4 threads racing for one customer's summary.

The app reaches the emulator through `DynamoProxy`, which forwards one request at a time: moto is not
thread-safe, and these tests measure the app's races (lost updates, double writes), not moto's. The
proxy also counts DynamoDB requests by `X-Amz-Target`, which gives the cost of each API call.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from pizza42.orders import figures
from pizza42.shop.analytics import report
from pizza42.shop.store import ShopStore
from tests.conftest import TABLE
from tests.integration.harness import PRICES, count_orders, new_customer, order_ids, post_order, price

pytestmark = pytest.mark.slow

CLIENT_THREADS = 16
ORDERS = 200

_local = threading.local()


def _keys(dynamodb) -> set[tuple[str, str]]:
    """The key of every item in the shared orders table."""
    pages = dynamodb.get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression="user_id, order_id")
    return {(item["user_id"]["S"], item["order_id"]["S"]) for page in pages for item in page["Items"]}


@pytest.fixture(autouse=True)
def _leave_the_table_as_found(dynamodb) -> Iterator[None]:
    """Each test takes out the orders, summaries and idempotency records it added (the shop's figures stay).

    moto copies the whole table for every transaction: the hundreds of orders these tests place would make
    every later transaction on the shared table slower (about 0.2 s each at 1,200 items, measured), until 20
    concurrent requests queue past the app's read timeout and get 503s the app is right to give.
    """
    before = _keys(dynamodb)
    yield
    added = sorted(key for key in _keys(dynamodb) - before if not figures.is_shop_partition(key[0]))
    for start in range(0, len(added), 25):
        dynamodb.batch_write_item(RequestItems={TABLE: [
            {"DeleteRequest": {"Key": {"user_id": {"S": user}, "order_id": {"S": order}}}}
            for user, order in added[start:start + 25]]})


def _session() -> requests.Session:
    """One keep-alive HTTP session per client thread."""
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def _all_pages(base_url: str, headers: dict, proxy, limit: int) -> tuple[list[dict], dict | None, list[Counter]]:
    """Walk the history with the API's cursors; the orders, the profile and the DynamoDB cost of each page."""
    orders: list[dict] = []
    profile = None
    costs: list[Counter] = []
    cursor = None
    while True:
        before = proxy.snapshot()
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = requests.get(base_url + "/api/orders", params=params, headers=headers, timeout=15)
        costs.append(proxy.since(before))
        assert answer.status_code == 200, answer.text
        body = answer.json(parse_float=Decimal)
        orders += body["orders"]
        profile = profile or body["customer_profile"]
        cursor = body["next_cursor"]
        if cursor is None:
            return orders, profile, costs


def test_200_concurrent_orders_for_one_customer_are_all_stored_and_counted(app_server, proxy, dynamodb, auth):
    customer = new_customer()
    headers = auth(customer)
    rng = random.Random(42)
    plan = [(rng.choice(list(PRICES)), rng.choice(["small", "medium", "large"]), rng.randint(1, 5))
            for _ in range(ORDERS)]

    def place(item: tuple[str, str, int]) -> requests.Response:
        return post_order(app_server.url, headers, *item, session=_session())

    before = proxy.snapshot()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        answers = list(pool.map(place, plan))
    cost = proxy.since(before)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: ORDERS}, statuses
    placed = [a.json(parse_float=Decimal)["order"] for a in answers]
    assert len({o["id"] for o in placed}) == ORDERS
    expected_total = sum(price(*item) for item in plan)
    assert sum(o["total"] for o in placed) == expected_total

    # What the table holds, seen by the test's own client (not through the app).
    assert count_orders(dynamodb, customer) == ORDERS
    assert sorted(order_ids(dynamodb, customer)) == sorted(o["id"] for o in placed)

    # The summary kept in each order's transaction is exact, and every page costs one request.
    orders, profile, page_costs = _all_pages(app_server.url, headers, proxy, limit=100)
    assert [o["id"] for o in orders] == sorted((o["id"] for o in placed), reverse=True)
    assert profile["total_orders"] == ORDERS
    assert profile["total_spent"] == expected_total
    pizzas = Counter()
    for pizza, _, quantity in plan:
        pizzas[pizza] += quantity
    assert profile["pizza_counts"] == dict(pizzas)
    assert all(page == Counter({"Query": 1}) for page in page_costs), page_costs
    print(f"\n[measure] {ORDERS} concurrent POSTs ({CLIENT_THREADS} client threads), new customer: "
          f"DynamoDB requests {dict(cost)}; {len(page_costs)} GET pages cost {[dict(c) for c in page_costs]}")
    # One transaction per order, plus the few requests that build the first summary.
    assert cost["TransactWriteItems"] >= ORDERS


def test_200_customers_ordering_at_once_all_succeed_and_the_shops_figures_equal_their_sums(
        app_server, proxy, dynamodb, auth):
    rng = random.Random(7)
    plan = [(new_customer(), rng.choice(list(PRICES)), rng.choice(["small", "medium", "large"]), rng.randint(1, 5))
            for _ in range(ORDERS)]
    headers = {customer: auth(customer) for customer, *_ in plan}
    start = threading.Barrier(CLIENT_THREADS)

    def place(item: tuple[str, str, str, int]) -> requests.Response:
        session = _session()
        if not getattr(_local, "started", False):  # every client thread starts at the same moment
            _local.started = True
            start.wait(30)
        return post_order(app_server.url, headers[item[0]], *item[1:], session=session)

    # Today and tomorrow: the 200 orders take seconds, and a run may cross midnight while they are placed.
    day = ShopStore(dynamodb, TABLE).shop_time.today(time.time())
    days = (day, day + timedelta(days=1))
    before_figures = report(ShopStore(dynamodb, TABLE), *days).totals
    before = proxy.snapshot()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        answers = list(pool.map(place, plan))
    cost = proxy.since(before)

    assert Counter(a.status_code for a in answers) == {201: ORDERS}, [a.text for a in answers if a.status_code != 201]
    placed = [a.json(parse_float=Decimal)["order"] for a in answers]
    after = report(ShopStore(dynamodb, TABLE), *days).totals
    assert after.orders - before_figures.orders == ORDERS
    assert after.new_customers - before_figures.new_customers == ORDERS
    assert after.revenue - before_figures.revenue == sum(o["total"] for o in placed) == sum(
        price(p, s, q) for _, p, s, q in plan)
    for pizza in PRICES:
        assert after.pizzas[pizza] - before_figures.pizzas[pizza] == sum(1 for _, p, _, _ in plan if p == pizza)
    # Each new customer's first order: one refused transaction (no summary yet), its summary built, the order.
    # Anything beyond is a retry: contention for a shard of the figures, or the SDK's own after a timeout.
    extra = cost["TransactWriteItems"] - 2 * ORDERS
    print(f"\n[measure] {ORDERS} customers at once ({CLIENT_THREADS} client threads): DynamoDB requests "
          f"{dict(cost)}; transactions retried (contention or SDK retries): {extra}")
    assert extra >= 0


def test_one_dynamodb_request_per_order_and_per_page(app_server, proxy, auth):
    customer = new_customer()
    headers = auth(customer)
    before = proxy.snapshot()
    first = post_order(app_server.url, headers)
    first_cost = proxy.since(before)
    assert first.status_code == 201

    costs = []
    for index in range(6):
        before = proxy.snapshot()
        key = str(uuid.uuid4()) if index % 2 else None
        answer = post_order(app_server.url, headers, "Pepperoni", "small", index + 1, key=key)
        costs.append(proxy.since(before))
        assert answer.status_code == 201
    assert all(cost == Counter({"TransactWriteItems": 1}) for cost in costs), costs

    before = proxy.snapshot()
    page = requests.get(app_server.url + "/api/orders", params={"limit": 3}, headers=headers, timeout=10)
    page_cost = proxy.since(before)
    assert page.status_code == 200 and page.json()["next_cursor"]
    before = proxy.snapshot()
    second = requests.get(app_server.url + "/api/orders", params={"limit": 3, "cursor": page.json()["next_cursor"]},
                          headers=headers, timeout=10)
    second_cost = proxy.since(before)
    assert second.status_code == 200 and second.json()["customer_profile"] is None
    before = proxy.snapshot()
    one = requests.get(app_server.url + first.headers["Location"], headers=headers, timeout=10)
    one_cost = proxy.since(before)
    assert one.status_code == 200
    assert page_cost == second_cost == Counter({"Query": 1})
    assert one_cost == Counter({"GetItem": 1})
    print(f"\n[measure] first order of a new customer: {dict(first_cost)}; later POSTs: {dict(costs[0])} each; "
          f"GET page: {dict(page_cost)}; GET next page: {dict(second_cost)}; GET one order: {dict(one_cost)}")


def test_20_concurrent_retries_with_one_idempotency_key_make_one_order(app_server, proxy, dynamodb, auth):
    customer = new_customer()
    headers = auth(customer)
    key = str(uuid.uuid4())
    start = threading.Barrier(20)

    def retry(_: int) -> requests.Response:
        session = _session()
        start.wait(10)
        return post_order(app_server.url, headers, "Hawaiian", "medium", 3, key=key, session=session)

    before = proxy.snapshot()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(retry, range(20)))
    cost = proxy.since(before)

    assert Counter(a.status_code for a in answers) == {201: 20}, [a.text for a in answers if a.status_code != 201]
    ids = {a.json()["order"]["id"] for a in answers}
    assert len(ids) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    assert {a.json(parse_float=Decimal)["order"]["total"] for a in answers} == {price("Hawaiian", "medium", 3)}
    assert count_orders(dynamodb, customer) == 1
    print(f"\n[measure] 20 concurrent retries of one Idempotency-Key (new customer): DynamoDB requests {dict(cost)}")

    # The same key with another body is refused, and still nothing more is written.
    other = post_order(app_server.url, headers, "Hawaiian", "large", 3, key=key)
    assert other.status_code in (409, 422) and other.json()["error"] == "idempotency_key_reused"
    assert count_orders(dynamodb, customer) == 1
    listed = requests.get(app_server.url + "/api/orders", headers=headers, timeout=10).json(parse_float=Decimal)
    assert listed["customer_profile"]["total_orders"] == 1
    assert listed["customer_profile"]["total_spent"] == price("Hawaiian", "medium", 3)
