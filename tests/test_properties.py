"""Hypothesis properties of pricing, order ids and cursors (issue 5, item 5).

- pricing: any menu pizza, size and quantity 1..20 costs exactly unit price × quantity (Decimal); a client
  total is accepted iff it equals that; anything that is not on the menu is refused, naming the field;
- order ids: unique, well-formed and in call order for any sequence of clock readings in one thread;
  unique across threads;
- cursors: round-trip every order id; any other text or bytes is refused or decodes to an order id; and
  whatever a cursor decodes to, the store only ever queries the caller's own partition.

All properties are derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import base64
import re
import threading
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pizza42 import menu
from pizza42.orders import ids
from pizza42.orders import items as layout
from pizza42.orders.errors import InvalidCursor, InvalidOrder
from pizza42.orders.model import validate_order_request
from pizza42.orders.service import decode_cursor, encode_cursor, list_orders
from pizza42.orders.store import OrderStore

PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])

# The documented order-id format (docs: pizza42/api/openapi.json): ASCII digits, Crockford base32, nothing else.
ORDER_ID = re.compile(r"order_[0-9]{13}(?:_[0-9a-hjkmnp-tv-z]{10})?")
MAX_MS = 10**13 - 1  # 13 digits of epoch milliseconds: until the year 2286

pizzas = st.sampled_from(menu.PIZZAS)
sizes = st.sampled_from(menu.SIZES)
quantities = st.integers(1, menu.MAX_QUANTITY)
order_ids = st.from_regex(ORDER_ID, fullmatch=True)
user_ids = st.text(min_size=1, max_size=80)


def _menu_key(name: str) -> str:
    return name.strip().lower()


MENU_KEYS = {_menu_key(name) for name in menu.PIZZAS}


def _refusal(payload: object) -> InvalidOrder:
    with pytest.raises(InvalidOrder) as refused:
        validate_order_request(payload)
    return refused.value


# -- pricing ------------------------------------------------------------------------------------------

@PROPERTIES
@given(pizza=pizzas, size=sizes, quantity=quantities)
def test_the_total_is_exactly_unit_price_times_quantity(pizza, size, quantity):
    request = validate_order_request({"pizza": pizza, "size": size, "quantity": quantity})
    assert (request.pizza, request.size, request.quantity) == (pizza, size, quantity)
    assert request.unit_price == menu.PRICES[pizza][size]
    assert request.total == menu.PRICES[pizza][size] * quantity
    assert isinstance(request.total, Decimal)
    assert request.total == request.total.quantize(Decimal("0.01"))  # whole cents, never a float artefact


@PROPERTIES
@given(pizza=pizzas, size=sizes, quantity=quantities,
       spelling=st.sampled_from([str.lower, str.upper, str.title, lambda s: f"  {s}\t"]))
def test_menu_names_match_whatever_their_case_and_surrounding_spaces(pizza, size, quantity, spelling):
    request = validate_order_request({"pizza": spelling(pizza), "size": spelling(size), "quantity": quantity})
    assert (request.pizza, request.size) == (pizza, size)


def _client_totals(exact: Decimal) -> st.SearchStrategy:
    """Totals a client might send: the exact one in each JSON number form, near misses, and anything."""
    cents = int(exact * 100)
    return st.one_of(
        st.just(int(exact)) if exact == int(exact) else st.nothing(),
        st.just(float(exact)),
        st.integers(cents - 300, cents + 300).map(lambda c: float(Decimal(c) / 100)),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def _equals_the_price(total: int | float, price: Decimal) -> bool:
    # A JSON number the client sent equals the price when it denotes the same amount: an int exactly, a float
    # when it is the double nearest the price (how a client's 16.99 arrives). Prices are whole cents, far
    # below 15 significant digits, so the nearest double is unique and reads back as the price.
    return total == float(price) if isinstance(total, float) else total == price


@PROPERTIES
@given(data=st.data(), pizza=pizzas, size=sizes, quantity=quantities)
def test_a_client_total_is_accepted_iff_it_equals_the_price(data, pizza, size, quantity):
    price = menu.PRICES[pizza][size] * quantity
    total = data.draw(_client_totals(price), label="total")
    payload = {"pizza": pizza, "size": size, "quantity": quantity, "total": total, "date": "1999-12-31"}
    if _equals_the_price(total, price):
        assert validate_order_request(payload).total == price
    else:
        refused = _refusal(payload)
        assert refused.field == "total"
        assert f"{price:.2f}" in refused.message


def _near_misses() -> st.SearchStrategy[str]:
    """Menu names with something inserted, replaced or appended: the likeliest forgeries."""
    def mangle(name: str, position: int, extra: str) -> str:
        position %= len(name) + 1
        return name[:position] + extra + name[position:]
    return st.builds(mangle, pizzas, st.integers(0, 20),
                     st.text(st.characters(codec="utf-8", exclude_categories=["Zs"]), min_size=1, max_size=3))


@PROPERTIES
@given(name=st.one_of(st.text(max_size=40), _near_misses()), size=sizes, quantity=quantities)
@example(name="Calzone", size="small", quantity=1)
@example(name="Marg\u200berita", size="small", quantity=1)
@example(name="", size="small", quantity=1)
def test_any_name_not_on_the_menu_is_refused_naming_pizza(name, size, quantity):
    assume(_menu_key(name) not in MENU_KEYS)
    assert _refusal({"pizza": name, "size": size, "quantity": quantity}).field == "pizza"


@PROPERTIES
@given(value=st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.lists(st.text(), max_size=2),
                       st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)))
def test_a_pizza_that_is_not_a_string_is_refused_naming_pizza(value):
    assert _refusal({"pizza": value, "size": "small"}).field == "pizza"


@PROPERTIES
@given(pizza=pizzas, size=st.text(max_size=20))
def test_any_size_not_on_the_menu_is_refused_naming_size(pizza, size):
    assume(size.strip().lower() not in menu.SIZES)
    assert _refusal({"pizza": pizza, "size": size}).field == "size"


@PROPERTIES
@given(pizza=pizzas, size=sizes,
       quantity=st.one_of(st.integers().filter(lambda q: not 1 <= q <= menu.MAX_QUANTITY), st.booleans(),
                          st.floats(), st.text(max_size=3), st.none()))
def test_any_quantity_but_a_whole_number_from_1_to_20_is_refused_naming_quantity(pizza, size, quantity):
    assert _refusal({"pizza": pizza, "size": size, "quantity": quantity}).field == "quantity"


# -- order ids ----------------------------------------------------------------------------------------

@PROPERTIES
@given(st.lists(st.integers(0, MAX_MS), min_size=1, max_size=200).map(sorted))
def test_ids_of_a_nondecreasing_clock_are_unique_well_formed_and_in_call_order(readings):
    made = [ids.new_order_id(ms) for ms in readings]
    assert all(ORDER_ID.fullmatch(order_id) for order_id in made)
    assert [ids.order_id_millis(order_id) for order_id in made] == readings
    assert made == sorted(made) and len(set(made)) == len(made)  # strictly increasing


@PROPERTIES
@given(st.lists(st.integers(0, MAX_MS), min_size=1, max_size=200))
def test_ids_of_any_clock_are_unique_and_sort_by_their_millisecond(readings):
    made = [ids.new_order_id(ms) for ms in readings]
    assert len(set(made)) == len(made)
    by_text = sorted(made)
    assert [ids.order_id_millis(order_id) for order_id in by_text] == sorted(readings)


@settings(PROPERTIES, max_examples=10)
@given(threads=st.integers(2, 8), per_thread=st.integers(50, 400), fixed_ms=st.one_of(st.none(), st.just(1)))
def test_ids_made_by_concurrent_threads_never_collide(threads, per_thread, fixed_ms):
    made: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def make(mine: list[str]) -> None:
        start.wait()
        mine.extend(ids.new_order_id(fixed_ms) for _ in range(per_thread))

    workers = [threading.Thread(target=make, args=(mine,)) for mine in made]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    everything = [order_id for mine in made for order_id in mine]
    assert len(set(everything)) == threads * per_thread
    if fixed_ms is not None:  # one shared millisecond: the lock serialises them, so each thread's ids increase
        assert all(mine == sorted(mine) for mine in made)


# -- cursors ------------------------------------------------------------------------------------------

@PROPERTIES
@given(order_id=order_ids)
@example(order_id="order_1640995200000")
def test_a_cursor_round_trips_any_order_id_and_is_opaque(order_id):
    cursor = encode_cursor(order_id)
    assert decode_cursor(cursor) == order_id
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert "order_" not in cursor


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _forged_cursors() -> st.SearchStrategy[str]:
    """Arbitrary text, arbitrary bytes in base64, and order ids with something added: what a forger sends."""
    near_ids = st.builds(lambda head, order_id, tail: head + order_id.encode() + tail,
                         st.binary(max_size=3), order_ids, st.binary(max_size=3))
    other_keys = st.sampled_from([layout.SUMMARY_KEY, layout.IDEMPOTENCY_PREFIX + "0" * 64, "order_", ""])
    return st.one_of(
        st.text(max_size=80),
        st.binary(max_size=60).map(_b64),
        near_ids.map(_b64),
        near_ids.map(lambda raw: base64.b64encode(raw).decode()),  # standard alphabet and padding
        other_keys.map(lambda key: _b64(key.encode())),
        order_ids.map(lambda order_id: encode_cursor(order_id) + "="),
    )


def _decoded(cursor: str) -> str | None:
    try:
        return decode_cursor(cursor)
    except InvalidCursor:
        return None


@PROPERTIES
@given(cursor=_forged_cursors())
@example(cursor=_b64(b"~profile"))
@example(cursor=_b64(b"order_1640995200000\n"))
def test_any_text_is_refused_or_decodes_to_an_order_id_it_is_the_cursor_of(cursor):
    order_id = _decoded(cursor)
    if order_id is not None:
        assert ids.is_order_id(order_id)
        assert encode_cursor(order_id) == cursor  # one cursor per order id: no aliases
        assert layout.ORDERS_FROM <= order_id <= layout.SUMMARY_KEY  # within the orders' key range


@PROPERTIES
@given(raw=st.binary(max_size=80))
def test_any_bytes_are_refused_or_decode_to_an_order_id(raw):
    order_id = _decoded(raw.decode("latin-1"))
    assert order_id is None or ids.is_order_id(order_id)


@PROPERTIES
@given(cursor=_forged_cursors())
@example(cursor=_b64(b"order_1640995200000\n"))
def test_a_cursor_only_ever_decodes_to_an_id_of_the_documented_format(cursor):
    order_id = _decoded(cursor)
    assert order_id is None or ORDER_ID.fullmatch(order_id)


class RecordingDynamoDB:
    """A stand-in DynamoDB client that records every Query and answers with an empty page."""

    def __init__(self) -> None:
        self.queries: list[dict] = []

    def query(self, **params: object) -> dict:
        self.queries.append(params)
        return {"Items": [], "Count": 0}


def _assert_only_the_callers_partition(query: dict, user_id: str) -> None:
    assert query["KeyConditionExpression"] == "user_id = :u AND order_id BETWEEN :lo AND :hi"
    assert query["ExpressionAttributeValues"][":u"] == {"S": user_id}
    assert query["ExpressionAttributeValues"][":lo"] == {"S": layout.ORDERS_FROM}
    assert query["ExpressionAttributeValues"][":hi"] == {"S": layout.SUMMARY_KEY}
    start = query.get("ExclusiveStartKey")
    if start is not None:
        assert start["user_id"] == {"S": user_id}
        assert set(start) == {"user_id", "order_id"}


@PROPERTIES
@given(user_id=user_ids, cursor=st.one_of(_forged_cursors(), order_ids.map(encode_cursor)),
       limit=st.integers(-5, 500))
def test_whatever_the_cursor_the_store_only_queries_the_callers_partition(user_id, cursor, limit):
    client = RecordingDynamoDB()
    store = OrderStore(client, "Pizza42-Orders")
    try:
        history = list_orders(store, user_id, limit, cursor)
    except InvalidCursor:
        assert client.queries == []  # refused before DynamoDB is asked anything
        return
    [query] = client.queries
    _assert_only_the_callers_partition(query, user_id)
    assert 2 <= query["Limit"] <= 102
    if cursor == "":  # `?cursor=` is no cursor: the first page, with the profile
        assert "ExclusiveStartKey" not in query and history.profile is not None
        return
    assert query["ExclusiveStartKey"]["order_id"] == {"S": decode_cursor(cursor)}
    assert history.orders == [] and history.profile is None  # a cursor page never carries the profile


@PROPERTIES
@given(user_id=user_ids, after=st.one_of(st.none(), order_ids), limit=st.integers(1, 100))
def test_every_page_query_is_pinned_to_the_caller(user_id, after, limit):
    client = RecordingDynamoDB()
    OrderStore(client, "Pizza42-Orders").page(user_id, limit, after)
    [query] = client.queries
    _assert_only_the_callers_partition(query, user_id)
    assert ("ExclusiveStartKey" in query) == (after is not None)
