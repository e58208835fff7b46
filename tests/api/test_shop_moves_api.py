"""POST /api/shop/orders/<id>/status: every allowed move, every refused one, and what the customer then sees."""

from __future__ import annotations

from itertools import product

import pytest

from pizza42.orders import lifecycle
from tests.api.conftest import MANAGER, STAFF, STAFF_PERMISSIONS
from tests.api.shop_helpers import customers_view, move, order_in, place, shop_view

# The issue's lifecycle, written out here rather than read from lifecycle.MOVES, so the table is checked too.
STAFF_MOVES = {("confirmed", "preparing"), ("preparing", "ready"), ("ready", "completed"),
               ("confirmed", "cancelled"), ("preparing", "cancelled")}
EVERY_PAIR = list(product(lifecycle.STATUSES, lifecycle.STATUSES))


@pytest.mark.parametrize(("current", "target"), sorted(STAFF_MOVES))
def test_every_allowed_move_is_200_with_the_order_and_one_new_history_entry(client, auth, staff_auth, current,
                                                                             target):
    order = order_in(client, auth, staff_auth(), current)
    response = move(client, staff_auth(STAFF_PERMISSIONS, sub=STAFF), order["id"], target)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert set(response.get_json()) == {"order"}
    moved = response.get_json()["order"]
    assert moved["id"] == order["id"] and moved["status"] == target
    assert moved["history"][:-1] == order["history"]
    assert (moved["history"][-1]["status"], moved["history"][-1]["by"]) == (target, STAFF)
    assert moved["status_updated_at"] == moved["history"][-1]["at"]
    assert customers_view(client, auth, order["id"])["status"] == target


@pytest.mark.parametrize(("current", "target"), [pair for pair in EVERY_PAIR if pair not in STAFF_MOVES])
def test_every_other_move_is_409_with_the_current_status_and_changes_nothing(client, auth, staff_auth, current,
                                                                             target):
    order = order_in(client, auth, staff_auth(), current)
    response = move(client, staff_auth(), order["id"], target)
    assert response.status_code == 409
    body = response.get_json()
    assert (body["error"], body["status"]) == ("status_conflict", current) and body["message"]
    assert shop_view(client, staff_auth(), order) == order


def test_the_lifecycle_table_is_the_issues():
    staff_moves = {pair for pair in EVERY_PAIR if lifecycle.may_move(*pair, lifecycle.STAFF)}
    customer_moves = {pair for pair in EVERY_PAIR if lifecycle.may_move(*pair, lifecycle.CUSTOMER)}
    assert staff_moves == STAFF_MOVES
    assert customer_moves == {("confirmed", "cancelled")}


def test_an_order_walks_the_whole_lifecycle_and_keeps_its_history(client, auth, staff_auth):
    order = order_in(client, auth, staff_auth(), "completed")
    assert [(step["status"], step["by"]) for step in order["history"]] == [
        ("confirmed", "customer"), ("preparing", MANAGER), ("ready", MANAGER), ("completed", MANAGER)]
    ats = [step["at"] for step in order["history"]]
    assert ats == sorted(ats)


@pytest.mark.parametrize("body", [{"status": "baking"}, {"status": "PREPARING"}, {"status": ""}, {"status": 7},
                                  {"status": None}, {"status": ["preparing"]}, {}, {"state": "preparing"}, [],
                                  ["preparing"], "preparing", 7],
                         ids=repr)
def test_a_status_that_does_not_exist_is_422_naming_status(client, auth, staff_auth, body):
    order = place(client, auth)
    response = client.post(f"/api/shop/orders/{order['id']}/status", json=body, headers=staff_auth())
    assert response.status_code == 422
    assert (response.get_json()["error"], response.get_json()["field"]) == ("unknown_status", "status")
    assert customers_view(client, auth, order["id"])["status"] == "confirmed"


@pytest.mark.parametrize("order_id", ["order_1640995200000", "order_1796504684664_540r5413pr", "~profile",
                                      "order_", "%23idem%23abc", "x" * 300])
def test_an_unknown_order_is_404(client, staff_auth, order_id):
    response = move(client, staff_auth(), order_id, "preparing")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_staff_move_any_customers_order_by_its_id(client, auth, staff_auth):
    orders = [place(client, auth, sub) for sub in ("auth0|alice", "auth0|bob", "google-oauth2|123")]
    for order in orders:
        assert move(client, staff_auth(), order["id"], "preparing").status_code == 200
        assert customers_view(client, auth, order["id"], order["userId"])["status"] == "preparing"


def test_the_customers_history_and_order_show_the_current_status_and_when_it_changed(client, auth, staff_auth):
    order = place(client, auth)
    assert order["status_updated_at"] == order["date"]
    moved = move(client, staff_auth(), order["id"], "preparing").get_json()["order"]
    listed = client.get("/api/orders", headers=auth()).get_json()["orders"][0]
    one = customers_view(client, auth, order["id"])
    for shown in (listed, one):
        assert shown["status"] == "preparing"
        assert shown["status_updated_at"] == moved["status_updated_at"] == moved["history"][-1]["at"]
        assert shown["date"] == order["date"] and shown["ticket"] == order["ticket"]
        assert "history" not in shown and "customer" not in shown  # staff's view only


def test_a_move_writes_one_audit_line(client, auth, staff_auth, caplog):
    order = place(client, auth)
    caplog.clear()
    with caplog.at_level("INFO", logger="pizza42.audit"):
        move(client, staff_auth(), order["id"], "preparing")
        move(client, staff_auth(), order["id"], "preparing")  # refused: no second line
    lines = [r for r in caplog.records if r.name == "pizza42.audit"]
    assert len(lines) == 1
    assert lines[0].fields == {"order_id": order["id"], "from": "confirmed", "to": "preparing", "by": MANAGER,
                               "actor": "staff"}
