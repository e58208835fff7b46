"""A day's orders as CSV for a spreadsheet: every column quoted as needed, and no cell a spreadsheet would run.

A customer chooses their own name, and a spreadsheet treats a cell beginning with `=`, `+`, `-`, `@` (or a tab or
carriage return before one) as a formula: such text cells get a leading `'` (OWASP's CSV-injection advice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo

from pizza42.orders.model import Order

HEADER = ("ticket", "order_id", "placed_at", "status", "status_updated_at", "pizza", "size", "quantity",
          "unit_price", "total", "customer_name", "customer_email")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str | None) -> str:
    """A text cell a spreadsheet shows as text, never evaluates."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _local(timestamp: str, zone: tzinfo) -> str:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return safe_cell(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).isoformat(timespec="seconds")


def orders_csv(orders: Iterable[Order], zone: tzinfo) -> str:
    """Every order as one CSV row (times in the shop's zone, with their offset), under a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow(HEADER)
    for order in orders:
        writer.writerow((order.ticket, order.order_id, _local(order.created_at, zone), order.status,
                         _local(order.status_updated_at, zone), safe_cell(order.pizza), safe_cell(order.size),
                         order.quantity, f"{order.unit_price:.2f}", f"{order.total:.2f}",
                         safe_cell(order.customer_name), safe_cell(order.user_email)))
    return out.getvalue()
