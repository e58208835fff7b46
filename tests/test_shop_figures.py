"""The shop's reads and kept figures on moto: the board, a day, the analytics, and the operator's commands."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest

from pizza42.orders import figures, maintenance, service
from pizza42.orders.figures import ShopTime
from pizza42.orders.lifecycle import CANCELLED, COMPLETED, CONFIRMED, PREPARING, READY, STAFF
from pizza42.orders.model import validate_order_request
from pizza42.orders.store import DAY_INDEX, OPEN_INDEX, OrderStore
from pizza42.shop import analytics
from pizza42.shop.store import ShopStore
from tests.conftest import TABLE
from tests.dynamo_helpers import CountingClient, put_legacy_order

COOK = "auth0|cook"
MENU = [("Margherita", "small"), ("Pepperoni", "large"), ("Supreme", "medium"), ("Hawaiian", "large")]


def place(store, user, pizza="Margherita", size="medium", quantity=1):
    order, _ = store.place(user, f"{user}@example.com", validate_order_request(
        {"pizza": pizza, "size": size, "quantity": quantity}))
    return order


def placed_on(store, *orders) -> tuple[date, str]:
    """The shop-local day and hour ("HH") the orders were placed in, read from their ids, never from the clock
    (a run that crosses midnight between placing and reading would look at the wrong day)."""
    moments = {store.shop_time.of_order(order.order_id) for order in orders}
    assert len(moments) == 1, f"the orders straddle an hour: {moments}"
    day, hour = moments.pop()
    return date.fromisoformat(day), f"{hour:02d}"


def today(store, *orders) -> date:
    """The shop-local day the orders were placed on."""
    return placed_on(store, *orders)[0]


def totals(shop: ShopStore, first: date, last: date | None = None) -> dict:
    return analytics.report(shop, first, last or first).to_json()["totals"]


def days_of(store, orders) -> tuple[date, date]:
    """The first and last shop-local days of many orders (placing them may take a midnight)."""
    days = sorted({today(store, order) for order in orders})
    return days[0], days[-1]


def test_the_board_lists_open_orders_oldest_first_and_drops_finished_ones(store, dynamodb):
    shop = ShopStore(dynamodb, TABLE)
    orders = [place(store, f"auth0|c{n}") for n in range(4)]
    store.change_status("auth0|c0", orders[0].order_id, PREPARING, actor=STAFF, by=COOK)
    store.change_status("auth0|c1", orders[1].order_id, CANCELLED, actor=STAFF, by=COOK)
    for step in (PREPARING, READY, COMPLETED):
        store.change_status("auth0|c2", orders[2].order_id, step, actor=STAFF, by=COOK)
    board = shop.board()
    assert [(o.order_id, o.status) for o in board.orders] == [(orders[0].order_id, PREPARING),
                                                              (orders[3].order_id, CONFIRMED)]


def test_a_board_refresh_is_one_query_and_its_tag_changes_only_when_the_board_does(store, dynamodb):
    counted = CountingClient(dynamodb)
    shop = ShopStore(counted, TABLE)
    order = place(store, "auth0|a")
    first = shop.board()
    assert counted.total == 1 and counted.calls["query"] == 1
    assert counted.requests[0][1]["IndexName"] == OPEN_INDEX
    assert shop.board().etag == first.etag
    store.change_status("auth0|a", order.order_id, PREPARING, actor=STAFF, by=COOK)
    moved = shop.board()
    assert moved.etag != first.etag
    place(store, "auth0|b")
    assert shop.board().etag != moved.etag


def test_a_day_lists_every_status_in_pages_and_never_another_day(store, dynamodb):
    shop = ShopStore(dynamodb, TABLE)
    orders = [place(store, f"auth0|c{n}") for n in range(5)]
    store.change_status("auth0|c1", orders[1].order_id, CANCELLED, actor=STAFF, by=COOK)
    seen, cursor = [], None
    while True:
        page = shop.day(today(store, *orders), 2, cursor)
        assert len(page.orders) <= 2
        seen += page.orders
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [o.order_id for o in seen] == [o.order_id for o in orders]
    assert {o.status for o in seen} == {CONFIRMED, CANCELLED}
    assert shop.day(date(2020, 1, 1), 10).orders == []


def test_day_listing_uses_the_day_index(store, dynamodb):
    counted = CountingClient(dynamodb)
    ShopStore(counted, TABLE).day(date(2026, 1, 1), 10)
    assert [(op, params["IndexName"]) for op, params in counted.requests] == [("query", DAY_INDEX)]


def test_the_figures_are_exact_per_pizza_size_hour_and_new_customer_with_cancellations_taken_out(store, dynamodb):
    shop = ShopStore(dynamodb, TABLE)
    a1 = place(store, "auth0|a", "Margherita", "small", 2)
    place(store, "auth0|a", "Pepperoni", "large")
    b1 = place(store, "auth0|b", "Supreme", "medium", 3)
    c1 = place(store, "auth0|c", "Margherita", "large")
    service.cancel_order(store, "auth0|b", b1.order_id, 300)
    store.change_status("auth0|a", a1.order_id, PREPARING, actor=STAFF, by=COOK)  # no effect on figures
    day, hour = placed_on(store, a1, c1)
    figures_today = totals(shop, day)
    assert figures_today["orders"] == 3 and figures_today["cancelled"] == 1
    assert figures_today["revenue"] == float(Decimal("24") + Decimal("22") + Decimal("20"))
    assert figures_today["new_customers"] == 2  # a and c; b's first order was cancelled
    assert figures_today["returning_orders"] == 1
    assert figures_today["pizzas"] == {"Margherita": 2, "Pepperoni": 1, "Supreme": 0, "Hawaiian": 0}
    assert figures_today["sizes"] == {"small": 1, "medium": 0, "large": 2}
    assert figures_today["hours"][hour] == 3
    assert figures_today["cancellation_rate"] == 0.25
    counted = maintenance.figures_from_orders(store)[day.isoformat()]
    assert (counted.orders, counted.revenue, counted.cancelled, counted.new_customers) == (3, Decimal("66"), 1, 2)


def test_the_analytics_cost_one_query_per_shard_whatever_the_range(store, dynamodb):
    counted = CountingClient(dynamodb)
    shop = ShopStore(counted, TABLE)
    for n in range(30):
        place(store, f"auth0|c{n}")
    analytics.report(shop, date(2026, 9, 5), date(2026, 12, 5))
    assert counted.calls == {"query": figures.SHARDS}


def test_shop_days_follow_the_shop_time_zone():
    tokyo = ShopTime(ZoneInfo("Asia/Tokyo"))
    millis = int(datetime(2026, 12, 5, 20, 30, tzinfo=UTC).timestamp() * 1000)
    assert tokyo.day_and_hour(millis) == ("2026-12-06", 5)
    assert ShopTime().day_and_hour(millis) == ("2026-12-05", 20)


def test_orders_placed_at_once_by_200_customers_all_succeed_and_the_figures_equal_their_sums(dynamodb):
    serialised = CountingClient(dynamodb, serialise=True)  # moto is not thread-safe; our races remain ours
    store = OrderStore(serialised, TABLE)
    choices = [(f"auth0|customer{n}", *random.choice(MENU), random.randint(1, 4)) for n in range(200)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        placed = list(pool.map(lambda c: place(store, c[0], c[1], c[2], c[3]), choices))
    assert len({o.order_id for o in placed}) == 200
    day = totals(ShopStore(dynamodb, TABLE), *days_of(store, placed))
    assert day["orders"] == 200 and day["new_customers"] == 200
    assert Decimal(str(day["revenue"])) == sum(o.total for o in placed)
    for pizza, _ in MENU:
        assert day["pizzas"][pizza] == sum(1 for o in placed if o.pizza == pizza)
    shards = {item["user_id"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]
              if figures.is_shop_partition(item["user_id"]["S"])}
    assert len(shards) > 1  # spread over shards, not one hot item


def test_rebuild_figures_gives_the_kept_figures_back(store, dynamodb):
    shop = ShopStore(dynamodb, TABLE)
    placed = []
    for n in range(12):
        placed.append(order := place(store, f"auth0|c{n % 5}", *MENU[n % 4]))
        if n % 3 == 0:
            service.cancel_order(store, order.user_id, order.order_id, 300)
    first, last = days_of(store, placed)
    kept = totals(shop, first, last)
    dynamodb.update_item(TableName=TABLE, Key={"user_id": {"S": figures.shard_key(3)},
                                               "order_id": {"S": figures.day_key(last.isoformat())}},
                         UpdateExpression="ADD orders :n", ExpressionAttributeValues={":n": {"N": "40"}})
    assert totals(shop, first, last)["orders"] == kept["orders"] + 40  # drifted
    assert maintenance.rebuild_figures(store) == len({first, last})
    assert totals(shop, first, last) == kept


@pytest.fixture
def old_table():
    """A DynamoDB table as create-table made it before the kitchen existed, holding orders of that time."""
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"},
                                       {"AttributeName": "order_id", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"},
                                                  {"AttributeName": "order_id", "AttributeType": "S"}])
        yield client


def test_create_table_adds_the_indexes_to_an_old_table_and_the_backfill_files_old_orders(old_table):
    now = datetime.now(UTC).timestamp()
    recent_ms, old_ms = int((now - 600) * 1000), int(datetime(2025, 1, 1, 12, tzinfo=UTC).timestamp() * 1000)
    recent = put_legacy_order(old_table, "auth0|legacy", recent_ms, created_at=None)
    old = put_legacy_order(old_table, "auth0|legacy", old_ms, pizza="Supreme", size="large", total="24")
    store, shop = OrderStore(old_table, TABLE), ShopStore(old_table, TABLE)
    assert store.create_table() is False
    indexes = old_table.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == sorted([OPEN_INDEX, DAY_INDEX])
    assert shop.board().orders == []  # not filed yet
    result = maintenance.backfill_shop_keys(store, now, keep_open_seconds=12 * 3600)
    assert (result.filed, result.queued, result.completed) == (2, 1, 1)
    assert [o.order_id for o in shop.board().orders] == [recent]
    assert store.get("auth0|legacy", old).status == COMPLETED
    assert store.get("auth0|legacy", old).history[-1].by == maintenance.BACKFILL_BY
    assert [o.order_id for o in shop.day(date(2025, 1, 1), 10).orders] == [old]
    assert maintenance.backfill_shop_keys(store, now, 12 * 3600).filed == 0  # safe to run twice
    maintenance.rebuild_figures(store)
    old_day = totals(shop, date(2025, 1, 1))
    assert (old_day["orders"], old_day["revenue"], old_day["new_customers"]) == (1, 24.0, 1)
    # Staff can now move the recent legacy order like any other.
    assert service.move_order(store, recent, PREPARING, COOK).status == PREPARING


def test_after_the_time_zone_changes_the_backfill_moves_orders_to_their_new_day(store, dynamodb):
    evening = int(datetime(2026, 12, 5, 20, 30, tzinfo=UTC).timestamp() * 1000)  # 05:30 on the 6th in Tokyo
    noon = int(datetime(2026, 12, 5, 1, 0, tzinfo=UTC).timestamp() * 1000)  # 10:00 on the 5th in Tokyo
    late, early = (put_legacy_order(dynamodb, "auth0|zone", millis) for millis in (evening, noon))
    maintenance.backfill_shop_keys(store, evening / 1000 + 60, 12 * 3600)  # filed in UTC, as the shop was
    tokyo_store = OrderStore(dynamodb, TABLE, shop_time=ShopTime(ZoneInfo("Asia/Tokyo")))
    tokyo_shop = ShopStore(dynamodb, TABLE, shop_time=tokyo_store.shop_time)
    assert [o.order_id for o in tokyo_shop.day(date(2026, 12, 5), 10).orders] == [early, late]  # UTC's day

    result = maintenance.backfill_shop_keys(tokyo_store, evening / 1000 + 120, 12 * 3600)
    assert (result.filed, result.refiled) == (0, 1)  # only the evening order's day differs in Tokyo
    assert [o.order_id for o in tokyo_shop.day(date(2026, 12, 5), 10).orders] == [early]
    assert [o.order_id for o in tokyo_shop.day(date(2026, 12, 6), 10).orders] == [late]
    assert maintenance.backfill_shop_keys(tokyo_store, evening / 1000 + 180, 12 * 3600).refiled == 0  # twice: no-op
    maintenance.rebuild_figures(tokyo_store)
    assert totals(tokyo_shop, date(2026, 12, 6))["orders"] == totals(tokyo_shop, date(2026, 12, 5))["orders"] == 1
