"""The use cases both the web pages and the JSON API call: place an order, list them, read one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from pizza42.orders import lifecycle
from pizza42.orders.errors import InvalidCursor, OrderNotFound, UnknownStatus
from pizza42.orders.ids import is_order_id, order_id_millis
from pizza42.orders.model import Order, validate_order_request
from pizza42.orders.profile import customer_profile
from pizza42.orders.store import OrderStore

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Customer:
    """Who is ordering: always the verified token's (or session's) subject, never the request body."""

    user_id: str
    email: str | None
    name: str | None = None  # what staff call out when the pizza is ready


@dataclass(frozen=True)
class History:
    """A page of orders (newest first), the cursor to the next page, and the profile (page one)."""

    orders: list[Order]
    next_cursor: str | None
    profile: dict | None

    def to_json(self) -> dict:
        """The body of GET /api/orders."""
        return {
            "orders": [order.to_json() for order in self.orders],
            "next_cursor": self.next_cursor,
            "customer_profile": self.profile,
            "storage": "dynamodb",
        }


def encode_cursor(order_id: str) -> str:
    """An opaque cursor for 'the orders older than this one'."""
    return base64.urlsafe_b64encode(order_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The order id inside a cursor; InvalidCursor for anything this app did not hand out."""
    try:
        order_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidCursor(cursor) from None
    # Only an order id, in the exact encoding we hand out; the store pins the partition anyway.
    if not is_order_id(order_id) or encode_cursor(order_id) != cursor:
        raise InvalidCursor(cursor)
    return order_id


def place_order(store: OrderStore, customer: Customer, payload: object,
                idempotency_key: str | None = None) -> tuple[Order, bool]:
    """Validate and price an order request, then store it; return (order, newly created)."""
    request = validate_order_request(payload)
    return store.place(customer.user_id, customer.email, request, idempotency_key, customer.name)


def list_orders(store: OrderStore, user_id: str, limit: int = DEFAULT_PAGE_SIZE,
                cursor: str | None = None) -> History:
    """One page of a customer's history; the first page carries the profile (one DynamoDB request)."""
    after = decode_cursor(cursor) if cursor else None
    page = store.page(user_id, max(1, min(limit, MAX_PAGE_SIZE)), after)
    return History(
        orders=page.orders,
        next_cursor=encode_cursor(page.next_order_id) if page.next_order_id else None,
        profile=customer_profile(page.summary) if page.summary is not None else None,
    )


def get_order(store: OrderStore, user_id: str, order_id: str) -> Order:
    """One of the customer's own orders (OrderNotFound otherwise)."""
    return store.get(user_id, order_id)


def cancel_order(store: OrderStore, user_id: str, order_id: str, window_seconds: int) -> Order:
    """The customer takes back one of their own orders, within the window and before the kitchen starts.

    OrderNotFound for anyone else's order; StatusConflict once the window has closed or the kitchen started.
    """
    return store.change_status(user_id, order_id, lifecycle.CANCELLED, actor=lifecycle.CUSTOMER,
                               by=lifecycle.CUSTOMER, cancel_window_seconds=window_seconds)


def move_order(store: OrderStore, order_id: str, target: object, staff_sub: str) -> Order:
    """A staff member moves an order (found by its id alone) to `target`; UnknownStatus, StatusConflict."""
    if not isinstance(target, str) or target not in lifecycle.STATUSES:
        raise UnknownStatus(target)
    if not is_order_id(order_id):
        raise OrderNotFound(order_id)
    user_id = store.locate(order_id)
    return store.change_status(user_id, order_id, target, actor=lifecycle.STAFF, by=staff_sub)


def cancel_deadline(order: Order, window_seconds: int) -> float | None:
    """Until when (epoch seconds) the customer may still cancel this order; None if they never may now."""
    millis = order_id_millis(order.order_id)
    if millis is None or not lifecycle.may_move(order.status, lifecycle.CANCELLED, lifecycle.CUSTOMER):
        return None
    return millis / 1000 + window_seconds
