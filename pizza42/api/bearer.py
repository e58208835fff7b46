"""The bearer-token guard for API views: who is calling, and may they order."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g, request

from pizza42.api.errors import REALM, ApiError
from pizza42.auth.tokens import VerifiedToken, parse_bearer
from pizza42.dependencies import get_settings, get_verifier
from pizza42.observability import record_customer
from pizza42.orders.service import Customer


def current_token() -> VerifiedToken:
    """The verified token of this request (set by require_token)."""
    return g.token


def current_customer() -> Customer:
    """The customer the verified token speaks for: orders are keyed by its `sub`, nothing else."""
    token = current_token()
    return Customer(user_id=token.subject, email=token.email)


def require_token(*, verified_email: bool = False, scope: bool = False) -> Callable:
    """Decorate a view: a valid bearer token, optionally a verified email and the order scope."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization")
            if not header:
                raise ApiError(401, "unauthorized", "A bearer token is required.", {"WWW-Authenticate": REALM})
            token = get_verifier().verify(parse_bearer(header))
            g.token = token
            record_customer(token.subject, token.email)
            if verified_email and not token.can_place_orders:
                raise ApiError(403, "email_not_verified",
                               "Verify your email address before ordering: check your inbox, then log in again.",
                               action="verify_email")
            order_scope = get_settings().order_scope
            if scope and not token.has_scope(order_scope):
                raise ApiError(403, "insufficient_scope", f"This token lacks the '{order_scope}' scope.",
                               {"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{order_scope}"'})
            return view(*args, **kwargs)

        return wrapper

    return decorator
