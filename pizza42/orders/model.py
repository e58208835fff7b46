"""What an order is: validation of a request, pricing, and the order record itself."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from pizza42 import menu
from pizza42.orders.errors import InvalidOrder
from pizza42.orders.lifecycle import CONFIRMED, CUSTOMER, StatusChange

CENT = Decimal("0.01")
STATUS_CONFIRMED = CONFIRMED
TICKET_LENGTH = 4


@dataclass(frozen=True)
class OrderRequest:
    """A validated request for an order: menu names, a quantity, and the server's price."""

    pizza: str
    size: str
    quantity: int
    unit_price: Decimal
    total: Decimal

    def fingerprint(self) -> str:
        """What identifies the request for idempotent replays (not the ignored `date`)."""
        return f"{self.pizza}|{self.size}|{self.quantity}|{self.total}"


class Order(NamedTuple):
    """A stored order, as read back from DynamoDB (new or legacy); immutable.

    A NamedTuple rather than a frozen dataclass: a page reads ten or more of these per request, and a
    frozen dataclass's __init__ (one object.__setattr__ per field) cost a fifth of a history page's
    domain code.
    """

    user_id: str
    order_id: str
    pizza: str
    size: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    created_at: str
    user_email: str | None = None
    status: str = STATUS_CONFIRMED
    status_at: str | None = None  # when the status last changed (None: never, since it was placed)
    changes: tuple[StatusChange, ...] = ()  # every move since it was placed, oldest first
    customer_name: str | None = None

    @property
    def ticket(self) -> str:
        """The short number a customer reads out at the counter: the id's last four characters."""
        return self.order_id[-TICKET_LENGTH:].upper()

    @property
    def status_updated_at(self) -> str:
        """When the order reached its current status."""
        return self.status_at or self.created_at

    @property
    def history(self) -> tuple[StatusChange, ...]:
        """Every status the order has had, from its placing (by the customer) to now."""
        return (StatusChange(CONFIRMED, self.created_at, CUSTOMER), *self.changes)

    def to_json(self) -> dict:
        """The order as the API presents it (the original backend's field names, plus its status's time)."""
        return {
            "id": self.order_id,
            "pizza": self.pizza,
            "size": self.size,
            "quantity": self.quantity,
            "total": money(self.total),
            "date": self.created_at,
            "status": self.status,
            "status_updated_at": self.status_at or self.created_at,
            "ticket": self.order_id[-TICKET_LENGTH:].upper(),
            "userId": self.user_id,
        }

    def to_shop_json(self) -> dict:
        """The order as staff see it: the customer's view plus its history and who to hand it to."""
        return {**self.to_json(), "history": [change.to_json() for change in self.history],
                "customer": {"name": self.customer_name, "email": self.user_email}}


def money(amount: Decimal) -> float:
    """A Decimal amount as a JSON number with at most two decimals."""
    return float(amount.quantize(CENT))


def now_iso(moment: datetime | None = None) -> str:
    """Server time as ISO 8601 UTC with millisecond precision and a `Z`."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _string_field(payload: dict, name: str) -> str:
    value = payload.get(name)
    if value is None:
        raise InvalidOrder(name, f"'{name}' is required")
    if not isinstance(value, str):
        raise InvalidOrder(name, f"'{name}' must be a string")
    return value


def _quantity(payload: dict) -> int:
    value = payload.get("quantity", 1)
    # bool is an int in Python; a JSON true is not a quantity.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrder("quantity", "'quantity' must be a whole number from 1 to 20")
    if not 1 <= value <= menu.MAX_QUANTITY:
        raise InvalidOrder("quantity", f"'quantity' must be from 1 to {menu.MAX_QUANTITY}")
    return value


def _client_total(payload: dict) -> Decimal | None:
    value = payload.get("total")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOrder("total", "'total' must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOrder("total", "'total' must be a finite number")
    try:
        # str() first: the float's shortest repr is what the client wrote (16.99, not 16.989999…).
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidOrder("total", "'total' must be a number") from None


def validate_order_request(payload: object) -> OrderRequest:
    """Check an order request against the menu and price it; raise InvalidOrder naming the field.

    The server is the only authority on price: a client `total` is accepted only when it equals
    the server's, and a client `date` is ignored (orders are stamped with server time).
    """
    if not isinstance(payload, dict):
        raise InvalidOrder("body", "the request body must be a JSON object")
    pizza = menu.canonical_pizza(_string_field(payload, "pizza"))
    if pizza is None:
        raise InvalidOrder("pizza", f"'pizza' must be one of: {', '.join(menu.PIZZAS)}")
    size = _string_field(payload, "size").strip().lower()
    if size not in menu.SIZES:
        raise InvalidOrder("size", f"'size' must be one of: {', '.join(menu.SIZES)}")
    quantity = _quantity(payload)
    price = menu.unit_price(pizza, size)
    total = price * quantity
    client_total = _client_total(payload)
    if client_total is not None and client_total != total:
        raise InvalidOrder("total", f"'total' does not match the price: {quantity} × {pizza} ({size}) "
                                    f"costs {total:.2f} {menu.CURRENCY}")
    return OrderRequest(pizza=pizza, size=size, quantity=quantity, unit_price=price, total=total)
