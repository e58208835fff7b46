"""Web pages (the ordering page, history, receipt, account) — thin views over the orders service.

An order's live status and its cancellation are in tracking.py.
"""

from __future__ import annotations

import json

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from pizza42 import menu
from pizza42.dependencies import get_settings, get_store
from pizza42.observability import audit_order_attempt, record_customer, record_order_outcome
from pizza42.orders import service
from pizza42.orders.errors import IdempotencyKeyReused, InvalidCursor, InvalidOrder, OrderNotFound
from pizza42.orders.model import Order, validate_order_request
from pizza42.web import bp
from pizza42.web.charts import monthly_spend_chart, pizza_mix_chart
from pizza42.web.filters import money, register_filters
from pizza42.web.forms import LogoutForm, OrderForm
from pizza42.web.session import SessionUser, current_user, login_required, session_limits, visitors_log_in_first
from pizza42.web.tracking import changed_by, time_left, track

HISTORY_PAGE_SIZE = 10
PIZZA_NOTES = {  # words for the menu cards; prices come from pizza42.menu only
    "Margherita": "San Marzano tomato, fior di latte, basil",
    "Pepperoni": "Tomato, mozzarella, spicy pepperoni",
    "Supreme": "Pepperoni, sausage, peppers, onion, olives",
    "Hawaiian": "Tomato, mozzarella, ham, pineapple",
}
_PERSONAL_PAGES = ("web.orders", "web.receipt", "web.account", "web.order_status", "web.confirm_cancel")
# The price list for the page's live-total script: the menu never changes while the app runs.
_PRICES_JSON = json.dumps({name: {size: str(price) for size, price in by_size.items()}
                           for name, by_size in menu.PRICES.items()})

register_filters(bp)
bp.before_app_request(visitors_log_in_first)  # registered after the session is read, before the CSRF check


@bp.app_context_processor
def _page_context() -> dict:
    """What the layout needs on every page: who is logged in, and the logout form's CSRF token."""
    user = current_user()
    return {"current_user": user, "logout_form": LogoutForm(formdata=None) if user else None}


@bp.after_app_request
def _personal_pages_are_not_cached(response: Response) -> Response:
    """Anything rendered for a logged-in customer (error pages too) is kept by no browser or shared cache."""
    if request.endpoint in _PERSONAL_PAGES or g.get("pizza42_user") is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def _preview_total(form: OrderForm) -> str | None:
    """The total for the form's current choices, priced by the domain (the same code that charges)."""
    try:
        return money(validate_order_request(form.payload()).total)
    except InvalidOrder:
        return None


def _render_home(user: SessionUser | None, form: OrderForm | None, status: int = 200) -> tuple[str, int]:
    page = render_template("home.html", user=user, form=form, prices=menu.PRICES, sizes=menu.SIZES,
                           notes=PIZZA_NOTES, prices_json=_PRICES_JSON, max_quantity=menu.MAX_QUANTITY,
                           total=_preview_total(form) if form else None)
    return page, status


@bp.get("/")
def home() -> tuple[str, int]:
    """The menu; the order form (maybe prefilled by "Order again") for a customer who may order; else why not."""
    user = current_user()
    return _render_home(user, OrderForm.prefilled(request.args) if user and user.can_place_orders else None)


@bp.app_template_global()
def order_again_url(order: Order) -> str:
    """The order form with this order's pizza, size and quantity chosen, at today's price."""
    return url_for("web.home", pizza=order.pizza, size=order.size, quantity=order.quantity, _anchor="order-form")


@bp.post("/")
@audit_order_attempt
@login_required
def place_order() -> Response | tuple[str, int]:
    """Place an order through the same domain function as the API, then show it in the history."""
    user = current_user()
    assert user is not None  # login_required
    record_customer(user.sub, user.email)
    if not user.can_place_orders:
        # Same rule as the API's 403: the form is never offered, so this POST was forged or stale.
        abort(403, "Your email address is not verified yet, so you cannot place orders. Verify it using the "
                   "link we emailed you, then log out and log in again.")
    form = OrderForm()
    if not form.validate_on_submit():
        record_order_outcome(user.sub, user.email, None, "refused", "InvalidForm")
        return _render_home(user, form, 422)
    try:
        order, created = service.place_order(get_store(), service.Customer(user.sub, user.email, user.name),
                                             form.payload(),
                                             form.idempotency_key())
    except InvalidOrder as exc:
        record_order_outcome(user.sub, user.email, None, "refused", "InvalidOrder")
        form.add_error(exc.field, exc.message)
        return _render_home(user, form, 422)
    except IdempotencyKeyReused:
        record_order_outcome(user.sub, user.email, None, "refused", "IdempotencyKeyReused")
        form = OrderForm(formdata=None, pizza=form.pizza.data, size=form.size.data, quantity=form.quantity.data)
        form.add_error("form", "That form was already used for another order. Check your orders, then try again.")
        return _render_home(user, form, 422)
    record_order_outcome(user.sub, user.email, order.order_id, "placed" if created else "replayed")
    what = f"{order.quantity} × {order.pizza} ({order.size}), {money(order.total)}"
    flash(f"Order placed: {what}." if created else f"That order was already placed: {what}.", "success")
    return redirect(url_for("web.orders"), 303)


@bp.get("/orders")
@login_required
def orders() -> str:
    """The customer's orders, newest first, ten a page; the profile and its charts on the first page."""
    user = current_user()
    assert user is not None  # login_required
    if not user.can_place_orders:
        return render_template("orders.html", user=user, history=None)
    cursor = request.args.get("cursor") or None
    try:
        history = service.list_orders(get_store(), user.sub, HISTORY_PAGE_SIZE, cursor)
    except InvalidCursor:
        abort(400, "That page of your history does not exist. Start again from your newest orders.")
    profile = history.profile
    return render_template(
        "orders.html", user=user, history=history, profile=profile, cursor=cursor,
        spend_chart=monthly_spend_chart(profile.get("monthly_spend", {})) if profile else None,
        pizza_chart=pizza_mix_chart(profile.get("pizza_counts", {})) if profile else None, track=track,
    )


@bp.get("/orders/<order_id>")
@login_required
def receipt(order_id: str) -> str:
    """The receipt of one of the customer's own orders (printable); 404 for any other id."""
    user = current_user()
    assert user is not None  # login_required
    if not user.can_place_orders:
        abort(403, "Your orders are shown once your email address is verified. Verify it using the link we "
                   "emailed you, then log out and log in again.")
    try:
        # The store looks only in this customer's partition, and only for well-formed order ids.
        order = service.get_order(get_store(), user.sub, order_id)
    except OrderNotFound:
        abort(404, "There is no order with that number among your orders.")
    return render_template("receipt.html", user=user, order=order, tracking=track(order),
                           changed_by=changed_by, time_left=time_left)


@bp.get("/account")
@login_required
def account() -> str:
    """"ID token verification": the verified claims this session was started from."""
    return render_template("account.html", user=current_user(), issuer=get_settings().auth0_issuer,
                           session_limits=session_limits())
