"""Small helpers the shop's API tests share: place an order, move it, bring it to a status."""

from __future__ import annotations

from pizza42.orders import lifecycle
from tests.api.conftest import USER

ORDER = {"pizza": "Margherita", "size": "medium", "quantity": 2}
# How staff bring a new order to each status, one move at a time.
PATH_TO = {
    lifecycle.CONFIRMED: (),
    lifecycle.PREPARING: (lifecycle.PREPARING,),
    lifecycle.READY: (lifecycle.PREPARING, lifecycle.READY),
    lifecycle.COMPLETED: (lifecycle.PREPARING, lifecycle.READY, lifecycle.COMPLETED),
    lifecycle.CANCELLED: (lifecycle.CANCELLED,),
}


def place(client, auth, sub: str = USER, order: dict | None = None, **claims) -> dict:
    """Place an order through the API as `sub`; the order as the API answered it."""
    response = client.post("/api/orders", json=order or ORDER, headers=auth(sub, **claims))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["order"]


def move(client, headers: dict, order_id: str, status: object):
    """POST /api/shop/orders/<id>/status."""
    return client.post(f"/api/shop/orders/{order_id}/status", json={"status": status}, headers=headers)


def order_in(client, auth, staff_headers: dict, status: str, sub: str = USER) -> dict:
    """A new order, moved by staff to `status`; as staff see it (with its history)."""
    order = place(client, auth, sub)
    for step in PATH_TO[status]:
        response = move(client, staff_headers, order["id"], step)
        assert response.status_code == 200, response.get_data(as_text=True)
    return shop_view(client, staff_headers, order)


def shop_view(client, staff_headers: dict, order: dict) -> dict:
    """The order as staff see it now (from its day's list)."""
    response = client.get(f"/api/shop/orders?day={order['date'][:10]}&limit=100", headers=staff_headers)
    assert response.status_code == 200
    [shown] = [o for o in response.get_json()["orders"] if o["id"] == order["id"]]
    return shown


def customers_view(client, auth, order_id: str, sub: str = USER) -> dict:
    """The order as its customer's API shows it now."""
    response = client.get(f"/api/orders/{order_id}", headers=auth(sub))
    assert response.status_code == 200
    return response.get_json()["order"]
