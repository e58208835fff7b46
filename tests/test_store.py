"""OrderStore on moto: atomic order + summary writes, pagination, idempotency, legacy items."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import boto3
import pytest
from botocore.config import Config

from pizza42.orders import items as layout
from pizza42.orders.errors import IdempotencyKeyReused, OrderNotFound, StorageUnavailable
from pizza42.orders.model import validate_order_request
from pizza42.orders.store import OrderStore
from tests.conftest import TABLE
from tests.dynamo_helpers import CountingClient, put_legacy_order

USER = "auth0|alice"


def request(pizza="Margherita", size="medium", quantity=1):
    return validate_order_request({"pizza": pizza, "size": size, "quantity": quantity})


@pytest.fixture
def counted(dynamodb) -> CountingClient:
    return CountingClient(dynamodb)


@pytest.fixture
def counted_store(counted) -> OrderStore:
    return OrderStore(counted, TABLE)


def stored_items(dynamodb, user_id=USER):
    return dynamodb.query(TableName=TABLE, KeyConditionExpression="user_id = :u",
                          ExpressionAttributeValues={":u": {"S": user_id}})["Items"]


def test_create_table_is_a_no_op_when_the_table_exists(store):
    assert store.create_table() is False


def test_create_table_makes_an_on_demand_table_with_ttl(dynamodb):
    described = dynamodb.describe_table(TableName=TABLE)["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def test_placing_an_order_stores_it_with_server_price_and_time(store, dynamodb):
    order, created = store.place(USER, "a@example.com", request("Supreme", "large", 2))
    assert created
    item = dynamodb.get_item(TableName=TABLE, Key=layout.key(USER, order.order_id))["Item"]
    assert item["total"] == {"N": "48.00"}
    assert item["unit_price"] == {"N": "24.00"}
    assert item["created_at"]["S"].endswith("Z")
    assert item["user_email"] == {"S": "a@example.com"}


def test_an_order_write_after_the_first_costs_one_request(store, counted_store, counted):
    store.place(USER, None, request())
    counted_store.place(USER, None, request())
    assert dict(counted.calls) == {"transact_write_items": 1}


def test_the_summary_counts_every_order_exactly(store):
    store.place(USER, None, request("Supreme", "large", 2))
    store.place(USER, None, request("Margherita", "small"))
    summary = store.page(USER, 10).summary
    assert summary.total_orders == 2
    assert summary.total_spent == Decimal("60.00")
    assert summary.pizza_counts["Supreme"] == 2


def test_first_page_with_profile_costs_one_request(store, counted_store, counted):
    for _ in range(3):
        store.place(USER, None, request())
    page = counted_store.page(USER, 2)
    assert dict(counted.calls) == {"query": 1}
    assert len(page.orders) == 2
    assert page.summary.total_orders == 3


def test_pages_are_newest_first_and_cover_every_order_once(store):
    placed = [store.place(USER, None, request()).__getitem__(0).order_id for _ in range(7)]
    seen, after = [], None
    while True:
        page = store.page(USER, 3, after)
        seen += [o.order_id for o in page.orders]
        if page.next_order_id is None:
            break
        after = page.next_order_id
    assert seen == list(reversed(placed))


def test_the_last_full_page_has_no_next_cursor(store):
    for _ in range(4):
        store.place(USER, None, request())
    assert store.page(USER, 4).next_order_id is None


def test_pages_never_show_another_customers_orders(store):
    store.place("auth0|mallory", None, request())
    mine, _ = store.place(USER, None, request())
    page = store.page(USER, 10)
    assert [o.order_id for o in page.orders] == [mine.order_id]
    # Mallory's cursor pointing into Alice's id space still reads Mallory's partition only.
    assert store.page("auth0|mallory", 10, after="order_9999999999999").orders[0].user_id == "auth0|mallory"


def test_pagination_crosses_dynamodb_1mb_pages(store, dynamodb):
    padding = "x" * 9000  # ~9 KB orders: 150 of them are well over one 1 MB Query page
    for n in range(150):
        item = layout.order_to_item(store.place(USER, None, request())[0])
        item["note"] = {"S": padding}
        item["order_id"] = {"S": f"order_{1700000000000 + n}"}
        dynamodb.put_item(TableName=TABLE, Item=item)
    store.rebuild_summary(USER)
    ids, after = [], None
    while True:
        page = store.page(USER, 100, after)
        ids += [o.order_id for o in page.orders]
        after = page.next_order_id
        if after is None:
            break
    assert len(ids) == len(set(ids)) == 300
    assert ids == sorted(ids, reverse=True)
    assert len(list(store.all_orders(USER))) == 300


def test_a_new_customers_first_order_creates_their_summary(store, dynamodb):
    store.place(USER, None, request())
    summary_item = dynamodb.get_item(TableName=TABLE, Key=layout.key(USER, layout.SUMMARY_KEY))["Item"]
    assert summary_item["total_orders"] == {"N": "1"}


def test_a_customer_with_no_orders_reads_an_empty_profile_without_writing(counted_store, counted):
    page = counted_store.page(USER, 10)
    assert page.orders == [] and page.summary.total_orders == 0
    assert dict(counted.calls) == {"query": 1}


def test_legacy_orders_read_back_as_one_pizza_at_their_total(store, dynamodb):
    put_legacy_order(dynamodb, USER, 1640995200000)
    order = store.get(USER, "order_1640995200000")
    assert (order.quantity, order.total, order.unit_price) == (1, Decimal("16.99"), Decimal("16.99"))
    assert order.created_at == "2025-01-01T12:00:00.000Z"


def test_legacy_orders_without_a_date_take_it_from_their_id(store, dynamodb):
    put_legacy_order(dynamodb, USER, 1640995200000, created_at=None)
    assert store.get(USER, "order_1640995200000").created_at == "2022-01-01T00:00:00.000Z"


def test_legacy_customers_get_a_summary_built_lazily_then_kept(store, dynamodb):
    put_legacy_order(dynamodb, USER, 1640995200000, total="16.99")
    put_legacy_order(dynamodb, USER, 1640995300000, total="20")
    assert store.page(USER, 10).summary.total_spent == Decimal("36.99")
    store.place(USER, None, request("Margherita", "small"))
    summary = store.page(USER, 10).summary
    assert summary.total_orders == 3
    assert summary.total_spent == Decimal("48.99")


def test_a_legacy_customers_first_new_order_counts_the_old_ones_too(store, dynamodb):
    put_legacy_order(dynamodb, USER, 1640995200000, total="10")
    store.place(USER, None, request("Margherita", "small"))
    assert store.page(USER, 10).summary.total_orders == 2


def test_rebuild_fixes_a_summary_that_drifted(store, dynamodb):
    store.place(USER, None, request())
    dynamodb.update_item(TableName=TABLE, Key=layout.key(USER, layout.SUMMARY_KEY),
                         UpdateExpression="SET total_orders = :n", ExpressionAttributeValues={":n": {"N": "99"}})
    assert store.rebuild_summary(USER).total_orders == 1
    assert store.page(USER, 10).summary.total_orders == 1


def test_customer_ids_lists_each_customer_once(store):
    for user in ("auth0|a", "auth0|b", "auth0|a"):
        store.place(user, None, request())
    assert sorted(store.customer_ids()) == ["auth0|a", "auth0|b"]


def test_an_idempotent_retry_returns_the_same_order_and_stores_one(store, dynamodb):
    first, created = store.place(USER, None, request(), idempotency_key="key-1")
    again, created_again = store.place(USER, None, request(), idempotency_key="key-1")
    assert (created, created_again) == (True, False)
    assert again == first
    assert store.page(USER, 10).summary.total_orders == 1


def test_an_idempotency_key_reused_for_another_order_is_refused(store):
    store.place(USER, None, request(), idempotency_key="key-1")
    with pytest.raises(IdempotencyKeyReused):
        store.place(USER, None, request("Supreme"), idempotency_key="key-1")
    assert store.page(USER, 10).summary.total_orders == 1


def test_idempotency_keys_belong_to_one_customer(store):
    store.place(USER, None, request(), idempotency_key="shared")
    _, created = store.place("auth0|bob", None, request(), idempotency_key="shared")
    assert created


def test_idempotency_records_never_appear_as_orders(store):
    store.place(USER, None, request(), idempotency_key="k")
    assert all(o.order_id.startswith("order_") for o in store.page(USER, 10).orders)


class TwiceSent(CountingClient):
    """Like an SDK retry after a lost response: the first attempt landed, the retry is refused."""

    def transact_write_items(self, **kwargs):
        self._client.transact_write_items(**kwargs)
        return self._client.transact_write_items(**kwargs)


def test_a_transaction_the_sdk_sent_twice_stores_one_order(store, dynamodb):
    order, created = OrderStore(TwiceSent(dynamodb), TABLE).place(USER, None, request())
    assert created
    assert [o.order_id for o in store.page(USER, 10).orders] == [order.order_id]
    assert store.page(USER, 10).summary.total_orders == 1


def test_a_transaction_the_sdk_sent_twice_with_an_idempotency_key_is_this_requests_creation_not_a_replay(
        store, dynamodb):
    store.place(USER, None, request("Supreme"))  # the summary exists: one transaction per attempt
    order, created = OrderStore(TwiceSent(dynamodb), TABLE).place(USER, None, request(), idempotency_key="k-1")
    assert created  # the idempotency record refusing the retry is this very request's own
    assert store.page(USER, 10).orders[0].order_id == order.order_id
    assert store.page(USER, 10).summary.total_orders == 2
    again, created_again = store.place(USER, None, request(), idempotency_key="k-1")
    assert (again.order_id, created_again) == (order.order_id, False)  # a client's retry is the replay


def test_concurrent_orders_for_one_customer_leave_an_exact_summary(dynamodb):
    store = OrderStore(CountingClient(dynamodb, serialise=True), TABLE)
    with ThreadPoolExecutor(max_workers=16) as pool:
        orders = list(pool.map(lambda n: store.place(USER, None, request(quantity=n % 3 + 1))[0], range(60)))
    assert len({o.order_id for o in orders}) == 60
    summary = store.page(USER, 100).summary
    assert summary.total_orders == 60
    assert summary.total_spent == sum(o.total for o in orders)
    assert len([i for i in stored_items(dynamodb) if i["order_id"]["S"].startswith("order_")]) == 60


def test_concurrent_retries_with_one_key_store_exactly_one_order(dynamodb):
    store = OrderStore(CountingClient(dynamodb, serialise=True), TABLE)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: store.place(USER, None, request(), idempotency_key="same"), range(20)))
    assert len({order.order_id for order, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert store.page(USER, 10).summary.total_orders == 1


def test_get_refuses_ids_that_are_not_order_ids(counted_store, counted):
    with pytest.raises(OrderNotFound):
        counted_store.get(USER, "~profile")
    assert counted.total == 0


def test_get_does_not_find_another_customers_order(store):
    order, _ = store.place("auth0|bob", None, request())
    with pytest.raises(OrderNotFound):
        store.get(USER, order.order_id)


def test_an_unreachable_dynamodb_is_storage_unavailable():
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"max_attempts": 1}))
    store = OrderStore(client, TABLE)
    with pytest.raises(StorageUnavailable):
        store.place(USER, None, request())
    with pytest.raises(StorageUnavailable):
        store.page(USER, 10)


def test_each_order_transaction_carries_its_order_id_as_the_idempotency_token(dynamodb):
    sent = []

    class Recording(CountingClient):
        def transact_write_items(self, **params):
            sent.append(params)
            return dynamodb.transact_write_items(**params)

    store = OrderStore(Recording(dynamodb), TABLE)
    first, _ = store.place(USER, None, request())
    second, _ = store.place(USER, None, request(), "key-1")
    tokens = [params["ClientRequestToken"] for params in sent]
    # One token per transaction (so DynamoDB runs a retried one once), unique, within DynamoDB's 36 characters.
    assert tokens[-2:] == [first.order_id, second.order_id] and len(set(tokens)) == len(tokens)
    assert all(1 <= len(token) <= 36 for token in tokens)
