"""The order lifecycle on moto: every allowed and refused move, races, the cancel window, and what a
cancellation takes out of the customer's summary."""

from __future__ import annotations

import threading
from decimal import Decimal
from itertools import product

import pytest

from pizza42.orders import lifecycle, service
from pizza42.orders.errors import OrderNotFound, StatusConflict, UnknownStatus
from pizza42.orders.lifecycle import CANCELLED, COMPLETED, CONFIRMED, CUSTOMER, PREPARING, READY, STAFF
from pizza42.orders.model import validate_order_request
from pizza42.orders.store import OrderStore
from tests.conftest import TABLE
from tests.dynamo_helpers import CountingClient

ALICE = "auth0|alice"
COOK = "auth0|cook"
WINDOW = 300
PATH_TO = {CONFIRMED: (), PREPARING: (PREPARING,), READY: (PREPARING, READY),
           COMPLETED: (PREPARING, READY, COMPLETED), CANCELLED: (CANCELLED,)}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def place(store: OrderStore, pizza="Margherita", size="large", quantity=2, user=ALICE):
    order, _ = store.place(user, "alice@example.com", validate_order_request(
        {"pizza": pizza, "size": size, "quantity": quantity}), name="Alice")
    return order


def order_in(store: OrderStore, status: str):
    """A fresh order brought to `status` by staff, the only way it can get there."""
    order = place(store)
    for step in PATH_TO[status]:
        store.change_status(ALICE, order.order_id, step, actor=STAFF, by=COOK)
    return store.get(ALICE, order.order_id)


def test_the_table_of_moves_is_the_documented_lifecycle():
    assert lifecycle.MOVES == {
        (CONFIRMED, PREPARING): {STAFF}, (PREPARING, READY): {STAFF}, (READY, COMPLETED): {STAFF},
        (CONFIRMED, CANCELLED): {STAFF, CUSTOMER}, (PREPARING, CANCELLED): {STAFF},
    }
    assert lifecycle.moves_from(COMPLETED, STAFF) == lifecycle.moves_from(CANCELLED, STAFF) == ()


ALLOWED = [(frm, to, actor) for (frm, to), actors in lifecycle.MOVES.items() for actor in sorted(actors)]
REFUSED = [(frm, to, actor) for frm, to, actor in product(lifecycle.STATUSES, lifecycle.STATUSES, (STAFF, CUSTOMER))
           if (frm, to, actor) not in ALLOWED]


@pytest.mark.parametrize(("current", "target", "actor"), ALLOWED)
def test_every_allowed_move_is_made_once_and_recorded(store, current, target, actor):
    order = order_in(store, current)
    by = COOK if actor == STAFF else CUSTOMER
    moved = store.change_status(ALICE, order.order_id, target, actor=actor, by=by,
                                cancel_window_seconds=WINDOW if actor == CUSTOMER else None)
    stored = store.get(ALICE, order.order_id)
    assert moved.status == stored.status == target
    assert stored.history[-1].status == target and stored.history[-1].by == by
    assert len(stored.history) == len(order.history) + 1
    assert stored.status_updated_at == stored.history[-1].at
    assert moved == stored


@pytest.mark.parametrize(("current", "target", "actor"), REFUSED)
def test_every_other_move_is_refused_with_the_current_status_and_changes_nothing(store, current, target, actor):
    order = order_in(store, current)
    with pytest.raises(StatusConflict) as refused:
        store.change_status(ALICE, order.order_id, target, actor=actor, by=COOK)
    assert refused.value.status == current
    assert store.get(ALICE, order.order_id) == order


def test_a_status_that_does_not_exist_is_refused(store):
    order = place(store)
    with pytest.raises(UnknownStatus):
        service.move_order(store, order.order_id, "baking", COOK)
    with pytest.raises(UnknownStatus):
        service.move_order(store, order.order_id, None, COOK)
    assert store.get(ALICE, order.order_id).status == CONFIRMED


def test_staff_find_an_order_by_its_id_alone_and_unknown_ids_are_not_found(store):
    order = place(store)
    assert service.move_order(store, order.order_id, PREPARING, COOK).user_id == ALICE
    with pytest.raises(OrderNotFound):
        service.move_order(store, "order_1000000000000_0000000000", PREPARING, COOK)
    with pytest.raises(OrderNotFound):
        service.move_order(store, "not-an-order", PREPARING, COOK)


class RaceClient(CountingClient):
    """Both movers read the order before either writes: the race two clicks at once make."""

    def __init__(self, client, movers: int) -> None:
        super().__init__(client, serialise=True)
        self._read = threading.Barrier(movers, timeout=10)
        self._racing = True

    def __getattr__(self, name):
        call = super().__getattr__(name)
        if name != "get_item" or not callable(call):
            return call

        def read_then_wait(*args, **kwargs):
            result = call(*args, **kwargs)
            if self._racing:  # the first read of each mover: wait until both have read
                self._read.wait()
                self._racing = False
            return result

        return read_then_wait


@pytest.mark.parametrize(("target", "other"), [(PREPARING, PREPARING), (CANCELLED, CANCELLED),
                                                (PREPARING, CANCELLED)])
def test_of_two_clicks_at_once_exactly_one_wins_and_one_history_entry_is_written(dynamodb, target, other):
    order = place(OrderStore(dynamodb, TABLE))
    racing = RaceClient(dynamodb, movers=2)
    store = OrderStore(racing, TABLE)
    outcomes: list[object] = []

    def click(status: str) -> None:
        try:
            outcomes.append(store.change_status(ALICE, order.order_id, status, actor=STAFF, by=COOK))
        except StatusConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=click, args=(status,)) for status in (target, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    wins = [o for o in outcomes if not isinstance(o, StatusConflict)]
    losses = [o for o in outcomes if isinstance(o, StatusConflict)]
    assert len(wins) == 1 and len(losses) == 1
    stored = OrderStore(dynamodb, TABLE).get(ALICE, order.order_id)
    assert losses[0].status == stored.status == wins[0].status
    assert len(stored.history) == 2  # placed, and the one move that won
    summary = OrderStore(dynamodb, TABLE).page(ALICE, 10).summary
    assert summary.total_orders == (0 if stored.status == CANCELLED else 1)  # a cancellation counted once


def test_a_customer_cancels_within_the_window_but_not_an_hour_later(dynamodb):
    clock = Clock(0)
    store = OrderStore(dynamodb, TABLE, clock=clock)
    recent, old = place(store), place(store, pizza="Supreme")
    placed_at = int(recent.order_id[6:19]) / 1000
    clock.now = placed_at + WINDOW - 5
    assert service.cancel_order(store, ALICE, recent.order_id, WINDOW).status == CANCELLED
    clock.now = placed_at + 3600
    with pytest.raises(StatusConflict) as refused:
        service.cancel_order(store, ALICE, old.order_id, WINDOW)
    assert refused.value.status == CONFIRMED and "passed" in refused.value.reason
    assert store.get(ALICE, old.order_id).status == CONFIRMED


def test_a_customer_cannot_cancel_once_the_kitchen_has_started(store):
    order = order_in(store, PREPARING)
    with pytest.raises(StatusConflict) as refused:
        service.cancel_order(store, ALICE, order.order_id, WINDOW)
    assert refused.value.status == PREPARING


def test_a_customer_cannot_cancel_another_customers_order(store):
    order = place(store, user="auth0|bob")
    with pytest.raises(OrderNotFound):
        service.cancel_order(store, ALICE, order.order_id, WINDOW)
    assert store.get("auth0|bob", order.order_id).status == CONFIRMED


def test_the_cancel_deadline_is_the_window_after_placing_and_none_once_started(store):
    order = place(store)
    assert service.cancel_deadline(order, WINDOW) == pytest.approx(int(order.order_id[6:19]) / 1000 + WINDOW)
    assert service.cancel_deadline(order_in(store, PREPARING), WINDOW) is None


def test_a_cancellation_leaves_the_customers_summary_and_rebuild_profiles_agrees(store):
    kept = place(store, "Pepperoni", "small", 1)
    cancelled = place(store, "Supreme", "large", 3)
    before = store.page(ALICE, 10).summary
    assert before.total_orders == 2 and before.pizza_counts["Supreme"] == 3
    service.cancel_order(store, ALICE, cancelled.order_id, WINDOW)
    summary = store.page(ALICE, 10).summary
    assert summary.total_orders == 1
    assert summary.total_spent == kept.total == Decimal("14")
    assert summary.pizza_counts["Supreme"] == 0 and summary.pizza_counts["Pepperoni"] == 1
    assert summary.size_counts["large"] == 0 and summary.size_counts["small"] == 1
    assert sum(summary.monthly_spend.values()) == Decimal("14")
    assert summary.first_order == before.first_order  # the customer still ordered then
    rebuilt = store.rebuild_summary(ALICE)
    for name in ("total_orders", "total_spent", "pizza_counts", "size_counts", "first_order", "last_order"):
        assert getattr(rebuilt, name) == getattr(summary, name), name
    def spent(months):
        return {month: amount for month, amount in months.items() if amount}

    assert spent(rebuilt.monthly_spend) == spent(summary.monthly_spend)


def test_every_move_writes_one_audit_line(store, caplog):
    order = place(store)
    caplog.set_level("INFO", logger="pizza42.audit")
    service.move_order(store, order.order_id, PREPARING, COOK)
    with pytest.raises(StatusConflict):
        service.move_order(store, order.order_id, PREPARING, COOK)
    lines = [r for r in caplog.records if r.name == "pizza42.audit"]
    assert len(lines) == 1
    assert lines[0].fields == {"order_id": order.order_id, "from": CONFIRMED, "to": PREPARING, "by": COOK,
                               "actor": STAFF}


def test_rebuild_profiles_starts_over_when_an_order_is_placed_and_cancelled_while_it_reads(store, monkeypatch):
    place(store, "Pepperoni", "small", 1)
    reads = []
    real_all_orders = OrderStore.all_orders

    def all_orders_with_a_customer_meanwhile(self, user_id):
        orders = list(real_all_orders(self, user_id))
        if not reads:  # the first read: an order comes and goes before the rebuild writes
            extra = place(store, "Supreme", "large", 1)
            service.cancel_order(store, ALICE, extra.order_id, WINDOW)
        reads.append(len(orders))
        return iter(orders)

    monkeypatch.setattr(OrderStore, "all_orders", all_orders_with_a_customer_meanwhile)
    rebuilt = store.rebuild_summary(ALICE)
    assert reads == [1, 2]  # the count alone (1, then 1 again) would not have noticed
    assert rebuilt.total_orders == 1 and rebuilt.last_order > rebuilt.first_order
