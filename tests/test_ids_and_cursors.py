"""Order ids sort chronologically and never repeat; cursors are opaque and only carry order ids."""

import threading

import pytest

from pizza42.orders.errors import InvalidCursor
from pizza42.orders.ids import is_order_id, new_order_id, order_id_millis
from pizza42.orders.service import decode_cursor, encode_cursor


def test_new_ids_keep_the_original_prefix_and_millisecond():
    order_id = new_order_id(1640995200000)
    assert order_id.startswith("order_1640995200000_")
    assert order_id_millis(order_id) == 1640995200000


def test_ids_made_in_the_same_millisecond_are_distinct_and_increasing():
    ids = [new_order_id(1700000000000) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)


def test_later_milliseconds_sort_after_earlier_ones_and_after_legacy_ids():
    legacy = "order_1700000000000"
    newer = new_order_id(1700000000001)
    same_ms = new_order_id(1700000000000)
    assert sorted([newer, legacy]) == [legacy, newer]
    assert legacy < same_ms


def test_ids_from_many_threads_never_collide():
    ids: list[str] = []
    lock = threading.Lock()

    def make():
        batch = [new_order_id() for _ in range(500)]
        with lock:
            ids.extend(batch)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 4000


@pytest.mark.parametrize("value", ["order_1640995200000", new_order_id()])
def test_recognises_new_and_legacy_ids(value):
    assert is_order_id(value)


@pytest.mark.parametrize("value", ["~profile", "#idem#abc", "order_", "order_123", "order_1640995200000_UPPERCASE1"])
def test_rejects_other_sort_keys(value):
    assert not is_order_id(value)


def test_cursor_round_trips_an_order_id():
    order_id = new_order_id()
    cursor = encode_cursor(order_id)
    assert order_id not in cursor
    assert decode_cursor(cursor) == order_id


@pytest.mark.parametrize("cursor", ["", "!!!", "not-base64", encode_cursor("~profile"), encode_cursor("#idem#x"),
                                    "b3JkZXJf\u00e9", encode_cursor("order_1640995200000") + "==="])
def test_rejects_cursors_that_are_not_ours(cursor):
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)
