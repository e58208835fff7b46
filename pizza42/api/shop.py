"""The shop's API (staff and managers): the kitchen's queue, a day's orders, status moves, the figures.

Every call needs an access token carrying an Auth0 RBAC permission (bearer.require_token(permission=...));
anyone else gets 403 before any parameter is read or any order is looked at.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from pizza42.api import bp
from pizza42.api.bearer import current_token, require_token
from pizza42.api.body import json_body
from pizza42.api.errors import ApiError
from pizza42.api.params import page_limit
from pizza42.dependencies import get_shop, get_store
from pizza42.orders import service
from pizza42.shop import analytics
from pizza42.shop.access import READ_ANALYTICS, READ_SHOP_ORDERS, UPDATE_ORDER_STATUS
from pizza42.shop.store import Board

OPEN = "open"  # the only `status` filter: the kitchen's queue (confirmed, preparing, ready)


def _bad_query(field: str, message: str) -> ApiError:
    return ApiError(400, "invalid_query", message, field=field)


@bp.get("/shop/orders")
@require_token(permission=READ_SHOP_ORDERS)
def shop_orders() -> Response:
    """`?status=open`: the kitchen's queue, oldest first (ETag, 304); `?day=YYYY-MM-DD`: a day's orders, paged."""
    status, day = request.args.get("status"), request.args.get("day")
    if status is not None and day is not None:
        raise _bad_query("day", "Give either 'status=open' or 'day', not both.")
    if status is None and day is None:
        raise _bad_query("status", "Give 'status=open' (the open orders) or 'day=YYYY-MM-DD' (a day's orders).")
    if status is not None:
        if status != OPEN:
            raise _bad_query("status", "'status' must be 'open' (for one day's orders in every status, use 'day').")
        for name in ("limit", "cursor"):
            if name in request.args:
                raise _bad_query(name, f"'{name}' pages a day's orders; the open orders come in one answer.")
        return _board(get_shop().board())
    try:
        wanted = analytics.parse_day(day, "day")
    except analytics.InvalidRange as exc:
        raise ApiError(400, "invalid_query", exc.message, field="day") from None
    page = get_shop().day(wanted, page_limit(), request.args.get("cursor") or None)
    return jsonify({"day": page.day, "orders": [order.to_shop_json() for order in page.orders],
                    "next_cursor": page.next_cursor})


def _board(board: Board) -> Response:
    """The open orders, or 304 when the caller's copy (If-None-Match) is still the board: one Query either way."""
    if request.if_none_match.contains_weak(board.etag):  # weak comparison (RFC 9110): a gzipping proxy weakens tags
        response = Response(status=304)
    else:
        response = jsonify({"orders": [order.to_shop_json() for order in board.orders]})
    response.set_etag(board.etag)
    # Staff data: never in a shared cache; a browser keeps it only to ask "changed?" with If-None-Match.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/shop/orders/<order_id>/status")
@require_token(permission=UPDATE_ORDER_STATUS)
def move_order(order_id: str) -> Response:
    """Move an order to the status in the body (`{"status": "preparing"}`): 409 with its status if it may not."""
    payload = json_body()
    target = payload.get("status") if isinstance(payload, dict) else None
    order = service.move_order(get_store(), order_id, target, current_token().subject)
    return jsonify({"order": order.to_shop_json()})


@bp.get("/shop/analytics")
@require_token(permission=READ_ANALYTICS)
def shop_analytics() -> Response:
    """The kept figures of each shop-local day from `from` to `to` (at most 92 days), and their totals."""
    first, last = analytics.parse_range(request.args.get("from"), request.args.get("to"))
    return jsonify(analytics.report(get_shop(), first, last).to_json())
