"""The kitchen: the open orders as cards (live), one button per next step, and a printable ticket per order.

A refresh of the board is a conditional GET of its fragment: the board's one DynamoDB Query, then 304 with
nothing rendered when its ETag has not changed. Like every logged-in page, it also reads its session (one
GetItem on the sessions table) first: that read is what makes a logout, "log out everywhere" or an expired
session stop the board at the next refresh, and what keeps a kitchen screen's session alive. (Roles are read
from the ID token at login: a changed role counts from the next login.)
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, jsonify, make_response, redirect, render_template, request, url_for

from pizza42.dependencies import get_session_store, get_shop, get_store
from pizza42.orders import lifecycle, service
from pizza42.orders.errors import OrderNotFound, StatusConflict, UnknownStatus
from pizza42.orders.model import TICKET_LENGTH, Order
from pizza42.shop.store import Board
from pizza42.staff import bp
from pizza42.staff.access import kitchen_only
from pizza42.web.session import current_user

REFRESH_SECONDS = 5


def next_moves(order: Order) -> list[tuple[str, str]]:
    """The buttons of a card: (target status, label), the step forward first and "Cancel" last."""
    return [(target, lifecycle.ACTION_LABELS[target]) for target in lifecycle.moves_from(order.status,
                                                                                        lifecycle.STAFF)]


def customer_label(order: Order) -> str:
    """Who to hand the pizza to: the customer's name, else their email."""
    return order.customer_name or order.user_email or "—"


def ago(created_at: str, now: float) -> str:
    """How long ago an order was placed: `just now`, `12 min ago`, `1 h 05 min ago` (static/kitchen.js too)."""
    try:
        placed = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return created_at
    minutes = max(0, int(now - placed) // 60)
    if minutes < 1:
        return "just now"
    return f"{minutes} min ago" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min ago"


def _board_context(board: Board) -> dict:
    now = get_session_store().now()
    return {"board": board, "next_moves": next_moves, "customer_label": customer_label,
            "step_labels": lifecycle.STEP_LABELS, "ago": lambda created_at: ago(created_at, now)}


@bp.get("/kitchen")
@kitchen_only
def kitchen() -> str:
    """The open orders, oldest first; refreshed in place by static/kitchen.js, and a plain page without it."""
    return render_template("kitchen.html", refresh_seconds=REFRESH_SECONDS, **_board_context(get_shop().board()))


@bp.get("/kitchen/board")
@kitchen_only
def board_fragment() -> Response:
    """The board's cards alone (for the live refresh): 304 with nothing rendered while its ETag is unchanged."""
    board = get_shop().board()
    if request.if_none_match.contains(board.etag):
        response = Response(status=304)
    else:
        response = make_response(render_template("_board.html", **_board_context(board)))
    response.set_etag(board.etag)
    return response


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _answer(message: str, category: str, status: int) -> Response | tuple[Response, int]:
    """JSON for the board's script; otherwise a flash and back to the board (the page works without JavaScript)."""
    if _wants_json():
        return jsonify(message=message, category=category), status
    flash(message, category)
    return redirect(url_for("staff.kitchen"), 303)


@bp.post("/kitchen/orders/<order_id>/status")
@kitchen_only
def move(order_id: str) -> Response | tuple[Response, int]:
    """One button of a card: move the order to the status it names (a conditional write: 409 if it moved)."""
    user = current_user()
    assert user is not None  # kitchen_only
    target, shown = request.form.get("status", ""), request.form.get("from", "")
    ticket = order_id[-TICKET_LENGTH:].upper()
    try:
        order = service.move_order(get_store(), order_id, target, user.sub)
    except UnknownStatus:
        abort(400, "That is not a status an order can have. Reload the kitchen and try again.")
    except OrderNotFound:
        abort(404, "There is no order with that number.")
    except StatusConflict as exc:
        label = lifecycle.STEP_LABELS.get(exc.status, exc.status).lower()
        why = (f"someone else moved it: it is now {label}." if shown and exc.status != shown
               else exc.reason)
        return _answer(f"Ticket {ticket}: {why}", "error", 409)
    return _answer(f"Ticket {order.ticket}: {lifecycle.STEP_LABELS[order.status].lower()}.", "success", 200)


@bp.get("/kitchen/orders/<order_id>/ticket")
@kitchen_only
def ticket(order_id: str) -> str:
    """A printable kitchen ticket: the big number, what to make, for whom."""
    store = get_store()
    try:
        order = store.get(store.locate(order_id), order_id)
    except OrderNotFound:
        abort(404, "There is no order with that number.")
    return render_template("kitchen_ticket.html", order=order, customer=customer_label(order),
                           step_labels=lifecycle.STEP_LABELS)
