"""Two clicks at once over the API: exactly one 200, one 409 with the status the winner made, one history entry.

moto is not thread-safe, so every DynamoDB call holds a lock; the two requests still interleave between
calls. To be sure they race rather than take turns, each request's first read of the order waits until the
other has read it too: both see `confirmed`, both try their conditional write, and only the condition on
the current status can stop the second.
"""

from __future__ import annotations

import threading

import pytest

from tests.api.conftest import MANAGER_PERMISSIONS, STAFF, STAFF_PERMISSIONS
from tests.api.shop_helpers import customers_view, place, shop_view


class RacingClient:
    """Wraps the moto client: one DynamoDB call at a time, and, once armed, the first two reads of an order
    held at a barrier until both have happened."""

    def __init__(self, client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(2)
        self._held = 0
        self.armed = False

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name == "meta" or name.startswith("get_waiter"):
            return attribute

        def call(*args, **kwargs):
            with self._lock:
                result = attribute(*args, **kwargs)
                hold = self.armed and name == "get_item" and kwargs["Key"]["order_id"]["S"].startswith("order_")
                if hold:
                    self._held += 1
                    self.armed = self._held < 2
            if hold:
                self._barrier.wait(timeout=10)  # BrokenBarrierError: the two requests did not overlap
            return result

        return call


@pytest.fixture
def racing(dynamodb) -> RacingClient:
    return RacingClient(dynamodb)


@pytest.fixture
def app_dynamodb(racing) -> RacingClient:
    """The app's DynamoDB client in this module: the racing wrapper."""
    return racing


def at_once(app, requests: list) -> list:
    """Send each (method, url, headers, body) from its own thread, released together; the responses in order."""
    start = threading.Barrier(len(requests))
    responses: list = [None] * len(requests)

    def send(index: int, method: str, url: str, headers: dict, body: dict | None) -> None:
        client = app.test_client()
        start.wait(timeout=10)
        responses[index] = getattr(client, method)(url, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(response is not None for response in responses)
    return responses


def test_two_staff_clicking_the_same_move_at_once_one_wins_one_gets_409(app, client, auth, staff_auth, racing,
                                                                       caplog):
    order = place(client, auth)
    url = f"/api/shop/orders/{order['id']}/status"
    clicks = [("post", url, staff_auth(STAFF_PERMISSIONS, sub=sub), {"status": "preparing"})
              for sub in (STAFF, "auth0|staff-two")]
    racing.armed = True
    with caplog.at_level("INFO", logger="pizza42.audit"):
        responses = at_once(app, clicks)
    assert sorted(response.status_code for response in responses) == [200, 409]
    [lost] = [response.get_json() for response in responses if response.status_code == 409]
    assert (lost["error"], lost["status"]) == ("status_conflict", "preparing")
    history = shop_view(client, staff_auth(MANAGER_PERMISSIONS), order)["history"]
    assert [step["status"] for step in history] == ["confirmed", "preparing"]
    assert len([r for r in caplog.records if r.name == "pizza42.audit" and r.fields.get("to") == "preparing"]) == 1


def test_a_customer_cancelling_as_the_kitchen_starts_only_one_of_them_happens(app, client, auth, staff_auth,
                                                                               racing):
    order = place(client, auth)
    racing.armed = True
    cancel, start = at_once(app, [
        ("post", f"/api/orders/{order['id']}/cancel", auth(), None),
        ("post", f"/api/shop/orders/{order['id']}/status", staff_auth(), {"status": "preparing"}),
    ])
    assert sorted([cancel.status_code, start.status_code]) == [200, 409]
    final = customers_view(client, auth, order["id"])["status"]
    assert final == ("cancelled" if cancel.status_code == 200 else "preparing")
    loser = start if cancel.status_code == 200 else cancel
    assert loser.get_json()["status"] == final
    history = shop_view(client, staff_auth(), order)["history"]
    assert [step["status"] for step in history] == ["confirmed", final]
    profile = client.get("/api/orders", headers=auth()).get_json()["customer_profile"]
    assert profile["total_orders"] == (0 if final == "cancelled" else 1)
