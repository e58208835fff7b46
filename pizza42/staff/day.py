"""The kitchen's day view: one shop-local day's orders in every status, a page at a time, and as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request

from pizza42.dependencies import get_session_store, get_settings, get_shop
from pizza42.orders import lifecycle
from pizza42.orders.errors import InvalidCursor
from pizza42.orders.model import Order
from pizza42.shop.analytics import InvalidRange, parse_day
from pizza42.shop.store import ShopStore
from pizza42.staff import bp
from pizza42.staff.access import kitchen_only
from pizza42.staff.export import orders_csv
from pizza42.staff.kitchen import customer_label

PAGE_SIZE = 50
CSV_PAGE_SIZE = 100


def _asked_day() -> date:
    """?day=YYYY-MM-DD, or the shop's today; a 400 page for anything else."""
    value = request.args.get("day")
    if not value:
        return get_shop().shop_time.today(get_session_store().now())
    try:
        return parse_day(value, "day")
    except InvalidRange:
        abort(400, "The day must be a date like 2026-12-05.")


@bp.get("/kitchen/day")
@kitchen_only
def day_view() -> str:
    """A day's orders, oldest first, PAGE_SIZE a page (the store's cursor), with links to the days around it."""
    day = _asked_day()
    cursor = request.args.get("cursor") or None
    try:
        page = get_shop().day(day, PAGE_SIZE, cursor)
    except InvalidCursor:
        abort(400, "That page of the day does not exist. Start again from the day's first orders.")
    return render_template("kitchen_day.html", day=day, page=page, cursor=cursor, customer_label=customer_label,
                           previous_day=day - timedelta(days=1) if day > date.min else None,
                           next_day=day + timedelta(days=1) if day < date.max else None,
                           config_zone=get_settings().shop_timezone, step_labels=lifecycle.STEP_LABELS)


def every_order_of(shop: ShopStore, day: date) -> Iterator[Order]:
    """All of a day's orders, page after page."""
    cursor = None
    while True:
        page = shop.day(day, CSV_PAGE_SIZE, cursor)
        yield from page.orders
        if not page.next_cursor:
            return
        cursor = page.next_cursor


@bp.get("/kitchen/day.csv")
@kitchen_only
def day_csv() -> Response:
    """Every order of the day as a CSV download (all pages)."""
    day = _asked_day()
    body = orders_csv(every_order_of(get_shop(), day), ZoneInfo(get_settings().shop_timezone))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="pizza42-orders-{day.isoformat()}.csv"'})
