"""The bearer-token guard for API views: who is calling, may they order, and may they run the shop."""

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

_MAX_NAME = 100  # a kitchen card's line, not an essay


def current_token() -> VerifiedToken:
    """The verified token of this request (set by require_token)."""
    return g.token


def current_customer() -> Customer:
    """The customer the verified token speaks for: orders are keyed by its `sub`, nothing else.

    The name (for the kitchen's card) is the token's `name` claim when it has one: ID tokens do, Auth0's
    access tokens usually do not, and then the kitchen shows the email.
    """
    token = current_token()
    name = token.claims.get("name")
    name = name.strip()[:_MAX_NAME] if isinstance(name, str) else ""
    return Customer(user_id=token.subject, email=token.email, name=name or None)


def has_permission(token: VerifiedToken, permission: str) -> bool:
    """Whether an access token carries `permission` in Auth0 RBAC's `permissions` claim.

    Never an ID token (the legacy SPA's ID token orders, it never runs the shop), and never the `scope`
    claim: without RBAC enforced on the API, Auth0 grants any scope a client asks for, to anyone.
    """
    if token.token_type != "access":  # noqa: S105 (a token type, not a secret)
        return False
    permissions = token.claims.get("permissions")
    return isinstance(permissions, list) and permission in permissions


def _insufficient_permission(token: VerifiedToken, permission: str) -> ApiError:
    """403 that says which permission is missing, and nothing about the shop."""
    message = (f"This call needs an access token for this API with the '{permission}' permission."
               if token.token_type == "access" else  # noqa: S105 (a token type, not a secret)
               "Staff calls need an access token for this API; an ID token never opens them.")
    challenge = f'{REALM}, error="insufficient_scope", scope="{permission}"'  # RFC 6750 §3.1
    return ApiError(403, "insufficient_permission", message, {"WWW-Authenticate": challenge})


def require_token(*, verified_email: bool = False, scope: bool = False, permission: str | None = None) -> Callable:
    """Decorate a view: a valid bearer token; optionally a verified email, the order scope, or an RBAC permission.

    A `permission` (the shop's calls) is all staff need: no email check, since whether someone is staff is
    decided by the roles an administrator gives them in Auth0, which is where an unverified account is kept
    out of the staff roles.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization")
            if not header:
                raise ApiError(401, "unauthorized", "A bearer token is required.", {"WWW-Authenticate": REALM})
            token = get_verifier().verify(parse_bearer(header))
            g.token = token
            record_customer(token.subject, token.email)
            if permission is not None and not has_permission(token, permission):
                raise _insufficient_permission(token, permission)
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
