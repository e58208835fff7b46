"""API routes: thin — parse, call the orders service, return JSON."""

from __future__ import annotations

from flask import Response, jsonify, request

from pizza42 import claims, menu
from pizza42.api import bp, openapi
from pizza42.api.bearer import current_customer, current_token, require_token
from pizza42.api.body import idempotency_key, json_body
from pizza42.api.params import page_limit
from pizza42.dependencies import get_session_store, get_settings, get_store
from pizza42.observability import audit_order_attempt, record_order_outcome
from pizza42.orders import service
from pizza42.orders.model import now_iso


@bp.get("/health")
def health() -> Response:
    """Liveness for the load balancer: touches neither DynamoDB nor Auth0."""
    return jsonify({"status": "ok", "service": "pizza42", "time": now_iso()})


@bp.get("/ready")
def ready() -> Response:
    """Readiness: DynamoDB answers for both our tables (503 otherwise); no session is read or opened."""
    get_store().ping()
    get_session_store().ping()  # the pages cannot log anyone in without it
    return jsonify({"status": "ready", "storage": "dynamodb"})


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document (public; read once per process)."""
    return openapi.document_response()


@bp.get("/menu")
def get_menu() -> Response:
    """The menu and prices (public)."""
    return jsonify(menu.menu_as_json())


@bp.post("/orders")
@audit_order_attempt
@require_token(verified_email=True, scope=True)
def create_order() -> tuple[Response, int, dict]:
    """Place an order priced by the server; Idempotency-Key makes retries safe."""
    key = idempotency_key()
    customer = current_customer()
    order, created = service.place_order(get_store(), customer, json_body(), key)
    record_order_outcome(customer.user_id, customer.email, order.order_id, "placed" if created else "replayed")
    body = {"success": True, "message": f"Order placed: {order.quantity} × {order.pizza} ({order.size}).",
            "order": order.to_json(), "storage": "dynamodb"}
    # The order's own URL (the get_order route below); built directly: url_for cost 6% of an order's CPU.
    headers = {"Location": f"{bp.url_prefix}/orders/{order.order_id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(body), 201, headers


@bp.get("/orders")
@require_token(verified_email=True)
def list_orders() -> Response:
    """The caller's orders, newest first, with the customer profile on the first page."""
    history = service.list_orders(get_store(), current_token().subject, page_limit(), request.args.get("cursor"))
    return jsonify(history.to_json())


@bp.get("/orders/<order_id>")
@require_token(verified_email=True)
def get_order(order_id: str) -> Response:
    """One of the caller's own orders (404 for anyone else's)."""
    return jsonify({"order": service.get_order(get_store(), current_token().subject, order_id).to_json(),
                    "storage": "dynamodb"})


@bp.post("/orders/<order_id>/cancel")
@require_token(verified_email=True)
def cancel_order(order_id: str) -> Response:
    """The caller takes back one of their own orders: within the cancel window, before the kitchen starts."""
    order = service.cancel_order(get_store(), current_token().subject, order_id,
                                 get_settings().cancel_window_seconds)
    return jsonify({"order": order.to_json(), "storage": "dynamodb"})


@bp.get("/verify-token")
@require_token()
def verify_token() -> Response:
    """What the API verified about the presented token (no signature or raw token echoed)."""
    token = current_token()
    return jsonify({
        "valid": True,
        "token_type": token.token_type,
        "subject": token.subject,
        "email": token.email,
        "email_verified": token.claims.get("email_verified", token.claims.get(claims.EMAIL_VERIFIED)),
        "can_place_orders": token.can_place_orders,
        "issuer": token.claims.get("iss"),
        "audience": token.claims.get("aud"),
        "expires_at": token.claims.get("exp"),
        "scope": token.claims.get("scope"),
        "permissions": token.claims.get("permissions"),
        "custom_claims": claims.custom_claims(token.claims),
    })
