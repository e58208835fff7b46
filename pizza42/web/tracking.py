"""Where the customer's order is: the live status (tracker and history) and cancelling within the window.

The status is a small fragment the page polls while the order is open: one GetItem of the customer's own order
(after the session's read), and 304 with nothing rendered while its ETag is unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for

from pizza42.dependencies import get_session_store, get_settings, get_store
from pizza42.orders import lifecycle, service
from pizza42.orders.errors import OrderNotFound, StatusConflict
from pizza42.orders.model import Order
from pizza42.web import bp
from pizza42.web.session import SessionUser, current_user, login_required

POLL_SECONDS = 5
VIEWS = ("receipt", "row")


@dataclass(frozen=True)
class Step:
    """One step of the tracker: its label and whether the order is past it, at it, or not there yet."""

    label: str
    state: str  # "done", "current" or "todo"


@dataclass(frozen=True)
class Tracking:
    """What the pages show about an order's progress, and whether (and until when) the customer may cancel."""

    order: Order
    steps: list[Step]  # empty for a cancelled order
    cancel_until: float | None  # epoch seconds; None when the customer may not cancel (any more)
    seconds_left: int
    why_not_cancel: str | None  # for an open order that can no longer be cancelled

    @property
    def is_open(self) -> bool:
        """Whether the order may still change (the page keeps polling)."""
        return lifecycle.is_open(self.order.status)

    @property
    def label(self) -> str:
        """The status in words."""
        return lifecycle.STEP_LABELS.get(self.order.status, self.order.status.capitalize())

    def etag(self, view: str) -> str:
        """Changes whenever what the fragment shows changes (status, its time, the cancel button)."""
        seen = f"{view}|{self.order.order_id}|{self.order.status}|{self.order.status_at}|{self.cancel_until is None}"
        return hashlib.sha256(seen.encode()).hexdigest()[:24]


def track(order: Order) -> Tracking:
    """The order's tracker steps and cancel window, as of now."""
    steps = []
    if order.status in lifecycle.PROGRESS:
        reached = lifecycle.PROGRESS.index(order.status)
        steps = [Step(lifecycle.STEP_LABELS[status], "done" if index < reached else
                      "current" if index == reached else "todo")
                 for index, status in enumerate(lifecycle.PROGRESS)]
    window = get_settings().cancel_window_seconds
    deadline = service.cancel_deadline(order, window)
    now = get_session_store().now()
    if deadline is not None and deadline <= now:
        deadline = None
    why_not = None
    if deadline is None and lifecycle.is_open(order.status):
        why_not = ("The kitchen has started on it, so it can no longer be cancelled."
                   if order.status != lifecycle.CONFIRMED else
                   f"The {window // 60} minutes to cancel it have passed.")
    return Tracking(order, steps, deadline, max(0, int((deadline or now) - now)), why_not)


def changed_by(by: str) -> str:
    """Who made a change, as the customer may see it: never a staff member's `sub`."""
    return "You" if by == lifecycle.CUSTOMER else "Pizza 42 staff"


def time_left(seconds: int) -> str:
    """`4 min 05 s` (how long the customer may still cancel)."""
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _verified(user: SessionUser) -> None:
    if not user.can_place_orders:
        abort(403, "Your orders are shown once your email address is verified. Verify it using the link we "
                   "emailed you, then log out and log in again.")


def own_order(user: SessionUser, order_id: str) -> Order:
    """One of the customer's own orders; 403 until their email is verified, 404 for any other id."""
    _verified(user)
    try:
        # The store looks only in this customer's partition, and only for well-formed order ids.
        return service.get_order(get_store(), user.sub, order_id)
    except OrderNotFound:
        abort(404, "There is no order with that number among your orders.")


@bp.app_template_global()
def status_url(order: Order, view: str = "receipt") -> str:
    """Where a page polls this order's live status."""
    return url_for("web.order_status", order_id=order.order_id, view=view)


@bp.get("/orders/<order_id>/status")
@login_required
def order_status(order_id: str) -> Response:
    """The order's live status as a fragment (?view=receipt: tracker, history, cancel; ?view=row: the tracker)."""
    user = current_user()
    assert user is not None  # login_required
    view = request.args.get("view", "receipt")
    if view not in VIEWS:
        abort(400, "Unknown view.")
    tracking = track(own_order(user, order_id))
    etag = tracking.etag(view)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = make_response(render_template("_order_status.html", tracking=tracking, view=view,
                                                 changed_by=changed_by, time_left=time_left))
    response.set_etag(etag)
    return response


@bp.get("/orders/<order_id>/cancel")
@login_required
def confirm_cancel(order_id: str) -> str | Response:
    """"Cancel this order?": the confirmation step (a page, so it works without JavaScript)."""
    user = current_user()
    assert user is not None  # login_required
    tracking = track(own_order(user, order_id))
    if tracking.cancel_until is None:
        flash(f"This order can no longer be cancelled. {tracking.why_not_cancel or ''}".strip(), "error")
        return redirect(url_for("web.receipt", order_id=order_id), 303)
    return render_template("cancel.html", tracking=tracking, time_left=time_left)


@bp.post("/orders/<order_id>/cancel")
@login_required
def cancel(order_id: str) -> Response:
    """Cancel one of the customer's own orders (CSRF-protected); a clear message once it is too late."""
    user = current_user()
    assert user is not None  # login_required
    _verified(user)
    try:
        order = service.cancel_order(get_store(), user.sub, order_id, get_settings().cancel_window_seconds)
    except OrderNotFound:
        abort(404, "There is no order with that number among your orders.")
    except StatusConflict as exc:
        flash(f"This order can no longer be cancelled: {exc.reason}", "error")
        return redirect(url_for("web.receipt", order_id=order_id), 303)
    flash(f"Order {order.ticket} cancelled: {order.quantity} × {order.pizza} ({order.size}). "
          "It no longer counts in your totals.", "success")
    return redirect(url_for("web.receipt", order_id=order_id), 303)
